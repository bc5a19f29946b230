"""Train a weight-sharing super-net and report how it ranks held-out architectures against ground truth.

    lrnas train experiment=smoke                      # tiny synthetic run, < 1 min on CPU
    lrnas train experiment=cpu data.root=../shared/data/cifar10/cifar10_jpg_q75.tar.gz
    lrnas train -m experiment=smoke seed=0,1          # Hydra multirun: one run folder per seed

``main`` is the thin Hydra entry; ``train(cfg, run_dir)`` wires the pieces and is what tests call.
"""
from __future__ import annotations

import logging
import os
import random
import sys
import time
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import to_absolute_path
from omegaconf import DictConfig

from .algorithms import build_algorithm
from .benchmarks import load_benchmark
from .data import (
    DeviceBatches,
    default_cache_dir,
    load_cifar10,
    random_subset,
    split_train,
    to_float_normalized,
    write_synthetic_cifar10,
)
from .evaluation.ranking import draw_eval_sample, evaluate_ranking
from .landmarks import Landmark, LandmarkRegularizer, landmarks_from_config, save_landmarks
from .landmarks.refinement import as_landmarks, refine_landmarks, refinement_epochs
from .records import save_checkpoint, save_csv, save_json, save_run_info
from .spaces import get_space
from .supernets import build_supernet
from .training import SuperNetTrainer, build_optimizer

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} but CUDA is not available here; use device=cpu or device=auto")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_data(data_cfg):
    """CIFAR-10 arrays from ``data.root``, or a tiny synthetic set in the official format (smoke runs, tests)."""
    cache_dir = Path(data_cfg.cache_dir) if data_cfg.cache_dir else default_cache_dir()
    if data_cfg.synthetic:
        n_train, n_test = data_cfg.synthetic.train, data_cfg.synthetic.test
        root = cache_dir / f"synthetic-{n_train}-{n_test}"
        if not (root / "cifar-10-batches-py").is_dir():
            write_synthetic_cifar10(root, n_train=n_train, n_test=n_test, seed=0)
    else:
        root = Path(to_absolute_path(data_cfg.root))
    return load_cifar10(root, cache_dir=cache_dir)


def choose_landmarks(cfg: DictConfig, benchmark, space, reserved: set[str]) -> list[Landmark]:
    """The configured landmark set, sorted worst to best, drawn from outside the evaluation sample ``reserved``."""
    table = benchmark.table
    pool = pd.Series(table[cfg.space.ground_truth].to_numpy(), index=table["arch_str"])
    return landmarks_from_config(cfg.landmarks, pool[~pool.index.isin(reserved)], cfg.seed,
                                 validate_arch=space.parse_arch, resolve_path=to_absolute_path)


