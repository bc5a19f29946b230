"""End-to-end: the real `lrnas train` command on tiny synthetic data in the official on-disk format."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from lrnas.benchmarks import load_nb201


def lrnas(*args, cwd, cache):
    env = {**os.environ, "LRNAS_CACHE": str(cache), "HYDRA_FULL_ERROR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lrnas.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def run_folders(root):
    return sorted(p.parent for p in root.glob("outputs/**/metrics.json"))


def test_smoke_run_writes_every_record(tmp_path):
    result = lrnas("train", "experiment=smoke", cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_folders(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    final = metrics["final"]
    assert final["epoch"] == 2 and final["sample_size"] == 20
    assert -1 <= final["kendall_tau"] <= 1 and -1 <= final["param_count_kendall_tau"] <= 1
    assert metrics["eval_sample"]["excluded_landmarks"] == 0 and metrics["eval_sample"]["num_archs"] == 20
    assert [row["epoch"] for row in metrics["history"] if "kendall_tau" in row] == [1, 2]
    archs = pd.read_csv(run / "archs.csv")
    assert len(archs) == 20 and {"arch", "ground_truth", "params_m", "supernet_acc_epoch2"} <= set(archs.columns)
    assert archs["supernet_acc_epoch2"].between(0, 100).all()
    info = json.loads((run / "run_info.json").read_text())
    assert info["seed"] == 0 and info["git_revision"]
    assert (run / "config.yaml").is_file() and (run / "checkpoint.pt").is_file()
    log = (run / "train.log").read_text()
    assert "held-out Kendall tau" in log and "param-count baseline" in log and "on 20 non-landmark archs" in log
    # The search phase: 20 evolution candidates scored by the super-net, the fittest reported with its ground truth.
    search, candidates = metrics["search"], pd.read_csv(run / "search.csv")
    assert len(candidates) == 20 and candidates["arch"].is_unique
    best = candidates.sort_values("supernet_fitness", ascending=False, kind="stable").iloc[0]
    assert search["arch"] == best["arch"] and search["ground_truth"] == best["ground_truth"]
    assert search["ground_truth"] == load_nb201().query(search["arch"])["cifar10_test"]
    assert search["top5_mean_ground_truth"] == pytest.approx(
        candidates.nlargest(5, "supernet_fitness", keep="first")["ground_truth"].mean())
    assert 0 < search["percentile"] <= 100 and "search (evolution search over 20 candidates): chose" in log


def test_differentiable_run_reports_its_argmax_architecture(tmp_path):
    result = lrnas("train", "experiment=smoke", "algorithm=gdas", cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_folders(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["search"]["arch"] == metrics["history"][-1]["argmax_arch"]
    assert metrics["history"][-1]["gumbel_tau"] == pytest.approx(0.1)  # annealed 10 -> 0.1 over the run
    probabilities = pd.read_csv(run / "search.csv")["probability"]
    assert len(probabilities) == 5 and probabilities.is_monotonic_decreasing


def test_multirun_sweep_makes_one_folder_per_seed(tmp_path):
    sweep = ["-m", "experiment=smoke", "seed=0,1", "trainer.epochs=1"]
    result = lrnas("train", *sweep, cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr[-3000:]
    runs = run_folders(tmp_path)
    assert len(runs) == 2
    seeds = sorted(json.loads((run / "run_info.json").read_text())["seed"] for run in runs)
    assert seeds == [0, 1]


def test_bad_data_root_is_one_line_error_with_exit_code_2(tmp_path):
    result = lrnas("train", "data.root=/no/such/cifar", cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "/no/such/cifar" in result.stderr + result.stdout


def test_help_lists_train_and_train_help_is_hydras(tmp_path):
    result = lrnas("--help", cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 0 and "train" in result.stdout
    hydra_help = lrnas("train", "--help", cwd=tmp_path, cache=tmp_path / "cache")
    assert hydra_help.returncode == 0 and "experiment" in hydra_help.stdout


def test_landmark_run_excludes_landmarks_and_logs_the_regularizer(tmp_path):
    overrides = ["experiment=smoke", "landmarks=random", "landmarks.num_landmarks=8", "regularizer=landmark",
                 "regularizer.warmup_epochs=1", "landmarks.refine.rounds=1", "landmarks.refine.candidates=10",
                 "landmarks.refine.add_top=2", "trainer.epochs=2", "eval.at_epochs=[]"]
    result = lrnas("train", *overrides, cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_folders(tmp_path)
    landmarks = pd.read_csv(run / "landmarks.csv")
    queries = pd.read_csv(run / "oracle_queries.csv")
    evaluated = set(pd.read_csv(run / "archs.csv")["arch"])
    assert len(landmarks) == 10 and landmarks["accuracy"].is_monotonic_increasing  # 8 + 2 from refinement
    assert len(queries) == 2 and set(queries["arch"]) <= set(landmarks["arch"])
    assert not evaluated & set(landmarks["arch"])
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert history[0]["landmark_lambda"] == 0.0  # warm-up
    assert history[1]["landmark_lambda"] > 0 and 0 <= history[1]["landmark_violation_rate"] <= 1
    assert history[1]["num_landmarks"] == 10 and -1 <= history[1]["landmark_kendall_tau"] <= 1


def test_regularizer_without_landmarks_is_one_line_error(tmp_path):
    result = lrnas("train", "experiment=smoke", "regularizer=landmark", cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert "regularizer.name='landmark' needs landmarks" in result.stderr + result.stdout
