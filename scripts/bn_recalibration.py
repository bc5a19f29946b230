"""What eval.bn=recalibrate changes: a finished run's super-net scored on its own evaluation sample with each batch's
BatchNorm statistics (the run's eval.bn=batch) and with statistics recalibrated per architecture on K training
batches, for each K asked. Prints Kendall tau-b against ground truth (the run's sample, landmarks excluded, beside the
parameter count on it) and the seconds per architecture of each.

    python scripts/bn_recalibration.py \\
        "outputs/sweeps/budget_nb201_cpu/epochs40/experiment=cpu,seed=0,trainer.epochs=40" --batches 2 8

Run it from the folder the run was started from (its data.root may be relative). The batch-statistics row must give
the run's own final tau (a check that the super-net and sample are the run's).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from lrnas.conf import CONFIG_DIR
from omegaconf import OmegaConf

from lrnas.device import resolve_device
from lrnas.evaluation.ranking import evaluate_ranking
from lrnas.run.folder import RunFolder
from lrnas.train import build_run


def run_config(folder: RunFolder, most_batches: int):
    """The run's config, keys added since it ran at their defaults, asking for ``most_batches`` recalibration
    batches."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        defaults = compose(config_name="config")
    cfg = OmegaConf.merge(defaults, OmegaConf.load(folder.config))
    cfg.eval.bn, cfg.eval.bn_batches = "recalibrate", most_batches
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run folder (config.yaml, checkpoint.pt, metrics.json)")
    parser.add_argument("--batches", type=int, nargs="+", default=[2, 8], help="K values to recalibrate with")
    args = parser.parse_args()
    folder = RunFolder(args.run)
    cfg = run_config(folder, max(args.batches))
    device = resolve_device(cfg.device)
    with tempfile.TemporaryDirectory() as scratch:
        run = build_run(cfg, Path(scratch), device)
    run.load_state_dict(torch.load(folder.checkpoint, map_location="cpu", weights_only=False))
    recorded = json.loads(folder.metrics.read_text())["final"]
    print(f"{folder.path}: epoch {run.epochs_done}, {len(run.sample.archs)} archs, {len(run.test_labels)} test images, "
          f"batches of {cfg.trainer.batch_size} for recalibration; the run recorded tau {recorded['kendall_tau']:.4f}")
    for k in [0, *args.batches]:
        started = time.perf_counter()
        metrics = evaluate_ranking(run.super_net, run.space, run.sample, run.test_images, run.test_labels,
                                   cfg.eval.batch_size, cfg.eval.top_k,
                                   recalibration=run.recalibration[:k] if k else None)["metrics"]
        seconds = (time.perf_counter() - started) / len(run.sample.archs)
        label = f"recalibrate K={k}" if k else "batch statistics"
        print(f"{label:>18}: Kendall tau-b {metrics['kendall_tau']:.4f} "
              f"(params {metrics['param_count_kendall_tau']:.4f}), Spearman {metrics['spearman_rho']:.4f}, "
              "mean super-net accuracy "
              f"{metrics['mean_supernet_accuracy']:.2f}%, {seconds:.3f} s/arch")


if __name__ == "__main__":
    main()