def train(cfg: DictConfig, run_dir: Path) -> dict:
    """Train the super-net described by ``cfg``; write records into ``run_dir``; return the final metrics."""
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    save_run_info(run_dir, cfg, str(device))
    space = get_space(cfg.space.name)
    benchmark = load_benchmark(cfg.space.name)
    metric = cfg.space.ground_truth

    # Landmarks come from outside the plain evaluation sample, so it stays the same with and without them.
    plain_sample = draw_eval_sample(benchmark, cfg.eval.num_archs, cfg.eval.sample_seed, set(), metric)
    landmarks = choose_landmarks(cfg, benchmark, space, reserved=set(plain_sample.archs))
    if cfg.regularizer.name == "landmark" and not landmarks:
        raise ValueError("regularizer=landmark needs landmarks; choose landmarks=random|fixed|hamming|file")
    ever_landmarks = {lm.arch for lm in landmarks}
    sample = draw_eval_sample(benchmark, cfg.eval.num_archs, cfg.eval.sample_seed, ever_landmarks, metric)
    if landmarks:
        save_landmarks(landmarks, run_dir / "landmarks.csv")

    data = load_data(cfg.data)
    weight_indices, held_out_indices = split_train(len(data.train_labels), cfg.data.split_seed)
    if cfg.trainer.train_images:
        weight_indices = weight_indices[: cfg.trainer.train_images]
    train_batches = DeviceBatches(data.train_images, data.train_labels, weight_indices, device)
    held_out = DeviceBatches(data.train_images, data.train_labels, held_out_indices, device)
    num_test = min(cfg.eval.num_test_images, len(data.test_labels))
    test_subset = random_subset(len(data.test_labels), num_test, cfg.eval.sample_seed)
    test_images = to_float_normalized(torch.from_numpy(data.test_images[test_subset]).to(device))
    test_labels = torch.from_numpy(data.test_labels[test_subset]).to(device)

    super_net = build_supernet(cfg.space.name, C=cfg.space.channels, N=cfg.space.cells_per_stage, num_classes=10)
    super_net = super_net.to(device, memory_format=torch.channels_last)
    algorithm = build_algorithm(cfg.algorithm.name, space, random.Random(cfg.seed))
    epochs = cfg.trainer.epochs
    steps_per_epoch = train_batches.num_batches(cfg.trainer.batch_size)
    optimizer, scheduler = build_optimizer(super_net, cfg.trainer, steps_total=epochs * steps_per_epoch)
    regularizer = None
    if cfg.regularizer.name == "landmark":
        regularizer = LandmarkRegularizer(landmarks, [space.parse_arch(lm.arch) for lm in landmarks],
                                          cfg.regularizer, epochs, random.Random(cfg.seed + 1))
    # Held-out batches draw from their own generator, so the training data order is the same with and without landmarks.
    held_out_order = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    trainer = SuperNetTrainer(super_net, algorithm, optimizer, scheduler, cfg.trainer.grad_clip, regularizer,
                              held_out, held_out_order)

    archs_table = pd.DataFrame({"arch": sample.archs, "ground_truth": sample.ground_truth, "params_m": sample.params})
    eval_epochs = set(cfg.eval.at_epochs) | {epochs}
    refine = cfg.landmarks.get("refine")
    refine_epochs = refinement_epochs(epochs, refine.rounds) if refine and regularizer else set()
    data_order = torch.Generator(device=device).manual_seed(cfg.seed)
    log.info(
        "training %s super-net (C=%d, N=%d) with %s on %d images, %d epochs, %d landmarks, regularizer %s, "
        "device %s; run folder %s", cfg.space.name, cfg.space.channels, cfg.space.cells_per_stage,
        cfg.algorithm.name, len(weight_indices), epochs, len(landmarks), cfg.regularizer.name, device, run_dir,
    )

    history: list[dict] = []
    oracle_queries: list[dict] = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        row = {"epoch": epoch, **trainer.train_epoch(train_batches, cfg.trainer.batch_size, data_order, epoch, epochs)}
        row["elapsed_s"] = time.perf_counter() - started
        if epoch in eval_epochs:
            result = evaluate_ranking(super_net, space, sample, test_images, test_labels, cfg.eval.batch_size,
                                      cfg.eval.top_k, landmarks=regularizer.landmarks if regularizer else landmarks)
            row.update(result["metrics"])
            archs_table[f"supernet_acc_epoch{epoch}"] = result["supernet_accuracy"]
            save_csv(run_dir / "archs.csv", archs_table)
            log.info("epoch %d: %s", epoch, describe_ranking(result["metrics"]))
        log.info("epoch %d: %s", epoch, describe_training(row))
        if epoch in refine_epochs:
            oracle_queries += refine_round(epoch, super_net, space, benchmark, metric, regularizer, held_out, refine,
                                           exclude=set(sample.archs), batch_size=cfg.eval.batch_size, seed=cfg.seed)
            save_csv(run_dir / "oracle_queries.csv", pd.DataFrame(oracle_queries))
            save_landmarks(regularizer.landmarks, run_dir / "landmarks.csv")
        history.append(row)
        save_json(run_dir / "metrics.json", metrics_document(history, cfg, num_test, len(landmarks)))
        if cfg.trainer.checkpoint_every_epoch or epoch == epochs:
            save_checkpoint(
                run_dir / "checkpoint.pt",
                {"epoch": epoch, "super_net": super_net.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict()},
            )
    log.info("summary (Kendall tau on %d held-out architectures, %d test images):\n%s",
             len(sample.archs), num_test, summary_table(history))
    return history[-1]


