import json
import math

import pytest
from omegaconf import OmegaConf

from lrnas.reporting.runs import collect_runs, summarise


def write_run(folder, seed, tau, finished=True, regularizer="none", searched=None, algorithm="spos", space="nb201",
              test_images=2000):
    folder.mkdir(parents=True)
    cfg = {"seed": seed, "algorithm": {"name": algorithm}, "landmarks": {"method": "none"},
           "regularizer": {"name": regularizer}, "trainer": {"epochs": 8, "train_images": None},
           "space": {"name": space, "channels": 16, "cells_per_stage": 1}, "eval": {"num_test_images": test_images}}
    OmegaConf.save(OmegaConf.create(cfg), folder / "config.yaml")
    final = {"epoch": 8, "sample_size": 200, "kendall_tau": tau, "param_count_kendall_tau": 0.6}
    search = {"ground_truth": searched, "percentile": 90.0} if searched else None
    (folder / "metrics.json").write_text(json.dumps({"final": final if finished else None, "history": [final],
                                                     "search": search}))


def test_report_averages_seeds_per_configuration_and_skips_unfinished_runs(tmp_path):
    write_run(tmp_path / "a/0", 0, 0.1)
    write_run(tmp_path / "a/1", 1, 0.3)
    write_run(tmp_path / "b/0", 0, 0.5, regularizer="landmark")
    write_run(tmp_path / "c/0", 0, 0.9, finished=False)
    runs = collect_runs(tmp_path)
    assert sorted(runs["kendall_tau"]) == [0.1, 0.3, 0.5]
    table = summarise(runs).set_index("regularizer")
    assert table.loc["none", "seeds"] == 2 and table.loc["none", "kendall_tau_mean"] == pytest.approx(0.2)
    assert table.loc["landmark", "seeds"] == 1


def test_report_without_finished_runs_is_one_line_error(tmp_path):
    write_run(tmp_path / "x", 0, 0.1, finished=False)
    with pytest.raises(ValueError, match="no finished run"):
        collect_runs(tmp_path)


def test_report_shows_each_algorithms_searched_architecture(tmp_path):
    write_run(tmp_path / "g/0", 0, 0.2, algorithm="gdas", searched=93.0)
    write_run(tmp_path / "g/1", 1, 0.4, algorithm="gdas", searched=91.0)
    write_run(tmp_path / "f/0", 0, 0.1, algorithm="fairnas")  # from before the search phase: no search report
    table = summarise(collect_runs(tmp_path)).set_index("algorithm")
    assert table.loc["gdas", "searched_ground_truth_mean"] == pytest.approx(92.0)
    assert table.loc["gdas", "kendall_tau_mean"] == pytest.approx(0.3)
    assert math.isnan(table.loc["fairnas", "searched_ground_truth_mean"])


def test_report_never_averages_runs_from_different_spaces_or_budgets(tmp_path):
    write_run(tmp_path / "a/0", 0, 0.1)
    write_run(tmp_path / "a/1", 1, 0.3)
    write_run(tmp_path / "nb101/0", 0, 0.9, space="nb101")
    write_run(tmp_path / "short/0", 0, 0.7, test_images=500)
    table = summarise(collect_runs(tmp_path)).set_index(["space", "test_images"])
    assert table["seeds"].to_dict() == {("nb201", 2000): 2, ("nb101", 2000): 1, ("nb201", 500): 1}
    assert table.loc[("nb201", 2000), "kendall_tau_mean"] == pytest.approx(0.2)
