"""Benchmark: lrnas's NB201 super-net against xautodl's, and what a landmark-regularized step costs.

Prints one table, every figure measured in this process: training throughput of a plain SPOS step and an
SPOS + landmark step (the real ``SuperNetTrainer``, 30 random landmarks, default regularizer with λ active), the same
plain step in xautodl's ``TinyNetworkRANDOM`` on the same batches and architecture sequence, evaluation throughput
(architectures per second on a fixed set of test images), and the ground-truth table's load time and peak memory.
Median of the repeats after a warm-up, min-max in brackets. The paper-scale projection is printed on CUDA.

    make bench                                   # = python scripts/bench.py: C=16 N=5 batch 256 on this machine
    python scripts/bench.py --amp                # on a GPU: bf16 autocast, data resident on the device
    python scripts/bench.py --cells 1 --repeats 3 --eval-images 500  # a quick look

xautodl is a bench-only extra (``pip install --no-deps xautodl``); without it that row is skipped.
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from lrnas.algorithms import SPOS
from lrnas.data import DeviceBatches, to_float_normalized
from lrnas.evaluation.ranking import supernet_accuracies
from lrnas.landmarks import LandmarkRegularizer, select_landmarks
from lrnas.spaces import build_supernet, nb201
from lrnas.spaces.nb201.benchmark import load_nb201
from lrnas.training import SuperNetTrainer, build_optimizer

ROOT = Path(__file__).resolve().parents[1]
PAPER_EPOCHS, PAPER_TRAIN_IMAGES, PAPER_WARMUP = 400, 25_000, 150  # NB201 SPOS + landmarks, the paper's schedule


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def clock(run, device: torch.device) -> float:
    """Seconds one call of ``run()`` takes, queued device work included."""
    synchronize(device)
    start = time.perf_counter()
    run()
    synchronize(device)
    return time.perf_counter() - start


class Bench:
    def __init__(self, args):
        self.args = args
        self.device = torch.device(args.device)
        rng = np.random.default_rng(0)
        count = args.batch * args.steps
        self.images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        self.labels = rng.integers(0, 10, count)
        self.batches = DeviceBatches(self.images, self.labels, device=self.device)
        self.held_out = DeviceBatches(self.images, self.labels, device=self.device)
        pool = load_nb201().table.set_index("arch_str")["cifar10_test"]
        self.landmarks = select_landmarks("random", pool, 30, seed=0)
        self.reg_cfg = OmegaConf.merge(OmegaConf.load(ROOT / "conf/regularizer/landmark.yaml"),
                                       {"warmup_epochs": 0, "schedule": "constant"})
        self.trainer_cfg = OmegaConf.load(ROOT / "conf/trainer/default.yaml")
        self.violations: list[float] = []

    def net(self):
        torch.manual_seed(0)
        return build_supernet("nb201", C=self.args.channels, N=self.args.cells, amp=self.args.amp).to(self.device)

    def lrnas_runner(self, regularized: bool):
        """Each call: ``steps`` real training steps (augmentation, SPOS path, landmark term, clip, SGD, schedule)."""
        net = self.net()
        optimizer, scheduler = build_optimizer(net, self.trainer_cfg, self.args.steps)
        regularizer = LandmarkRegularizer(self.landmarks, [nb201.parse_arch(lm.arch) for lm in self.landmarks],
                                          self.reg_cfg, 1, random.Random(1)) if regularized else None
        trainer = SuperNetTrainer(net, SPOS(nb201, random.Random(0)), optimizer, scheduler, 5.0, regularizer,
                                  self.held_out, torch.Generator(device=self.device).manual_seed(1))
        generator = torch.Generator(device=self.device).manual_seed(0)

        def epoch() -> None:
            row = trainer.train_epoch(self.batches, self.args.batch, generator, 1, 1)
            if regularized:
                self.violations.append(row["landmark_violation_rate"])

        return epoch

    def landmark_pair_runners(self):
        """Two ways a landmark pair can cost: both forwards only (an ordered pair: zero hinge, backward skipped) and
        both forwards plus the backward (a violated pair), on a held-out batch and random landmark pairs."""
        net, rng = self.net(), random.Random(3)
        archs = [nb201.parse_arch(lm.arch) for lm in self.landmarks]
        images, labels = self.held_out.sample(self.args.batch, torch.Generator(device=self.device).manual_seed(2))

        def pairs(backward: bool) -> None:
            for _ in range(self.args.steps):
                a, b = rng.sample(archs, 2)
                loss = F.cross_entropy(net(images, b), labels) - F.cross_entropy(net(images, a), labels)
                if backward:
                    loss.backward()
            net.zero_grad(set_to_none=True)

        return (lambda: pairs(False)), (lambda: pairs(True))

    def xautodl_runner(self):
        """The same plain step in xautodl's NB201 random-sampling super-net, on the same augmented batches and the
        same architecture sequence, as its own training loop runs it (SGD with its defaults, clip 5)."""
        from xautodl.models.cell_operations import SearchSpaceNames
        from xautodl.models.cell_searchs.genotypes import Structure
        from xautodl.models.cell_searchs.search_model_random import TinyNetworkRANDOM

        generator = torch.Generator(device=self.device).manual_seed(0)
        order = self.batches.epoch_order(generator)
        batch = self.args.batch
        data = [self.batches.batch(order[i * batch : (i + 1) * batch], generator) for i in range(self.args.steps)]
        sampler = random.Random(0)
        archs = [nb201.sample_arch(sampler) for _ in range(self.args.steps)]  # SPOS(rng=Random(0)) draws these
        structures = [Structure([tuple((arch[first + j], j) for j in range(node))
                                 for node, first in ((1, 0), (2, 1), (3, 3))]) for arch in archs]

        torch.manual_seed(0)
        net = TinyNetworkRANDOM(self.args.channels, self.args.cells, 4, 10, SearchSpaceNames["nas-bench-201"],
                                affine=False, track_running_stats=False).to(self.device)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=5e-4, nesterov=True)

        def epoch() -> None:
            for (images, labels), structure in zip(data, structures, strict=True):
                net.arch_cache = structure
                optimizer.zero_grad()
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.args.amp):
                    _, logits = net(images.contiguous())
                F.cross_entropy(logits.float(), labels).backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
                optimizer.step()

        return epoch

    def evaluation(self, archs: list, images: torch.Tensor, labels: torch.Tensor, repeats: int) -> list[float]:
        """Seconds to score ``archs`` (``supernet_accuracies``, as a run's evaluation), after a short warm-up."""
        net = self.net()
        score = lambda some: supernet_accuracies(net, some, images, labels, self.args.eval_batch, progress=False)  # noqa: E731
        score(archs[:5])
        return [clock(lambda: score(archs), self.device) for _ in range(repeats)]


def table_load_figures() -> tuple[float, float]:
    """Seconds and peak traced MB to load and checksum the ground-truth table, in a fresh interpreter."""
    code = ("import time, tracemalloc; from lrnas.spaces.nb201.benchmark import load_nb201; tracemalloc.start(); "
            "t = time.perf_counter(); load_nb201(); "
            "print(time.perf_counter() - t, tracemalloc.get_traced_memory()[1] / 2**20)")
    seconds, megabytes = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                        check=True).stdout.split()
    return float(seconds), float(megabytes)


