import json

import numpy as np
import pytest
from scipy import stats

from lrnas.evaluation.metrics import (
    kendall_tau,
    precision_at_top_k,
    prob_surpass_random,
    ranking_metrics,
    sparse_kendall_tau,
    spearman_rho,
    top_k_ground_truth,
)
from lrnas.evaluation.ranking import MIN_EVAL_BATCH, evaluation_batches


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


def test_tied_supernet_accuracies_give_no_tau_but_say_why():
    """A collapsed super-net scores every arch the same: tau is undefined, never NaN printed as a result."""
    metrics = ranking_metrics([10.0] * 5, [91.0, 92.0, 93.0, 94.0, 95.0], top_k=2)
    assert metrics["kendall_tau"] is None and metrics["spearman_rho"] is None
    assert metrics["precision_at_top2"] is None and metrics["top2_mean_ground_truth"] is None  # an arbitrary top-2
    assert metrics["kendall_tau_undefined"] == "all 5 super-net accuracies are tied: Kendall tau undefined"
    json.dumps(metrics, allow_nan=False)  # metrics.json holds null and the reason
    assert kendall_tau([1, 2, 3], [4, 4, 4]) is None and "kendall_tau_undefined" not in ranking_metrics(
        [1, 2, 2], [1, 2, 3], top_k=2)  # partial ties are fine: tau-b handles them


def test_log_lines_say_tied_instead_of_nan():
    from lrnas.run.messages import describe_ranking, summary_table

    metrics = {**ranking_metrics([10.0] * 5, [91.0, 92.0, 93.0, 94.0, 95.0], top_k=10),
               "param_count_kendall_tau": 0.56, "mean_supernet_accuracy": 10.0, "num_landmarks": 3,
               "landmark_kendall_tau": None,
               "landmark_kendall_tau_undefined": "all 3 landmark super-net accuracies are tied: Kendall tau undefined"}
    line = describe_ranking(metrics)
    assert "all 5 super-net accuracies are tied: Kendall tau undefined" in line
    assert "all 3 landmark super-net accuracies are tied" in line and "nan" not in line.lower()
    table = summary_table([{"epoch": 1, "train_loss": 2.3, "train_accuracy": 10.0, **metrics}])
    assert "nan" not in table.lower() and "undefined" in table


@pytest.mark.parametrize(("count", "batch_size", "sizes"), [
    (10000, 500, [500] * 20), (2001, 500, [500, 500, 500, 501]), (40, 16, [16, 24]), (128, 500, [128])])
def test_no_image_is_scored_in_a_batch_too_small_for_batch_statistics(count, batch_size, sizes):
    batches = evaluation_batches(count, batch_size)
    assert [b.stop - b.start for b in batches] == sizes and batches[0].start == 0 and batches[-1].stop == count
    assert all(a.stop == b.start for a, b in zip(batches, batches[1:], strict=False))
    with pytest.raises(ValueError, match=f"cannot score archs on 8 images: .* need >= {MIN_EVAL_BATCH} per batch"):
        evaluation_batches(8, 500)


def test_kendall_is_tau_b_on_tied_supernet_accuracies():
    """Super-net accuracies on a few test images tie (multiples of 100/128 %): tau must be tau-b, not tau-a or tau-c.

    Six archs in three tied pairs against a strictly increasing ground truth: of the 15 pairs, 3 are tied in the
    scores and the other 12 are concordant, so tau-b = 12 / sqrt(12 * 15) = 2 / sqrt(5) (tau-c = 1, tau-a = 0.8).
    """
    scores, truth = [12.5, 12.5, 25.0, 25.0, 37.5, 37.5], [90.1, 90.4, 91.0, 91.7, 92.2, 93.5]
    assert kendall_tau(scores, truth) == pytest.approx(2 / np.sqrt(5), abs=1e-12)
    assert ranking_metrics(scores, truth, top_k=2)["kendall_tau"] == pytest.approx(2 / np.sqrt(5), abs=1e-12)
    # Ties on both sides: 10 concordant, 2 discordant, 3 pairs tied in the scores and 2 in the truth (two of them in
    # both): tau-b = (10 - 2) / sqrt((15 - 3) * (15 - 2)) = 8 / sqrt(156) (tau-c = 2 * 3 * 8 / (36 * 2) = 2/3).
    scores, truth = [12.5, 12.5, 25.0, 25.0, 37.5, 37.5], [90.0, 90.0, 91.0, 93.0, 92.0, 92.0]
    assert kendall_tau(scores, truth) == pytest.approx(8 / np.sqrt(156), abs=1e-12)
    assert stats.kendalltau(scores, truth, variant="c").statistic != pytest.approx(kendall_tau(scores, truth))


@pytest.mark.parametrize("scores, truth, tied", [([7.0] * 4, [1, 2, 3, 4], "super-net"),
                                                 ([1, 2, 3, 4], [93.0] * 4, "ground-truth")])
def test_either_side_all_tied_gives_no_correlation_and_names_the_side(scores, truth, tied):
    assert kendall_tau(scores, truth) is None and spearman_rho(scores, truth) is None
    assert ranking_metrics(scores, truth, top_k=2)["kendall_tau_undefined"] == \
        f"all 4 {tied} accuracies are tied: Kendall tau undefined"


