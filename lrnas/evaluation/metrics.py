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

import re

import numpy as np
from scipy import stats

# The top-K metrics the run summary and `lrnas report` show, K = eval.top_k (10 on NB201, 5 on NB101 in the authors'
# tables: kcyu2014/nas-landmarkreg analysis.py:82), so a reader finds each K's columns by name.
REPORTED_TOP_K = ("precision_at_top{k}", "top{k}_mean_ground_truth", "p_surpass_random_top{k}")


def reported_top_k(names) -> list[str]:
    """The REPORTED_TOP_K metrics among ``names``, for whatever K they were computed with."""
    pattern = "|".join(template.format(k=r"\d+") for template in REPORTED_TOP_K)
    return [name for name in names if re.fullmatch(pattern, name)]


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


def sparse_kendall_tau(scores, ground_truth, threshold: float = 1e-2) -> float | None:
    """The authors' sparse Kendall tau: ground truth binned into steps of ``threshold`` (accuracy as a fraction), so
    archs closer than that count as tied; then tau-b between the bins in ground-truth order and the bins in super-net
    order (kcyu2014/nas-landmarkreg nasws/cnn/utils.py:90-122 and 153-218, called with threshold 1e-2 in
    nasws/cnn/visualization/tool.py:391). ``ground_truth`` is in %, scaled by 1e-2 as their code does
    (utils.py:169-170). Their dense ranks of the bins are a strictly increasing map of the bins, which tau does not
    see. Ties among ``scores`` keep the sample order (theirs: numpy's default sort, which reorders them arbitrarily).

        >>> sparse_kendall_tau([2, 1, 3, 4], [91.0, 91.5, 92.3, 93.9])  # 91.0 and 91.5 share the bin [0.91, 0.92)
        1.0
    """
    bins = np.asarray(ground_truth, dtype=float) * 1e-2 * (1 / threshold) // 1
    in_truth_order = np.sort(bins)
    in_score_order = bins[np.argsort(np.asarray(scores), kind="stable")]
    if tie_reason(in_truth_order, in_score_order):  # every arch in one bin, or every score tied
        return None
    return float(stats.kendalltau(in_truth_order, in_score_order).statistic)


def prob_surpass_random(scores, ground_truth, pool_ground_truth, k: int) -> float:
    """P>random: the chance that ``k`` architectures drawn at random from the space all rank below the best (by ground
    truth) of the super-net's top ``k``, ``(rank / N) ** k`` with rank = how many of the N archs of
    ``pool_ground_truth`` have a lower ground truth (kcyu2014/nas-landmarkreg nasws/cnn/visualization/tool.py:16-17;
    top k and best rank as in nasws/cnn/visualization/analysis.py:82-107). 1 means search beats random sampling.

        >>> prob_surpass_random([0.9, 0.1, 0.5], [93.0, 94.0, 80.0], [80.0, 85.0, 90.0, 93.0, 94.0], k=2)
        0.36
    """
    k = min(k, len(scores))
    best = np.max(np.asarray(ground_truth)[np.argsort(-np.asarray(scores), kind="stable")[:k]])
    rank = np.searchsorted(np.sort(np.asarray(pool_ground_truth, dtype=float)), best, side="left")
    return float((rank / len(pool_ground_truth)) ** k)


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


def ranking_metrics(scores, ground_truth, top_k: int = 10, pool_ground_truth=None) -> dict[str, float | str | None]:
    """Every metric the tool reports, for one sample; ``sample_size`` is always included, P>random when the ground
    truth of the whole pool the sample came from is given. When all ``scores`` are tied, the super-net orders
    nothing: every metric of its order is None and ``kendall_tau_undefined`` says why."""
    if len(scores) != len(ground_truth) or len(scores) < 2:
        raise ValueError(f"need two equally long arrays of >= 2 values, got {len(scores)} and {len(ground_truth)}")
    names = ["kendall_tau", "sparse_kendall_tau", "spearman_rho", f"precision_at_top{top_k}",
             f"top{top_k}_mean_ground_truth", f"top{top_k}_best_ground_truth"]
    if pool_ground_truth is not None:
        names.append(f"p_surpass_random_top{top_k}")
    reason = tie_reason(scores, ground_truth)
    if reason:
        return {"sample_size": len(scores), **dict.fromkeys(names), "kendall_tau_undefined": reason}
    values = [kendall_tau(scores, ground_truth), sparse_kendall_tau(scores, ground_truth),
              spearman_rho(scores, ground_truth), precision_at_top_k(scores, ground_truth, top_k),
              *top_k_ground_truth(scores, ground_truth, top_k)]
    if pool_ground_truth is not None:
        values.append(prob_surpass_random(scores, ground_truth, pool_ground_truth, top_k))
    return {"sample_size": len(scores), **dict(zip(names, values, strict=True))}
