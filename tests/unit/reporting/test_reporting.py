import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy.stats import kendalltau

from lrnas.reporting import statistics
from lrnas.reporting.paper_table import paper_summary
from lrnas.reporting.runs import collect_runs, summarise
from lrnas.reporting.write import write_report


def write_run(folder, seed, tau, finished=True, regularizer="none", searched=None, algorithm="spos", space="nb201",
              test_images=2000, **extra):
    folder.mkdir(parents=True)
    cfg = {"seed": seed, "algorithm": {"name": algorithm}, "landmarks": {"method": "none"},
           "regularizer": {"name": regularizer}, "trainer": {"epochs": 8, "train_images": None},
           "space": {"name": space, "channels": 16, "cells_per_stage": 1}, "eval": {"num_test_images": test_images}}
    cfg.update(extra)
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
    assert sorted(runs.table["kendall_tau"]) == [0.1, 0.3, 0.5]
    table = summarise(runs).set_index("regularizer.name")
    assert table.loc["none", "n"] == 2 and table.loc["none", "kendall_tau_mean"] == pytest.approx(0.2)
    assert table.loc["landmark", "n"] == 1
    assert [str(entry) for entry in runs.left_out] == [
        f"unfinished: {tmp_path / 'c/0'}: trained through epoch 8 (still running, or killed)"]


def test_report_without_finished_runs_is_one_line_error(tmp_path):
    write_run(tmp_path / "x", 0, 0.1, finished=False)
    with pytest.raises(ValueError, match="no finished run"):
        collect_runs(tmp_path)


def test_report_shows_each_algorithms_searched_architecture(tmp_path):
    write_run(tmp_path / "g/0", 0, 0.2, algorithm="gdas", searched=93.0)
    write_run(tmp_path / "g/1", 1, 0.4, algorithm="gdas", searched=91.0)
    write_run(tmp_path / "f/0", 0, 0.1, algorithm="fairnas")  # from before the search phase: no search report
    table = summarise(collect_runs(tmp_path)).set_index("algorithm.name")
    assert table.loc["gdas", "searched_ground_truth_mean"] == pytest.approx(92.0)
    assert table.loc["gdas", "kendall_tau_mean"] == pytest.approx(0.3)
    assert math.isnan(table.loc["fairnas", "searched_ground_truth_mean"])


def test_report_never_averages_runs_from_different_spaces_or_budgets(tmp_path):
    write_run(tmp_path / "a/0", 0, 0.1)
    write_run(tmp_path / "a/1", 1, 0.3)
    write_run(tmp_path / "nb101/0", 0, 0.9, space="nb101")
    write_run(tmp_path / "short/0", 0, 0.7, test_images=500)
    table = summarise(collect_runs(tmp_path)).set_index(["space.name", "eval.num_test_images"])
    assert table["n"].to_dict() == {("nb201", 2000): 2, ("nb101", 2000): 1, ("nb201", 500): 1}
    assert table.loc[("nb201", 2000), "kendall_tau_mean"] == pytest.approx(0.2)


