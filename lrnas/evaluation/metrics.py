"""Ranking metrics between super-net scores and ground truth: pure functions of two arrays.

    >>> from lrnas.evaluation.metrics import ranking_metrics
    >>> round(ranking_metrics([1, 2, 3, 4], [10, 20, 40, 30], top_k=2)["kendall_tau"], 3)
    0.667
    >>> ranking_metrics([50, 50, 50], [10, 20, 30], top_k=2)["kendall_tau_undefined"]
    'all 3 super-net accuracies are tied: Kendall tau undefined'

A rank correlation is undefined when one side is constant (scipy returns NaN): then it is None, with the reason,
never a NaN that prints as a result. A super-net whose BatchNorm collapsed scores every architecture the same.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def tie_reason(scores, ground_truth, what: str = "") -> str | None:
    """Why no rank correlation of ``scores`` with ``ground_truth`` exists, or None: every value on one side is the
    same, so no pair is ordered. ``what`` names the archs, e.g. "landmark "."""
    for values, kind in ((scores, "super-net accuracies"), (ground_truth, "ground-truth accuracies")):
        if np.ptp(np.asarray(values, dtype=float)) == 0:
            return f"all {len(values)} {what}{kind} are tied: Kendall tau undefined"
    return None


def kendall_tau(scores, ground_truth) -> float | None:
    """Kendall tau-b (ties handled as in scipy), the paper's headline number; None when one side is all tied."""
    if tie_reason(scores, ground_truth):
        return None
    return float(stats.kendalltau(scores, ground_truth).statistic)


def spearman_rho(scores, ground_truth) -> float | None:
    if tie_reason(scores, ground_truth):
        return None
    return float(stats.spearmanr(scores, ground_truth).statistic)


def precision_at_top_k(scores, ground_truth, k: int) -> float:
    """Fraction of the super-net's top-k that are also in the ground-truth top-k."""
    k = min(k, len(scores))
    predicted = set(np.argsort(-np.asarray(scores), kind="stable")[:k])
    actual = set(np.argsort(-np.asarray(ground_truth), kind="stable")[:k])
    return len(predicted & actual) / k


def top_k_ground_truth(scores, ground_truth, k: int) -> tuple[float, float]:
    """Mean and best ground truth of the super-net's top-k: the paper's "final performance"."""
    chosen = np.asarray(ground_truth)[np.argsort(-np.asarray(scores), kind="stable")[:k]]
    return float(chosen.mean()), float(chosen.max())


def ranking_metrics(scores, ground_truth, top_k: int = 10) -> dict[str, float | str | None]:
    """Every metric the tool reports, for one sample; ``sample_size`` is always included. When all ``scores`` are
    tied, the super-net orders nothing: every metric of its order is None and ``kendall_tau_undefined`` says why."""
    if len(scores) != len(ground_truth) or len(scores) < 2:
        raise ValueError(f"need two equally long arrays of >= 2 values, got {len(scores)} and {len(ground_truth)}")
    reason = tie_reason(scores, ground_truth)
    if reason:
        return {"sample_size": len(scores), "kendall_tau": None, "kendall_tau_undefined": reason,
                "spearman_rho": None, f"precision_at_top{top_k}": None, f"top{top_k}_mean_ground_truth": None,
                f"top{top_k}_best_ground_truth": None}
    top_mean, top_best = top_k_ground_truth(scores, ground_truth, top_k)
    return {
        "sample_size": len(scores),
        "kendall_tau": kendall_tau(scores, ground_truth),
        "spearman_rho": spearman_rho(scores, ground_truth),
        f"precision_at_top{top_k}": precision_at_top_k(scores, ground_truth, top_k),
        f"top{top_k}_mean_ground_truth": top_mean,
        f"top{top_k}_best_ground_truth": top_best,
    }