def spread(values: list[float], scale: float = 1.0, digits: int = 0) -> str:
    scaled = [v * scale for v in values]
    return f"{statistics.median(scaled):.{digits}f} [{min(scaled):.{digits}f}-{max(scaled):.{digits}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=5, help="N, cells per stage (the paper's 5)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--eval-archs", type=int, default=200)
    parser.add_argument("--eval-images", type=int, default=None,
                        help="test images per architecture (default 10,000 on CUDA, 500 on CPU)")
    parser.add_argument("--eval-repeats", type=int, default=None, help="default 3 on CUDA, 1 on CPU")
    parser.add_argument("--eval-batch", type=int, default=500, help="eval.batch_size's default")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (trainer.amp=true)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    bench = Bench(args)
    device = bench.device
    on_gpu = device.type == "cuda"
    eval_images = args.eval_images or (10_000 if on_gpu else 500)

    runners = {"plain": bench.lrnas_runner(False), "regularized": bench.lrnas_runner(True)}
    runners["ordered_pair"], runners["violated_pair"] = bench.landmark_pair_runners()
    try:
        runners["xautodl"] = bench.xautodl_runner()
    except ImportError:
        pass
    seconds = {name: [] for name in runners}
    for _ in range(args.repeats + 1):  # interleaved, so drift in machine load hits all alike; the first is warm-up
        for name, run in runners.items():
            seconds[name].append(clock(run, device))
    plain, regularized = seconds["plain"][1:], seconds["regularized"][1:]  # [0] is the warm-up
    xautodl = seconds["xautodl"][1:] if "xautodl" in seconds else None
    bench.violations = bench.violations[1:]

    rng = np.random.default_rng(1)
    images = torch.from_numpy(rng.integers(0, 256, (eval_images, 32, 32, 3), dtype=np.uint8)).to(device)
    images = to_float_normalized(images)
    labels = torch.from_numpy(rng.integers(0, 10, eval_images)).to(device)
    sampler = random.Random(2)
    archs = [nb201.sample_arch(sampler) for _ in range(args.eval_archs)]
    evaluation = bench.evaluation(archs, images, labels, args.eval_repeats or (3 if on_gpu else 1))
    load_seconds, load_megabytes = table_load_figures()

    steps, batch = args.steps, args.batch
    img_s = lambda seconds: [steps * batch / s for s in seconds]  # noqa: E731
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# lrnas bench: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"amp={'bf16' if args.amp else 'off'}, {time.strftime('%Y-%m-%d')}")
    print(f"NB201 super-net C={args.channels} N={args.cells}, batch {batch}, {steps} steps per repeat, "
          f"{args.repeats} repeats: median [min-max]\n")
    print("| measure | value |\n|---|---|")
    print(f"| lrnas plain SPOS step, img/s | {spread(img_s(plain))} |")
    print(f"| lrnas SPOS + landmark step, img/s | {spread(img_s(regularized))} |")
    ratios = [r / p for p, r in zip(plain, regularized, strict=True)]
    print(f"| regularized / plain step time | {spread(ratios, digits=2)} x "
          f"(violated pairs {100 * statistics.mean(bench.violations):.0f}%) |")
    # The step's cost is linear in the violated fraction v: plain + ordered + v * (violated - ordered).
    ordered = [(p + o) / p for p, o in zip(plain, seconds["ordered_pair"][1:], strict=True)]
    violated = [(p + v) / p for p, v in zip(plain, seconds["violated_pair"][1:], strict=True)]
    print(f"| regularized / plain if every pair is ordered (backward skipped) | {spread(ordered, digits=2)} x |")
    print(f"| regularized / plain if every pair is violated | {spread(violated, digits=2)} x |")
    o, v = statistics.median(ordered), statistics.median(violated)
    share = (f"{100 * (2 - o) / (v - o):.0f}%" if o < 2 < v
             else "none: ordered pairs alone cost more" if o >= 2 else "all")
    print(f"| violated fraction up to which a regularized step costs <= 2.0x | {share} |")
    if xautodl:
        print(f"| xautodl TinyNetworkRANDOM plain step, img/s | {spread(img_s(xautodl))} |")
        speedups = [x / p for p, x in zip(plain, xautodl, strict=True)]
        print(f"| lrnas / xautodl training throughput | {spread(speedups, digits=2)} x |")
    else:
        print("| xautodl | not installed (pip install --no-deps xautodl) |")
    archs_per_s = [args.eval_archs / s for s in evaluation]
    print(f"| evaluation, archs/s ({args.eval_archs} archs x {eval_images} test images, batch {args.eval_batch}) "
          f"| {spread(archs_per_s, digits=2)} |")
    print(f"| evaluation of {args.eval_archs} archs, s | {spread(evaluation, digits=1)} |")
    print(f"| ground-truth table load + checksum, s / peak traced MB | {load_seconds:.2f} / {load_megabytes:.0f} |")
    if on_gpu:
        step_plain, step_reg = statistics.median(plain) / steps, statistics.median(regularized) / steps
        steps_per_epoch = PAPER_TRAIN_IMAGES // batch
        hours = steps_per_epoch * (PAPER_WARMUP * step_plain + (PAPER_EPOCHS - PAPER_WARMUP) * step_reg) / 3600
        print(f"| projected paper run ({PAPER_EPOCHS} epochs x {steps_per_epoch} steps, landmarks after epoch "
              f"{PAPER_WARMUP}; training only), GPU-hours | {hours:.2f} |")


if __name__ == "__main__":
    main()