def test_ties_in_a_top_k_go_to_the_earlier_sample_position():
    """Deterministic on any sort algorithm (numpy's default one reorders these ties): the top 10 are the five 2.0s and
    the first five 1.0s, at positions 5, 7, 9, 11, 13."""
    scores = np.r_[np.full(5, 2.0), np.tile([1.0, 0.0], 20)]
    truth = np.zeros(45)
    truth[[0, 1, 2, 3, 4, 5, 7, 9, 11, 13]] = 90.0 + np.arange(10)
    assert precision_at_top_k(scores, truth, 10) == 1.0
    assert top_k_ground_truth(scores, truth, 10) == (94.5, 99.0)
    assert precision_at_top_k(scores, 10 * scores, 10) == 1.0  # the same ties in the ground truth: the same top 10


def test_two_archs_are_enough_and_the_default_top_k_is_10():
    assert ranking_metrics([1, 2], [3, 4])["kendall_tau"] == pytest.approx(1.0)
    assert "precision_at_top10" in ranking_metrics(np.arange(12), np.arange(12))


def authors_sparse_kendall_tau(scores, truth, threshold):
    """The procedure of kcyu2014/nas-landmarkreg nasws/cnn/utils.py:90-122 and 153-182, step by step: sort ids by
    ground truth, walk them giving a new rank whenever the threshold bin rises, then tau between those ranks and the
    ranks of the ids sorted by super-net score."""
    ids = list(range(len(scores)))
    truth = [t * 1e-2 for t in truth]
    by_score = sorted(ids, key=lambda i: (scores[i], i))
    by_truth = sorted(ids, key=lambda i: truth[i])
    ranks, rank_of, rank, previous = [], {}, -1, 0.0
    for i in by_truth:
        if truth[i] * (1 / threshold) // 1 > previous * (1 / threshold) // 1:
            rank += 1
        rank_of[i], previous = rank, truth[i]
        ranks.append(rank)
    return stats.kendalltau(ranks, [rank_of[i] for i in by_score]).statistic


@pytest.mark.parametrize("threshold", [1e-2, 1e-3])
def test_sparse_kendall_tau_is_the_authors_procedure(threshold):
    rng = np.random.default_rng(1)
    for _ in range(20):
        truth = rng.uniform(85, 95, 60).round(2)
        scores = truth + rng.normal(0, 3, 60)
        scores[:10] = scores[10]  # tied super-net accuracies keep their sample order
        assert sparse_kendall_tau(scores, truth, threshold) == pytest.approx(
            authors_sparse_kendall_tau(list(scores), list(truth), threshold), abs=1e-12)


def test_sparse_kendall_tau_ignores_order_within_a_bin_and_is_none_in_one_bin():
    truth = [91.0, 91.5, 92.3, 93.9]
    assert kendall_tau([2, 1, 3, 4], truth) == pytest.approx(4 / 6)
    assert sparse_kendall_tau([2, 1, 3, 4], truth) == 1.0  # 91.0 and 91.5 share the bin [91%, 92%)
    assert sparse_kendall_tau([4, 3, 2, 1], truth) == pytest.approx(-0.8)  # tau-b: the tie in both orders
    assert sparse_kendall_tau([1, 2, 3], [93.1, 93.4, 93.9]) is None


def test_prob_surpass_random_is_the_best_of_the_top_k_ranked_in_the_pool():
    pool = np.arange(100.0)  # ground truth 0..99: an arch with ground truth g has g archs below it
    assert prob_surpass_random([3, 2, 1], [50.0, 90.0, 99.0], pool, k=2) == pytest.approx(0.9 ** 2)
    assert prob_surpass_random([3, 2, 1], [50.0, 90.0, 99.0], pool, k=3) == pytest.approx(0.99 ** 3)
    metrics = ranking_metrics([3, 2, 1], [50.0, 90.0, 99.0], top_k=2, pool_ground_truth=pool)
    assert metrics["p_surpass_random_top2"] == pytest.approx(0.81)
    assert "p_surpass_random_top2" not in ranking_metrics([3, 2, 1], [50.0, 90.0, 99.0], top_k=2)
    assert ranking_metrics([1, 1, 1], [50.0, 90.0, 99.0], top_k=2, pool_ground_truth=pool)[
        "p_surpass_random_top2"] is None  # tied scores: no top k to speak of


def test_eval_samples_of_every_arch_and_of_isomorphism_classes():
    """eval.num_archs=all: every arch of the pool but the excluded (landmarks); eval.unique: one arch per class of
    NB201's 6,466, none of an excluded arch's class."""
    from lrnas.evaluation.ranking import draw_eval_sample
    from lrnas.spaces.nb201.benchmark import load_nb201

    nb201 = load_nb201()
    excluded = set(nb201.archs[:3])
    every = draw_eval_sample(nb201, "all", 0, excluded, "cifar10_test")
    assert len(every.archs) == 15_625 - 3 and not excluded & set(every.archs)
    unique = draw_eval_sample(nb201, "all", 0, excluded, "cifar10_test", unique=True)
    classes = nb201.isomorphism_classes(unique.archs)
    assert len(set(classes)) == len(classes) and not set(nb201.isomorphism_classes(excluded)) & set(classes)
    assert len(classes) == 6_466 - len(set(nb201.isomorphism_classes(excluded)))
    first = draw_eval_sample(nb201, 200, 0, set(), "cifar10_test", unique=True)
    assert first.archs == [arch for arch in draw_eval_sample(nb201, "all", 0, set(), "cifar10_test",
                                                             unique=True).archs][:200]
