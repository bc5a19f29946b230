import json

import pytest
from omegaconf import OmegaConf

from lrnas.reporting.runs import collect_runs, summarise


def write_run(folder, seed, tau, finished=True, regularizer="none"):
    folder.mkdir(parents=True)
    cfg = {"seed": seed, "algorithm": {"name": "spos"}, "landmarks": {"method": "none"},
           "regularizer": {"name": regularizer}, "trainer": {"epochs": 8}, "space": {"channels": 16,
                                                                                       "cells_per_stage": 1}}
    OmegaConf.save(OmegaConf.create(cfg), folder / "config.yaml")
    final = {"epoch": 8, "sample_size": 200, "kendall_tau": tau, "param_count_kendall_tau": 0.6}
    (folder / "metrics.json").write_text(json.dumps({"final": final if finished else None, "history": [final]}))


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
