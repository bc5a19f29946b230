"""Statistics over seeds that a reader can trust: bounded intervals for rank correlations, paired gains, and the
authors' pooled table aggregation.

- ``interval``: the 95% interval of a mean over seeds. Rank correlations (bounded by [-1, 1]) go through Fisher's z
  (``atanh``) and back, so the interval never leaves the bounds; other metrics get Student's t. Below 3 values no
  interval is given: with 2, Student's t(0.975, 1) = 12.7 makes any interval span the whole range.
- ``paired_gains``: runs that differ only in their landmarks and share a seed share their data order and evaluation
  sample, so the per-seed difference (landmarks - plain) removes what the seeds have in common; its mean gets a
  Student-t interval over the pairs.
- ``pooled_kendall_tau``: the authors' table (kcyu2014/nas-landmarkreg nasws/cnn/visualization/latex_table.py:141 ->
  analysis.py:93-114 -> tool.py:366-395): the seeds' evaluation sets pooled, an architecture scored by several seeds
  averaged, one tau-b per configuration; runs whose mean super-net accuracy is below 15% dropped first (tool.py:13,
  209-213), and a configuration whose pooled mean super-net accuracy is below 40% skipped (analysis.py:57, 101-105).

    >>> [round(v, 3) for v in interval([0.1, 0.2, 0.6], correlation=True)]
    [-0.426, 0.807]
    >>> interval([0.1, 0.2], correlation=True) is None
    True
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..evaluation.metrics import kendall_tau
from ..evaluation.proxies import PROXIES
from ..run.folder import RunFolder

MIN_VALUES_FOR_INTERVAL = 3
AUTHORS_MIN_RUN_ACCURACY = 15.0  # %: tool.py:210, a run below it "not trained"
AUTHORS_MIN_POOLED_ACCURACY = 40.0  # %: analysis.py:57 threshold=0.4 on accuracies scaled to [0, 1] (tool.py:375)
# Metrics bounded by [-1, 1], whose intervals go through Fisher's z.
CORRELATIONS = ("kendall_tau", "param_count_kendall_tau", "sparse_kendall_tau", "param_count_sparse_kendall_tau",
                "spearman_rho", "param_count_spearman_rho", "landmark_kendall_tau", "pool_kendall_tau",
                *(f"{proxy}_kendall_tau" for proxy in PROXIES))
# Keys that name a run's landmarks and regularizer: two runs equal in every other key (and seed) are a pair.
LANDMARK_KEYS = ("landmarks.", "regularizer.")


def interval(values: Sequence[float], correlation: bool, level: float = 0.95) -> tuple[float, float] | None:
    """The ``level`` interval of the mean of ``values`` (one per seed), or None with fewer than 3 values or any missing.

    ``correlation``: the values are rank correlations, so the Student-t interval is taken on ``atanh(values)`` (Fisher's
    z, values of exactly +-1 clipped just inside) and mapped back with ``tanh``: it stays inside [-1, 1]."""
    array = np.asarray(values, dtype=float)
    if len(array) < MIN_VALUES_FOR_INTERVAL or np.isnan(array).any():
        return None
    if correlation:
        array = np.arctanh(np.clip(array, -1 + 1e-9, 1 - 1e-9))
    half = stats.t.ppf(0.5 + level / 2, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array))
    low, high = array.mean() - half, array.mean() + half
    return (float(np.tanh(low)), float(np.tanh(high))) if correlation else (float(low), float(high))


def pair_key(config: pd.Series, ignored: Sequence[str] = ()) -> str:
    """What a run computes apart from its landmarks, regularizer, seed and the ``ignored`` keys (bookkeeping): runs
    with equal keys and seeds are pairs. A key the run does not have (NaN in a frame of configs) is left out."""
    kept = {key: value for key, value in config.items()
            if key != "seed" and key not in ignored and not key.startswith(LANDMARK_KEYS)
            and not (isinstance(value, float) and math.isnan(value))}
    return repr(sorted((key, repr(value)) for key, value in kept.items()))


def paired_gains(table: pd.DataFrame, configs: pd.DataFrame, labels: pd.DataFrame, ignored: Sequence[str] = (),
                 metric: str = "kendall_tau") -> pd.DataFrame:
    """Per method with landmarks: the plain method it pairs with, the per-seed gains (landmarks - plain) of ``metric``
    on the seeds both ran, their mean and the 95% Student-t interval of that mean (NaN below 3 pairs).

    ``table`` and ``configs`` are ``Runs.table`` and ``Runs.configs`` (one row per run, same order); ``labels`` has each
    run's ``space`` and ``method``; ``ignored``: config keys that never change what a run computes. A plain run is one
    whose ``regularizer.name`` is not ``landmark``."""
    runs = table.assign(_space=labels["space"].to_numpy(), _method=labels["method"].to_numpy(),
                        _key=[pair_key(config, ignored) for _, config in configs.iterrows()],
                        _plain=(configs["regularizer.name"] != "landmark").to_numpy())
    plain = runs[runs["_plain"]]
    rows = []
    for (space, method), group in runs[~runs["_plain"]].groupby(["_space", "_method"], sort=False):
        references = plain[plain["_key"].isin(set(group["_key"]))]
        if references.empty:
            continue
        merged = group.merge(references, on=["_key", "seed"], suffixes=("", "_plain"))
        gains = (merged[metric] - merged[f"{metric}_plain"]).dropna()
        bounds = interval(gains.to_numpy(), correlation=False)
        rows.append({"space": space, "method": method, "reference": "; ".join(dict.fromkeys(references["_method"])),
                     "pairs": len(gains), "seeds": ", ".join(str(int(s)) for s in merged.loc[gains.index, "seed"]),
                     "gains": ", ".join(f"{g:+.3f}" for g in gains),
                     "gain_mean": float(gains.mean()) if len(gains) else math.nan,
                     "gain_ci_low": bounds[0] if bounds else math.nan,
                     "gain_ci_high": bounds[1] if bounds else math.nan})
    return pd.DataFrame(rows, columns=["space", "method", "reference", "pairs", "seeds", "gains", "gain_mean",
                                       "gain_ci_low", "gain_ci_high"])


def final_scores(run: str, epoch: int) -> pd.DataFrame:
    """``arch``, ``ground_truth`` and the super-net accuracy of the run's final evaluation (epoch ``epoch``), from the
    run's archs.csv."""
    path = RunFolder(run).archs
    archs = pd.read_csv(path)
    column = f"supernet_acc_epoch{epoch}"
    if column not in archs:
        raise ValueError(f"{path} has no {column} (the final evaluation's accuracies)")
    return archs[["arch", "ground_truth"]].assign(supernet_acc=archs[column])


