"""A budget study's numbers: held-out tau at each budget and evaluation, and training minutes, for runs that differ
in ``trainer.epochs`` (``make budget-nb201-cpu``); lrnas.reporting.plots draws them (``budget.png``).

Two kinds of point, never mixed:
- *end of run*: a run's final evaluation, after its cosine schedule has decayed (one point per budget);
- *mid-run*: an evaluation inside the longest run (``eval.at_epochs``), where the learning rate is still high, so it
  is not what a run of that length would give.

Training minutes leave the evaluations out (``eval_s``, recorded per evaluation) and include the landmark term.
Horizontal references on the same sample: the parameter-count baseline, and for NB201 the tau of NB201's own 12-epoch
stand-alone training (``cifar10_test_12ep``), so a reader sees what super-net training buys over free and cheap
rankings.
"""
from __future__ import annotations

import pandas as pd

from ..evaluation.metrics import kendall_tau
from ..run.folder import RunFolder
from ..spaces import load_benchmark
from .runs import Runs

BUDGET_KEY = "trainer.epochs"
# Keys that follow the budget (a warm-up scaled to the epochs), not the method: left out of a budget study's labels.
FOLLOWS_BUDGET = (BUDGET_KEY, "regularizer.warmup_epochs")
CHEAP_REFERENCE = "cifar10_test_12ep"  # NB201's own 12-epoch stand-alone training, in the shipped table


def setting_label(method: str) -> str:
    """A method label without the keys that follow the budget: ``spos, trainer.epochs=40`` -> ``spos``."""
    return ", ".join(part for part in method.split(", ") if not part.startswith(tuple(f"{k}=" for k in FOLLOWS_BUDGET)))


def training_minutes(history: pd.DataFrame) -> pd.Series:
    """Per history row: minutes spent training up to the end of that epoch (evaluations left out); NaN for runs that
    did not record ``eval_s``."""
    if "eval_s" not in history:
        return pd.Series(float("nan"), index=history.index)
    evaluation = history["eval_s"].fillna(0).groupby(history["run"]).cumsum()
    return (history["elapsed_s"] - evaluation) / 60


def budget_points(runs: Runs, labels: pd.DataFrame) -> pd.DataFrame | None:
    """One row per (setting, budget, kind, epoch): the mean, std and n over seeds of held-out tau-b, and the mean
    training minutes. None when the runs do not vary ``trainer.epochs``."""
    if BUDGET_KEY not in runs.keys:
        return None
    by_run = labels.set_axis(runs.table["run"])
    history = runs.history.assign(setting=runs.history["run"].map(by_run["method"]).map(setting_label),
                                  space=runs.history["run"].map(by_run["space"]),
                                  budget=runs.history[BUDGET_KEY].astype(int),
                                  minutes=training_minutes(runs.history))
    evaluated = history.dropna(subset=["sample_size"])
    evaluated = evaluated.assign(kind=["end of run" if epoch == budget else "mid-run" for epoch, budget
                                       in zip(evaluated["epoch"], evaluated["budget"], strict=True)])
    longest = evaluated.groupby(["space", "setting"])["budget"].transform("max")
    # Mid-run points only from each setting's longest runs: one curve, not one per budget.
    kept = evaluated[(evaluated["kind"] == "end of run") | (evaluated["budget"] == longest)]
    points = (kept.groupby(["space", "setting", "kind", "budget", "epoch"], sort=False)
              .agg(tau_mean=("kendall_tau", "mean"), tau_std=("kendall_tau", "std"), n=("kendall_tau", "count"),
                   tau_min=("kendall_tau", "min"), minutes=("minutes", "mean"),
                   param_count_tau=("param_count_kendall_tau", "mean"))
              .reset_index())
    return points.sort_values(["space", "setting", "kind", "epoch"], kind="stable").reset_index(drop=True)


def cheap_reference(runs: Runs) -> dict[str, float]:
    """Per NB201-like space: Kendall tau-b of NB201's 12-epoch accuracies against the ground truth on the runs'
    evaluation sample (their archs.csv), where the space's table has that column."""
    references, seen = {}, set()
    for run, space, table in zip(runs.table["run"], runs.configs["space.name"],
                                 runs.configs.get("space.table", pd.Series(None, index=runs.configs.index)),
                                 strict=True):
        if space in seen:  # one lookup per space, whether or not its table has the column
            continue
        seen.add(space)
        benchmark = load_benchmark(space, None if pd.isna(table) else table)
        if benchmark is None or CHEAP_REFERENCE not in getattr(benchmark, "metrics", ()):
            continue
        archs = pd.read_csv(RunFolder(run).archs)
        references[space] = kendall_tau(benchmark.accuracies(archs["arch"], CHEAP_REFERENCE), archs["ground_truth"])
    return references
