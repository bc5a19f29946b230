"""``lrnas proxies``: score architectures with zero-cost proxies on their stand-alone networks at initialisation.

Nothing is trained: each architecture's network (the ``standalone`` recipe's, as ``lrnas landmarks build`` would
train it) is initialised with the seed and scored on one minibatch of CIFAR-10 training images by each proxy of
``lrnas.evaluation.proxies``. With ground truth (NB201, NB101), each proxy's rank correlations with it are printed.

    lrnas proxies space=nb201 data.root=../shared/data/cifar10/cifar10_jpg_q75.tar.gz --archs 1000 --out proxies.csv
    lrnas proxies space=nb201 data.root=PATH --archs my_archs.txt --proxies naswot,synflow

``--archs N`` draws N architectures uniformly from the space's table (its sampler where it has none), seeded;
``all`` takes the whole table; a file lists them (one per line, or a CSV with an ``arch`` column).
"""
from __future__ import annotations

import csv
import random
import time
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from tqdm.auto import tqdm

from ..conf import CONFIG_DIR
from ..config_rules import ConfigError
from ..data import load_data
from ..device import resolve_device
from ..evaluation.free_rankings import proxy_batch
from ..evaluation.metrics import kendall_tau, sparse_kendall_tau, spearman_rho
from ..evaluation.proxies import check_proxies, score_network
from ..spaces import get_space, load_benchmark
from .build import read_arch_list
from .training import build_network


def compose_config(overrides: list[str]) -> DictConfig:
    """``conf/build.yaml`` with the user's overrides: the same ``space``, ``standalone`` and ``data`` as a build."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="build", overrides=overrides)


def choose_archs(spec: str, space, benchmark, seed: int) -> list[str]:
    if spec == "all":
        if benchmark is None:
            raise ConfigError("--archs all needs a space with a ground-truth table; give a number or a file")
        return benchmark.archs
    if spec.isdigit():
        count = int(spec)
        if count < 2:
            raise ConfigError(f"--archs {spec}: rank correlations need at least 2 architectures")
        rng = random.Random(seed)
        if benchmark is not None:
            if count > len(benchmark):
                raise ConfigError(f"--archs {count}: the table holds {len(benchmark)} architectures")
            return rng.sample(benchmark.archs, count)
        archs: dict[str, None] = {}
        while len(archs) < count:
            archs[space.format_arch(space.sample_arch(rng))] = None
        return list(archs)
    if not Path(spec).is_file():
        raise ConfigError(f"--archs {spec}: no such file; give a number, 'all', or a file of architectures")
    validate = space.validate or (lambda arch: arch)
    return read_arch_list(Path(spec), lambda text: validate(space.parse_arch(text)))


def score_archs(recipe, space, archs: list[str], names: list[str], images: torch.Tensor, labels: torch.Tensor,
                seed: int, extra: dict[str, list], out: Path) -> tuple[list[dict], dict[str, float]]:
    """One row per architecture: its proxies (each network initialised from ``seed``, independent of the order), then
    ``extra``'s columns; each row is written to the CSV ``out`` as soon as it is scored, so a long run loses nothing.
    Also returns each proxy's total seconds."""
    rows, seconds = [], dict.fromkeys(names, 0.0)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["arch", *names, *extra])
        writer.writeheader()
        for index, arch in enumerate(tqdm(archs, desc="zero-cost proxies", unit="arch")):
            torch.manual_seed(seed)
            net = build_network(recipe, space.parse_arch(arch)).to(images.device)
            row = {"arch": arch}
            for name in names:
                start = time.perf_counter()
                row.update(score_network(net, [name], images, labels))
                seconds[name] += time.perf_counter() - start
            rows.append({**row, **{column: values[index] for column, values in extra.items()}})
            writer.writerow(rows[-1])
            f.flush()
    return rows, seconds


def correlations(rows: list[dict], names: list[str], ground_truth: np.ndarray) -> list[tuple[str, dict]]:
    """Each proxy's Kendall tau-b, sparse tau and Spearman rho against ground truth, strongest tau first."""
    results = []
    for name in names:
        scores = np.array([row[name] for row in rows], dtype=float)
        results.append((name, {"kendall_tau": kendall_tau(scores, ground_truth),
                               "sparse_kendall_tau": sparse_kendall_tau(scores, ground_truth),
                               "spearman_rho": spearman_rho(scores, ground_truth)}))
    return sorted(results, key=lambda item: -(item[1]["kendall_tau"] or -2))


def run(overrides: list[str], archs_spec: str, names: list[str], seed: int, out: Path) -> str:
    """Score, write ``out`` (CSV) and return the summary lines."""
    check_proxies(names)
    cfg = compose_config(overrides)
    if "network" not in cfg.standalone:
        raise ConfigError(f"standalone={cfg.standalone.name} has no network to score; use the space's own recipe")
    space = get_space(cfg.space.name)
    benchmark = load_benchmark(cfg.space.name, cfg.space.get("table"))
    archs = choose_archs(archs_spec, space, benchmark, seed)
    device = resolve_device(cfg.device)
    images, labels = proxy_batch(load_data(cfg.data), seed, device)
    metric = cfg.space.ground_truth
    truth = {metric: list(benchmark.accuracies(archs, metric))} if benchmark is not None else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    rows, seconds = score_archs(cfg.standalone, space, archs, names, images, labels, seed, truth, out)
    cost = ", ".join(f"{name} {total / len(archs):.3f}" for name, total in seconds.items())
    lines = [f"scored {len(archs)} {cfg.space.name} architectures ({cfg.standalone.name} networks at init, seed {seed},"
             f" {device}, {torch.get_num_threads()} threads); wrote {out}",
             f"seconds per architecture: {cost}"]
    if benchmark is not None:
        lines.append(f"rank correlation with {metric} on these {len(archs)} architectures:")
        lines.append(f"  {'proxy':<10} {'Kendall tau-b':>14} {'sparse tau':>11} {'Spearman':>9}")
        for name, values in correlations(rows, names, np.asarray([row[metric] for row in rows])):
            shown = [f"{v:+.3f}" if v is not None else "-" for v in values.values()]
            lines.append(f"  {name:<10} {shown[0]:>14} {shown[1]:>11} {shown[2]:>9}")
    return "\n".join(lines)
