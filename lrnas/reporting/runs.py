"""Collect run folders into one table: one row per run, its config keys beside its final metrics.

    lrnas report outputs/multirun/2026-11-27
    lrnas report outputs --csv runs.csv
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

# Config keys that tell runs apart in a sweep, and the metrics a reader compares. The space and the budget (training
# images, test images scoring each arch) are keys too: runs that differ in them are never averaged together.
CONFIG_COLUMNS = {
    "seed": "seed",
    "space": "space.name",
    "algorithm": "algorithm.name",
    "landmarks": "landmarks.method",
    "regularizer": "regularizer.name",
    "num_landmarks": "landmarks.num_landmarks",
    "lam": "regularizer.lam",
    "schedule": "regularizer.schedule",
    "epochs": "trainer.epochs",
    "C": "space.channels",
    "N": "space.cells_per_stage",
    "train_images": "trainer.train_images",
    "test_images": "eval.num_test_images",
}
METRIC_COLUMNS = ["sample_size", "kendall_tau", "param_count_kendall_tau", "landmark_kendall_tau", "spearman_rho",
                  "precision_at_top10", "top10_mean_ground_truth", "elapsed_s"]

# The search phase's choice (runs from before the search phase have none): its ground truth and percentile.
SEARCH_COLUMNS = ["ground_truth", "percentile"]


def find_runs(root: Path) -> list[Path]:
    """Every run folder under ``root`` (a folder holding metrics.json), in path order."""
    return sorted(path.parent for path in Path(root).rglob("metrics.json"))


def collect_runs(root: Path) -> pd.DataFrame:
    """One row per finished run under ``root``; runs still training (no final evaluation yet) are skipped."""
    rows = []
    for run in find_runs(root):
        final = json.loads((run / "metrics.json").read_text()).get("final")
        if not final:
            continue
        cfg = OmegaConf.load(run / "config.yaml")
        row = {"run": str(run)}
        row.update({name: OmegaConf.select(cfg, key) for name, key in CONFIG_COLUMNS.items()})
        row.update({name: final.get(name) for name in METRIC_COLUMNS})
        search = json.loads((run / "metrics.json").read_text()).get("search") or {}
        row.update({f"searched_{name}": search.get(name) for name in SEARCH_COLUMNS})
        rows.append(row)
    if not rows:
        raise ValueError(f"no finished run (a folder with metrics.json holding a final evaluation) under {root}")
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: the number of seeds, mean and std of held-out tau, and means of the other headline metrics."""
    keys = [name for name in CONFIG_COLUMNS if name != "seed"]
    grouped = runs.groupby(keys, dropna=False)
    table = grouped["kendall_tau"].agg(seeds="size", kendall_tau_mean="mean", kendall_tau_std="std")
    for metric in ["param_count_kendall_tau", "landmark_kendall_tau", "top10_mean_ground_truth",
                   "searched_ground_truth", "elapsed_s"]:
        if runs[metric].notna().any():
            table[f"{metric}_mean"] = grouped[metric].mean()
    return table.reset_index()
