"""Collect run folders into one table: one row per run, the config keys that tell runs apart beside its final metrics.

    lrnas report outputs/multirun/2026-11-27
    lrnas report outputs --csv runs.csv

Runs are repeats of one configuration, and averaged, only when their whole composed configs (``config.yaml``) are
equal apart from ``seed`` and the bookkeeping keys below. The grouping is derived from the configs themselves, so a key
added to conf/ can never be forgotten; the keys whose values differ become the table's columns.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from omegaconf import OmegaConf

# Keys that never change what a run computes, so runs differing only in them are repeats of one configuration:
# - seed: what the summary averages over;
# - resume: the folder a run was continued from (resuming is exact);
# - device: it changes float rounding and which generator draws the random streams, as another seed would, not
#   the protocol;
# - data.cache_dir: where decoded images are cached;
# - trainer.checkpoint_every_steps: how often mid-epoch checkpoints are written (they draw no random numbers).
# data.root stays a key: two paths may hold the same images, but lrnas cannot tell, so it never assumes they do.
# Hydra's own settings (hydra.*) are not part of config.yaml; they are skipped should one appear.
BOOKKEEPING = ("seed", "resume", "device", "data.cache_dir", "trainer.checkpoint_every_steps")

METRIC_COLUMNS = ["sample_size", "kendall_tau", "param_count_kendall_tau", "sparse_kendall_tau",
                  "param_count_sparse_kendall_tau", "landmark_kendall_tau", "spearman_rho", "precision_at_top10",
                  "top10_mean_ground_truth", "p_surpass_random_top10", "elapsed_s"]
# The search phase's choice (runs from before the search phase have none): its ground truth and percentile.
SEARCH_COLUMNS = ["ground_truth", "percentile"]


@dataclass(frozen=True)
class Runs:
    """The finished runs below a folder, and the run folders that could not be read."""

    table: pd.DataFrame  # one row per finished run: run folder, seed, the keys that differ, final metrics
    keys: list[str]  # config keys (dotted) whose values differ between runs, seed and bookkeeping aside
    unreadable: list[str]  # "<file>: <why>", one per run folder left out


def find_runs(root: Path) -> list[Path]:
    """Every run folder under ``root`` (a folder holding metrics.json), in path order."""
    return sorted(path.parent for path in Path(root).rglob("metrics.json"))


def collect_runs(*roots: Path) -> Runs:
    """Every finished run under the ``roots``; runs still training (no final evaluation yet) are skipped, and runs
    whose metrics.json or config.yaml cannot be read are listed in ``unreadable``."""
    rows, configs, unreadable = [], [], []
    for run in sorted({run for root in roots for run in find_runs(root)}):
        try:
            metrics, config = read_run(run)
        except UnreadableRun as error:
            unreadable.append(str(error))
            continue
        if not metrics.get("final"):
            continue
        search = metrics.get("search") or {}
        rows.append({"run": str(run), "seed": config.get("seed"),
                     **{name: metrics["final"].get(name) for name in METRIC_COLUMNS},
                     **{f"searched_{name}": search.get(name) for name in SEARCH_COLUMNS}})
        configs.append(flatten(config))
    if not rows:
        left_out = f"; unreadable: {'; '.join(unreadable)}" if unreadable else ""
        raise ValueError(f"no finished run (a folder with metrics.json holding a final evaluation) under "
                         f"{', '.join(map(str, roots))}{left_out}")
    keys = differing_keys(configs)
    table = pd.DataFrame(rows)
    for position, key in enumerate(keys, start=2):  # after run and seed
        table.insert(position, key, [config.get(key) for config in configs])
    return Runs(table, keys, unreadable)


class UnreadableRun(ValueError):
    """A run folder's metrics.json or config.yaml cannot be read; the message names the file."""


def read_run(run: Path) -> tuple[dict, dict]:
    """The run's metrics.json and config.yaml as plain dicts."""
    metrics_path, config_path = run / "metrics.json", run / "config.yaml"
    try:
        metrics = json.loads(metrics_path.read_text())
    except (OSError, ValueError) as error:  # ValueError: JSON syntax and undecodable bytes
        raise UnreadableRun(f"{metrics_path}: not valid JSON ({error})") from None
    if not isinstance(metrics, dict):
        raise UnreadableRun(f"{metrics_path}: not a metrics document (a JSON object)")
    if not metrics.get("final"):
        return metrics, {}  # unfinished: skipped before its config matters
    try:
        config = OmegaConf.to_container(OmegaConf.load(config_path))
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise UnreadableRun(f"{config_path}: cannot be read ({type(error).__name__}: {error})") from None
    if not isinstance(config, dict):
        raise UnreadableRun(f"{config_path}: not a config (a YAML mapping)")
    return metrics, config


def flatten(config: dict, prefix: str = "") -> dict:
    """Dotted key -> value for every leaf; lists become their JSON text so they can be grouped on."""
    leaves = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            leaves.update(flatten(value, f"{name}."))
        else:
            leaves[name] = json.dumps(value) if isinstance(value, (list, dict)) else value
    return leaves


def differing_keys(configs: list[dict]) -> list[str]:
    """Keys whose values are not the same in every config (a missing key counts as null), bookkeeping aside."""
    every = dict.fromkeys(key for config in configs for key in config)  # first-seen order: the config file's
    return [key for key in every if key not in BOOKKEEPING and not key.startswith("hydra.")
            and len({repr(config.get(key)) for config in configs}) > 1]


def summarise(runs: Runs) -> pd.DataFrame:
    """Per configuration: the number of seeds, mean and std of held-out tau, and means of the other headline metrics.
    A configuration with a run whose tau is undefined (all super-net accuracies tied) has no tau mean."""
    table = runs.table.assign(_all=0)  # one group when no key differs
    grouped = table.groupby(runs.keys or ["_all"], dropna=False, sort=False)
    summary = grouped["kendall_tau"].agg(seeds="size", kendall_tau_mean=lambda tau: tau.mean(skipna=False),
                                         kendall_tau_std=lambda tau: tau.std(skipna=False))
    for metric in ["param_count_kendall_tau", "sparse_kendall_tau", "param_count_sparse_kendall_tau",
                   "landmark_kendall_tau", "top10_mean_ground_truth", "p_surpass_random_top10", "searched_ground_truth",
                   "elapsed_s"]:
        if table[metric].notna().any():
            summary[f"{metric}_mean"] = grouped[metric].mean()
    return summary.reset_index(drop=not runs.keys)