def lrnas(*args, cwd):
    env = {**os.environ, "LRNAS_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "lrnas.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


SWEEP = ["train", "-m", "experiment=smoke", "trainer.epochs=1", "eval.at_epochs=[]", "search.candidates=5",
         "landmarks=random", "regularizer=landmark", "regularizer.warmup_epochs=0", "seed=0,1"]


@pytest.fixture(scope="module")
def penalty_sweep(tmp_path_factory):
    """Six smoke runs written by `lrnas train -m`: seeds 0 and 1 of three landmark configurations, which differ in
    regularizer.penalty (hinge, softplus) and in landmarks.num_landmarks (4, 3), so the grouping needs both keys."""
    workdir = tmp_path_factory.mktemp("sweep")
    for sweep in (["regularizer.penalty=hinge,softplus", "landmarks.num_landmarks=4", "hydra.sweep.dir=outputs/a"],
                  ["regularizer.penalty=hinge", "landmarks.num_landmarks=3", "hydra.sweep.dir=outputs/b"]):
        result = lrnas(*SWEEP, *sweep, cwd=workdir)
        assert result.returncode == 0, result.stderr[-3000:]
    return workdir


CONFIGURATIONS = [(4, "hinge"), (4, "softplus"), (3, "hinge")]


def final_taus(folder) -> dict:
    """Recomputed from the run folders: (num_landmarks, penalty) -> the held-out taus of its seeds."""
    taus = {}
    for metrics in sorted(folder.rglob("metrics.json")):
        config = OmegaConf.load(metrics.parent / "config.yaml")
        key = (config.landmarks.num_landmarks, config.regularizer.penalty)
        taus.setdefault(key, []).append(json.loads(metrics.read_text())["final"]["kendall_tau"])
    return taus


def test_runs_that_differ_in_any_config_key_are_never_averaged(penalty_sweep):
    runs = collect_runs(penalty_sweep / "outputs")
    # derived from the configs: no hand-kept list to forget a key in
    assert runs.keys == ["landmarks.num_landmarks", "regularizer.penalty"]
    table = summarise(runs).set_index(runs.keys)
    assert sorted(table.index) == sorted(CONFIGURATIONS) and set(table["n"]) == {2}
    for key, taus in final_taus(penalty_sweep / "outputs").items():
        assert len(taus) == 2 and taus[0] != taus[1]  # else a variance would pass for a std
        assert table.loc[key, "kendall_tau_mean"] == pytest.approx(sum(taus) / 2)
        assert table.loc[key, "kendall_tau_std"] == pytest.approx(abs(taus[0] - taus[1]) / math.sqrt(2))  # ddof 1


def test_report_command_shows_the_summary_and_writes_every_run_to_csv(penalty_sweep):
    result = lrnas("report", "outputs", "--csv", "runs.csv", cwd=penalty_sweep)
    assert result.returncode == 0, result.stderr
    per_run, summary = result.stdout.split("\nover seeds")
    for text in (per_run, summary):
        assert "landmarks.num_landmarks" in text.splitlines()[0 if text is per_run else 1]
        assert "regularizer.penalty" in text
    for (num_landmarks, penalty), taus in final_taus(penalty_sweep / "outputs").items():
        row = f"{num_landmarks} +{penalty} +2 +{sum(taus) / 2:.3f} +{abs(taus[0] - taus[1]) / math.sqrt(2):.3f}"
        assert re.search(row, summary), (row, summary)
    assert "NaN" not in result.stdout
    both = lrnas("report", "outputs/b", "outputs/a", cwd=penalty_sweep)  # several folders: one table
    assert both.returncode == 0 and both.stdout == result.stdout
    written = pd.read_csv(penalty_sweep / "runs.csv")
    assert len(written) == 6 and {Path(run).name for run in written["run"]} == {"0", "1", "2", "3"}
    for (num_landmarks, penalty), taus in final_taus(penalty_sweep / "outputs").items():
        rows = (written["landmarks.num_landmarks"] == num_landmarks) & (written["regularizer.penalty"] == penalty)
        assert sorted(written.loc[rows, "kendall_tau"]) == pytest.approx(sorted(taus))


def test_bookkeeping_keys_do_not_split_repeats(tmp_path):
    """Where a run was resumed from, its device, its image cache and its checkpoint frequency leave results alone."""
    write_run(tmp_path / "a", 0, 0.1, device="cpu", resume=None, data={"cache_dir": None},
              trainer={"epochs": 8, "checkpoint_every_steps": None})
    write_run(tmp_path / "b", 1, 0.3, device="cuda", resume="outputs/x", data={"cache_dir": "/scratch"},
              trainer={"epochs": 8, "checkpoint_every_steps": 20})
    write_run(tmp_path / "c", 2, 0.5, trainer={"epochs": 9, "checkpoint_every_steps": 20})
    runs = collect_runs(tmp_path)
    assert runs.keys == ["trainer.epochs"]
    assert summarise(runs).set_index("trainer.epochs")["n"].to_dict() == {8: 2, 9: 1}


def test_runs_on_one_archive_spelled_two_ways_are_one_configuration_but_two_archives_are_not(tmp_path):
    """data.root is the file it named where each run was launched (.hydra/hydra.yaml): a relative path and an
    absolute one to the same archive are repeats; another archive, even of the same name, stays a key."""
    archive = tmp_path / "shared/cifar10.tar.gz"
    write_run(tmp_path / "runs/a", 0, 0.1, data={"root": str(archive)})
    write_run(tmp_path / "runs/b", 1, 0.3, data={"root": "../shared/cifar10.tar.gz"})
    (tmp_path / "runs/b/.hydra").mkdir()
    OmegaConf.save(OmegaConf.create({"hydra": {"runtime": {"cwd": str(tmp_path / "checkout")}}}),
                   tmp_path / "runs/b/.hydra/hydra.yaml")
    assert collect_runs(tmp_path / "runs").keys == []
    write_run(tmp_path / "runs/c", 2, 0.5, data={"root": str(tmp_path / "elsewhere/cifar10.tar.gz")})
    runs = collect_runs(tmp_path / "runs")
    assert runs.keys == ["data.root"]
    assert summarise(runs).set_index("data.root")["n"].to_dict() == {str(archive): 2,
                                                                      str(tmp_path / "elsewhere/cifar10.tar.gz"): 1}


def test_a_corrupt_metrics_file_is_named_and_the_other_runs_are_reported(tmp_path):
    write_run(tmp_path / "good", 0, 0.1)
    write_run(tmp_path / "bad", 1, 0.3)
    corrupt = tmp_path / "bad" / "metrics.json"
    corrupt.write_text("{oops")
    runs = collect_runs(tmp_path)
    assert list(runs.table["kendall_tau"]) == [0.1]
    assert [entry.status for entry in runs.left_out] == ["unreadable"]
    assert runs.left_out[0].why.startswith(f"{corrupt}: not valid JSON")
    result = lrnas("report", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0.100" in result.stdout and f"{corrupt}: not valid JSON" in result.stderr


def test_report_folder_recomputes_from_the_runs_of_a_real_sweep(penalty_sweep):
    """`lrnas report --out` on the `lrnas train -m` folders: the table's numbers are the seeds' own, and every
    landmark run recorded its landmarks' super-net accuracies, from which its landmark tau follows."""
    result = lrnas("report", "outputs", "--out", "report", cwd=penalty_sweep)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(penalty_sweep / "report/report.csv")
    taus = final_taus(penalty_sweep / "outputs")
    assert len(summary) == len(taus) == 3
    for (num_landmarks, penalty), seeds in taus.items():
        row = summary[summary["method"] == f"spos + {num_landmarks} random landmarks, regularizer.penalty={penalty}"]
        assert row["n"].item() == 2 and row["kendall_tau_mean"].item() == pytest.approx(sum(seeds) / 2)
        assert row["kendall_tau_ci_low"].isna().item()  # two seeds: no interval (t(.975, 1) = 12.7 spans [-1, 1])
    report = (penalty_sweep / "report/report.md").read_text()
    assert "| spos + 4 random landmarks, regularizer.penalty=hinge | 2 |" in report
    defined = 0
    for metrics in penalty_sweep.glob("outputs/*/*/metrics.json"):
        final = json.loads(metrics.read_text())["final"]
        scores = pd.read_csv(metrics.parent / "landmark_scores.csv")
        landmarks = pd.read_csv(metrics.parent / "landmarks.csv")
        assert list(scores["arch"]) == list(landmarks["arch"])  # one evaluation (epoch 1), every landmark once
        assert list(scores["ground_truth"]) == pytest.approx(list(landmarks["accuracy"]))
        tau = kendalltau(scores["supernet_acc"], scores["ground_truth"]).statistic
        if final["landmark_kendall_tau"] is None:  # all landmarks tied: undefined, reported as such
            assert math.isnan(tau) and scores["supernet_acc"].nunique() == 1
        else:
            assert tau == pytest.approx(final["landmark_kendall_tau"])
            defined += 1
    assert defined >= 3


def test_running_a_finished_sweep_again_changes_nothing(penalty_sweep):
    """Also when a finished run's checkpoint is gone (its result files copied back from a commit)."""
    folders = sorted(penalty_sweep.glob("outputs/b/*/metrics.json"))
    before = [path.read_bytes() for path in folders]
    (folders[0].parent / "checkpoint.pt").unlink()
    result = lrnas(*SWEEP, "regularizer.penalty=hinge", "landmarks.num_landmarks=3", "hydra.sweep.dir=outputs/b",
                   cwd=penalty_sweep)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("is finished (its metrics.json holds the final results); nothing to do") == 2
    assert [path.read_bytes() for path in folders] == before


def test_pooled_tau_is_recomputed_from_the_runs_archs_csv(penalty_sweep, monkeypatch, tmp_path):
    """The authors' pooled column from `lrnas train -m` folders: every seed's final archs.csv pooled, each arch's
    super-net accuracies averaged, one tau-b against ground truth. Smoke runs score about 10%, below the authors' 15%
    rule, so the report lists every one as dropped; with the rule set to 0 the pooling itself is checked."""
    runs = collect_runs(penalty_sweep / "outputs")
    assert (runs.table["mean_supernet_accuracy"] < 15).all()
    write_report(runs, tmp_path, "lrnas report outputs")
    report = (tmp_path / "report.md").read_text()
    assert all(f"- {run} (seed {seed}: mean super-net acc" in report for run, seed in runs.table[["run", "seed"]]
               .itertuples(index=False))
    monkeypatch.setattr(statistics, "AUTHORS_MIN_RUN_ACCURACY", 0.0)
    summary = paper_summary(runs).set_index("method")
    for num_landmarks, penalty in CONFIGURATIONS:
        folders = [Path(run) for run, n, p in zip(runs.table["run"], runs.configs["landmarks.num_landmarks"],
                                                   runs.configs["regularizer.penalty"], strict=True)
                   if (n, p) == (num_landmarks, penalty)]
        scores = pd.concat(pd.read_csv(folder / "archs.csv") for folder in folders)
        pooled = scores.groupby("arch").agg(acc=("supernet_acc_epoch1", "mean"), truth=("ground_truth", "first"))
        row = summary.loc[f"spos + {num_landmarks} random landmarks, regularizer.penalty={penalty}"]
        assert len(folders) == 2 and row["pooled_runs"] == 2 and row["pooled_archs"] == len(pooled)
        assert row["pooled_kendall_tau"] == pytest.approx(kendalltau(pooled["acc"], pooled["truth"]).statistic)