def pooled_kendall_tau(table: pd.DataFrame, final_epochs: Sequence[int], labels: pd.DataFrame) -> pd.DataFrame:
    """Per method: the authors' pooled tau-b, the runs it pools and the runs their rule drops.

    ``table`` is ``Runs.table`` (it needs ``run``, ``seed``, ``mean_supernet_accuracy``), ``final_epochs`` each run's
    last evaluated epoch, ``labels`` each run's ``space`` and ``method``. A run whose mean super-net accuracy is below
    15% is dropped, as theirs; a method whose pooled mean accuracy is below 40% is kept here and flagged
    (``authors_skip``): their table printer leaves it out."""
    runs = table.assign(_space=labels["space"].to_numpy(), _method=labels["method"].to_numpy(),
                        _epoch=list(final_epochs))
    rows = []
    for (space, method), group in runs.groupby(["_space", "_method"], sort=False):
        dropped = group[group["mean_supernet_accuracy"] < AUTHORS_MIN_RUN_ACCURACY]
        kept = group.drop(dropped.index)
        row = {"space": space, "method": method, "pooled_runs": len(kept),
               "dropped_runs": "; ".join(f"{run} (seed {int(seed)}: mean super-net acc {acc:.1f}%)"
                                         for run, seed, acc in dropped[["run", "seed", "mean_supernet_accuracy"]]
                                         .itertuples(index=False)),
               "pooled_kendall_tau": math.nan, "pooled_archs": 0, "pooled_mean_accuracy": math.nan,
               "authors_skip": False}
        if len(kept):
            scores = pd.concat([final_scores(run, epoch) for run, epoch in kept[["run", "_epoch"]]
                                .itertuples(index=False)])
            per_arch = scores.groupby("arch", sort=True).agg(ground_truth=("ground_truth", "first"),
                                                             supernet_acc=("supernet_acc", "mean"))
            tau = kendall_tau(per_arch["supernet_acc"], per_arch["ground_truth"])
            row.update(pooled_kendall_tau=math.nan if tau is None else tau, pooled_archs=len(per_arch),
                       pooled_mean_accuracy=float(per_arch["supernet_acc"].mean()),
                       authors_skip=bool(per_arch["supernet_acc"].mean() < AUTHORS_MIN_POOLED_ACCURACY))
        rows.append(row)
    return pd.DataFrame(rows)
