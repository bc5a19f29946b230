"""Per-step cost of the landmark regularizer: plain SPOS step vs SPOS + landmark step, measured in one process.

Both use the real training code (SuperNetTrainer) on the same random images, the same arch sequence and the
default regularizer (30 random landmarks, 1 random pair, hinge) with λ active from the first step.

    python scripts/step_overhead.py                      # C=16, N=1, batch 256 on this machine
    python scripts/step_overhead.py --cells 5 --steps 20 --device cuda
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from lrnas.algorithms import SPOS
from lrnas.benchmarks import load_nb201
from lrnas.data import DeviceBatches
from lrnas.landmarks import LandmarkRegularizer, select_landmarks
from lrnas.spaces import nb201
from lrnas.supernets import build_supernet
from lrnas.training import SuperNetTrainer, build_optimizer

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=1)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    count = args.batch * args.steps
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, count)
    batches = DeviceBatches(images, labels, device=device)
    held_out = DeviceBatches(images, labels, device=device)

    benchmark = load_nb201()
    pool = benchmark.table.set_index("arch_str")["cifar10_test"]
    landmarks = select_landmarks("random", pool, 30, seed=0)
    reg_cfg = OmegaConf.load(ROOT / "conf/regularizer/landmark.yaml")
    reg_cfg.merge_with({"warmup_epochs": 0, "schedule": "constant"})
    trainer_cfg = OmegaConf.create({"lr": 0.025, "min_lr": 0.001, "momentum": 0.9, "weight_decay": 5e-4,
                                    "nesterov": False})

    def run_epoch(regularized: bool) -> tuple[float, dict]:
        torch.manual_seed(0)
        net = build_supernet("nb201", C=args.channels, N=args.cells).to(device, memory_format=torch.channels_last)
        optimizer, scheduler = build_optimizer(net, trainer_cfg, args.steps)
        regularizer = LandmarkRegularizer(landmarks, [nb201.parse_arch(lm.arch) for lm in landmarks], reg_cfg,
                                          1, random.Random(1)) if regularized else None
        trainer = SuperNetTrainer(net, SPOS(nb201, random.Random(0)), optimizer, scheduler, 5.0, regularizer,
                                  held_out, torch.Generator(device=device).manual_seed(1))
        generator = torch.Generator(device=device).manual_seed(0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        row = trainer.train_epoch(batches, args.batch, generator, 1, 1)  # the epoch's .item() calls sync the device
        return (time.perf_counter() - start) / args.steps, row

    run_epoch(False), run_epoch(True)  # warm-up: allocator, kernels, plan caches
    plain, regularized, violation = [], [], []
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        plain.append(run_epoch(False)[0])
        seconds, row = run_epoch(True)
        regularized.append(seconds)
        violation.append(row["landmark_violation_rate"])
    p, r = statistics.median(plain), statistics.median(regularized)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"NB201 super-net C={args.channels} N={args.cells}, batch {args.batch}, {args.steps} steps x "
          f"{args.repeats} repeats (median; min-max in brackets)")
    print(f"plain SPOS step      {p * 1000:8.1f} ms  [{min(plain) * 1000:.1f}-{max(plain) * 1000:.1f}]  "
          f"{args.batch / p:8.0f} img/s")
    print(f"SPOS + landmark step {r * 1000:8.1f} ms  [{min(regularized) * 1000:.1f}-{max(regularized) * 1000:.1f}]  "
          f"{args.batch / r:8.0f} img/s  (violated pairs {100 * statistics.mean(violation):.0f}%)")
    print(f"overhead ratio (regularized / plain): {r / p:.2f}x")


if __name__ == "__main__":
    main()
