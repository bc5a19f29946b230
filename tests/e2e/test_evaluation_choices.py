"""Evaluation choices of a whole run: eval.pool=alpha_refresh (the authors' pool of a differentiable run, beside the
fixed sample) and eval.bn=recalibrate (BatchNorm statistics per architecture from training batches)."""
import json

import numpy as np
import pandas as pd
import pytest
from conftest import compose_config
from scipy import stats

from lrnas.evaluation.alpha_pool import alpha_favourites
from lrnas.spaces import get_space
from lrnas.spaces.nb201.benchmark import load_nb201
from lrnas.train import train


def test_a_gdas_run_scores_the_alpha_refreshed_pool_beside_its_fixed_sample(tmp_path, isolated_cache):
    train(compose_config("experiment=smoke", "algorithm=gdas", "eval.pool=alpha_refresh"), tmp_path)
    history = [row for row in json.loads((tmp_path / "metrics.json").read_text())["history"] if "kendall_tau" in row]
    pools, sample = pd.read_csv(tmp_path / "eval_pool.csv"), pd.read_csv(tmp_path / "archs.csv")
    benchmark = load_nb201()
    for row in history:  # every evaluation of the alpha search: 20 archs, alpha's picks among the sample's
        pool = pools[pools["epoch"] == row["epoch"]]
        assert row["pool_size"] == len(pool) == 20 and pool["arch"].is_unique
        assert row["pool_kendall_tau"] == pytest.approx(
            stats.kendalltau(pool["supernet_acc"], pool["ground_truth"]).statistic)
        assert pool["ground_truth"].tolist() == benchmark.accuracies(pool["arch"], "cifar10_test").tolist()
        shared = pool.merge(sample, on="arch")  # an arch of the fixed sample keeps the score it got there
        assert shared["supernet_acc"].tolist() == shared[f"supernet_acc_epoch{row['epoch']}"].tolist()
        assert 1 <= len(pool) - len(shared) <= row["epoch"]  # each refresh leaves alpha's last pick in
    assert history[-1]["kendall_tau"] == pytest.approx(
        stats.kendalltau(sample["supernet_acc_epoch2"], sample["ground_truth"]).statistic)


def test_alpha_favourites_are_the_most_drawn_archs():
    nb201 = get_space("nb201")
    probabilities = np.full((6, 5), 0.01)
    probabilities[:, 3] = 0.96  # one op dominates every edge: its cell is drawn most
    favourites = alpha_favourites(probabilities, nb201, __import__("random").Random(0), draws=200, k=3)
    assert favourites[0] == nb201.format_arch(nb201.derive_arch(probabilities)) and len(set(favourites)) == 3


def test_a_recalibrated_run_scores_its_sample_with_training_statistics(tmp_path, isolated_cache):
    final = train(compose_config("experiment=smoke", "eval.bn=recalibrate", "eval.bn_batches=2"), tmp_path / "recal")
    train(compose_config("experiment=smoke"), tmp_path / "batch")
    recalibrated, batch = (pd.read_csv(tmp_path / run / "archs.csv") for run in ("recal", "batch"))
    assert final["kendall_tau"] == pytest.approx(
        stats.kendalltau(recalibrated["supernet_acc_epoch2"], recalibrated["ground_truth"]).statistic)
    # the same training (evaluation draws nothing from the run's streams), other scores
    assert recalibrated["supernet_acc_epoch2"].tolist() != batch["supernet_acc_epoch2"].tolist()
    metrics = [json.loads((tmp_path / run / "metrics.json").read_text())["history"] for run in ("recal", "batch")]
    assert [row["train_loss"] for row in metrics[0]] == [row["train_loss"] for row in metrics[1]]