def refine_round(epoch, super_net, space, benchmark, metric, regularizer, held_out, refine, exclude, batch_size, seed):
    """One refinement round: the oracle's answers for the super-net's top candidates join the landmarks."""
    pool = [a for a in benchmark.archs if a not in exclude and a not in {lm.arch for lm in regularizer.landmarks}]
    count = min(refine.num_images, len(held_out))  # held-out images are in random order: a prefix is uniform
    images, labels = to_float_normalized(held_out.images[:count]), held_out.labels[:count]
    queries = refine_landmarks(super_net, space, benchmark, metric, pool, refine, images, labels, batch_size,
                               random.Random(seed * 1000 + epoch))
    regularizer.add_landmarks(as_landmarks(queries), [space.parse_arch(q["arch"]) for q in queries])
    log.info("epoch %d: refinement queried the oracle for %d archs; %d landmarks now", epoch, len(queries),
             len(regularizer.landmarks))
    return [{"epoch": epoch, **query} for query in queries]


def describe_training(row: dict) -> str:
    text = f"train loss {row['train_loss']:.3f}, train acc {row['train_accuracy']:.1f}%"
    if "landmark_lambda" in row:
        text += (f", landmark λ {row['landmark_lambda']:.3f}, mean penalty {row['landmark_penalty']:.4f}, "
                 f"violated pairs {100 * row['landmark_violation_rate']:.1f}%")
    return text


def describe_ranking(metrics: dict) -> str:
    """One line a user can read at a glance: super-net tau beside the parameter-count baseline, with the sample."""
    verdict = "beats" if metrics["kendall_tau"] > metrics["param_count_kendall_tau"] else "does NOT beat"
    text = (
        f"held-out Kendall tau {metrics['kendall_tau']:.3f} on {metrics['sample_size']} non-landmark archs "
        f"(param-count baseline {metrics['param_count_kendall_tau']:.3f}: super-net {verdict} it), "
        f"Spearman {metrics['spearman_rho']:.3f}, mean super-net acc {metrics['mean_supernet_accuracy']:.1f}%"
    )
    if "landmark_kendall_tau" in metrics:
        text += f"; tau on the {metrics['num_landmarks']} landmarks themselves {metrics['landmark_kendall_tau']:.3f}"
    return text


def metrics_document(history: list[dict], cfg: DictConfig, num_test_images: int, num_landmarks: int) -> dict:
    evaluated = [row for row in history if "kendall_tau" in row]
    return {
        "eval_sample": {
            "num_archs": cfg.eval.num_archs,
            "num_landmarks_excluded": num_landmarks,
            "sample_seed": cfg.eval.sample_seed,
            "excludes_landmarks": True,
            "num_test_images": num_test_images,
            "ground_truth": f"{cfg.space.name}:{cfg.space.ground_truth}",
        },
        "final": evaluated[-1] if evaluated else None,
        "history": history,
    }


def summary_table(history: list[dict]) -> str:
    columns = ["epoch", "train_loss", "train_accuracy", "kendall_tau", "param_count_kendall_tau",
               "landmark_kendall_tau", "spearman_rho", "precision_at_top10", "top10_mean_ground_truth",
               "landmark_lambda", "elapsed_s"]
    frame = pd.DataFrame([row for row in history if "kendall_tau" in row])
    return frame[[c for c in columns if c in frame]].to_string(index=False, float_format=lambda v: f"{v:.3f}")


# conf/ sits beside the package (editable install); an absolute path keeps Hydra from resolving it as a module.
CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "conf")


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    try:
        train(cfg, Path(HydraConfig.get().runtime.output_dir))
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        # Bad input gets one line naming the value, not a traceback; LRNAS_DEBUG=1 shows the traceback.
        if os.environ.get("LRNAS_DEBUG") == "1":
            raise
        log.error("error: %s", error)
        sys.exit(2)
