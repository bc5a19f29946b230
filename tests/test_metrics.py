import numpy as np
import pytest
from scipy import stats

from lrnas.evaluation.metrics import (
    kendall_tau,
    precision_at_top_k,
    ranking_metrics,
    spearman_rho,
    top_k_ground_truth,
)


def test_kendall_and_spearman_equal_scipy_on_random_inputs():
    rng = np.random.default_rng(0)
    scores, truth = rng.normal(size=200), rng.normal(size=200)
    assert kendall_tau(scores, truth) == pytest.approx(stats.kendalltau(scores, truth).statistic)
    assert spearman_rho(scores, truth) == pytest.approx(stats.spearmanr(scores, truth).statistic)


def test_kendall_known_values():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    # one discordant pair out of six: (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(4 / 6)


def test_precision_at_top_k_counts_overlap():
    scores = [0.9, 0.8, 0.1, 0.7, 0.2]
    truth = [50, 10, 40, 30, 20]  # true top-2: indices 0, 2; predicted top-2: 0, 1
    assert precision_at_top_k(scores, truth, 2) == 0.5
    assert precision_at_top_k(scores, truth, 5) == 1.0


def test_top_k_ground_truth_is_mean_and_best_of_predicted_top():
    scores = [0.9, 0.8, 0.1, 0.7]
    truth = [50.0, 10.0, 99.0, 30.0]
    assert top_k_ground_truth(scores, truth, 2) == (30.0, 50.0)


def test_ranking_metrics_reports_sample_size_and_rejects_mismatch():
    metrics = ranking_metrics(np.arange(20), np.arange(20) * 2.0, top_k=10)
    assert metrics["sample_size"] == 20
    assert metrics["kendall_tau"] == pytest.approx(1.0)
    assert metrics["precision_at_top10"] == 1.0
    assert metrics["top10_mean_ground_truth"] == pytest.approx(np.mean(np.arange(10, 20) * 2.0))
    with pytest.raises(ValueError, match="equally long"):
        ranking_metrics([1, 2, 3], [1, 2])
