"""End-to-end: the real `lrnas train` command on tiny synthetic data in the official on-disk format."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import compose_config
from scipy import stats

from lrnas.spaces.nb201.benchmark import load_nb201


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
    """conf/sweep/smoke.yaml's hydra.sweeper.params (experiment=smoke, seed=0,1) expand into its two jobs."""
    sweep = ["-m", "+sweep=smoke", "trainer.epochs=1"]
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


SCORED_RUN = ["experiment=smoke", "trainer.epochs=1", "eval.at_epochs=[]", "search.candidates=4", "search.top_k=2"]
LANDMARKS = ["landmarks=random", "landmarks.num_landmarks=8", "regularizer=landmark", "regularizer.warmup_epochs=0"]


def composed(*overrides):
    return compose_config("device=cpu", *overrides)


@pytest.fixture(scope="module")
def plain_and_landmark_runs(tmp_path_factory):
    """One plain and one landmark run with the same seed, shared by the recomputation tests below. They call
    lrnas.train.train, what `lrnas train` runs inside Hydra, in this process: two subprocesses cost ~15 s more."""
    from lrnas.train import train

    runs, threads = {}, torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LRNAS_CACHE", str(tmp_path_factory.mktemp("cache")))
        torch.set_num_threads(1)  # C=4 tensors: one thread is fastest, and far faster on a busy machine
        try:
            for name, extra in (("plain", []), ("landmark", LANDMARKS)):
                runs[name] = tmp_path_factory.mktemp(name)
                train(composed(*SCORED_RUN, *extra), runs[name])
        finally:
            torch.set_num_threads(threads)
    return runs


@pytest.mark.parametrize("name", ["plain", "landmark"])
def test_final_taus_equal_scipy_recomputed_from_archs_csv(plain_and_landmark_runs, name):
    """metrics.json's tau and its param-count baseline are tau-b over exactly the archs in archs.csv."""
    run = plain_and_landmark_runs[name]
    metrics = json.loads((run / "metrics.json").read_text())
    final, archs = metrics["final"], pd.read_csv(run / "archs.csv")
    last = f"supernet_acc_epoch{final['epoch']}"
    assert final["epoch"] == 1 and last in archs.columns
    tau = stats.kendalltau(archs[last], archs["ground_truth"], variant="b").statistic
    baseline = stats.kendalltau(archs["params_m"], archs["ground_truth"], variant="b").statistic
    assert final["kendall_tau"] == pytest.approx(tau, abs=1e-12)
    assert final["param_count_kendall_tau"] == pytest.approx(baseline, abs=1e-12)
    assert final["mean_supernet_accuracy"] == pytest.approx(archs[last].mean(), abs=1e-9)
    # The sample is the configured size with landmarks on too (landmarks are excluded, never subtracted from it).
    assert final["sample_size"] == len(archs) == metrics["eval_sample"]["num_archs"] == 20 and archs["arch"].is_unique
    bench = load_nb201()
    assert archs["ground_truth"].tolist() == bench.accuracies(archs["arch"], "cifar10_test").tolist()
    assert archs["params_m"].tolist() == bench.params(archs["arch"]).tolist()
    # The authors' sparse tau (bins of 1% of ground truth) and P>random (rank among all 15,625 cells), recomputed.
    bins = archs["ground_truth"].to_numpy() // 1  # 1e-2 bins of accuracies in [0, 1] are whole percents
    sparse = stats.kendalltau(np.sort(bins), bins[np.argsort(archs[last].to_numpy(), kind="stable")]).statistic
    assert final["sparse_kendall_tau"] == pytest.approx(sparse, abs=1e-12)
    best = archs.sort_values(last, ascending=False, kind="stable")["ground_truth"].iloc[:10].max()
    every_cell = bench.accuracies(bench.archs, "cifar10_test")
    assert metrics["eval_sample"]["pool_size"] == len(every_cell) == 15_625
    assert final["p_surpass_random_top10"] == pytest.approx(((every_cell < best).sum() / 15_625) ** 10, abs=1e-12)


def test_landmark_run_scores_the_plain_runs_archs_and_no_landmark(plain_and_landmark_runs):
    """README: runs with and without landmarks (same seed) are scored on the same architectures."""
    plain = pd.read_csv(plain_and_landmark_runs["plain"] / "archs.csv")
    landmark_run = plain_and_landmark_runs["landmark"]
    scored = pd.read_csv(landmark_run / "archs.csv")
    landmarks = pd.read_csv(landmark_run / "landmarks.csv")
    assert len(landmarks) == 8 and not set(landmarks["arch"]) & set(scored["arch"])
    assert scored["arch"].tolist() == plain["arch"].tolist()
    assert scored["ground_truth"].tolist() == plain["ground_truth"].tolist()
    metrics = json.loads((landmark_run / "metrics.json").read_text())
    assert metrics["eval_sample"]["excluded_landmarks"] == 8 and metrics["final"]["num_landmarks"] == 8


def test_landmarks_and_refinement_never_take_an_evaluated_arch_even_when_overlap_is_certain(tmp_path, isolated_cache):
    """15,000 of the 15,625 NB201 cells evaluated, 600 landmarks at fixed ranks, 25 cells left for refinement's 5
    candidates: without the exclusions (choose_landmarks' reserved sample with draw_eval_sample's landmarks, and
    refinement's taken set) ~576 landmarks and (all but 1e-14 of the time) a refinement query are evaluated archs."""
    from lrnas.evaluation.ranking import draw_eval_sample
    from lrnas.run.epoch import refine_round
    from lrnas.train import build_run
    from lrnas.validation import validate_config

    cfg = composed("experiment=smoke", "landmarks=fixed", "landmarks.num_landmarks=600", "eval.num_archs=15000",
                   "regularizer=landmark", "regularizer.warmup_epochs=0", "landmarks.refine.rounds=1",
                   "landmarks.refine.candidates=5", "landmarks.refine.add_top=5", "landmarks.refine.num_images=32")
    validate_config(cfg)  # a valid config: 15,625 - 600 landmarks - 15,000 evaluated leaves 25 for refinement
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = build_run(cfg, tmp_path, torch.device("cpu"))
        evaluated, landmarks = set(run.sample.archs), {lm.arch for lm in run.landmarks}
        queries = refine_round(1, run, cfg.landmarks.refine)
    finally:
        torch.set_num_threads(threads)
    assert len(evaluated) == 15000 and len(landmarks) == 600 and not evaluated & landmarks
    plain = draw_eval_sample(run.benchmark, 15000, cfg.eval.sample_seed, set(), cfg.space.ground_truth)
    assert run.sample.archs == plain.archs  # landmarks come from outside the plain sample, which stays unchanged
    # draw_eval_sample's own exclusion, for landmarks that overlap the plain sample (e.g. landmarks=file)
    overlapping = set(plain.archs[:600])
    drawn = draw_eval_sample(run.benchmark, 15000, cfg.eval.sample_seed, overlapping, cfg.space.ground_truth).archs
    assert len(set(drawn)) == 15000 and not set(drawn) & overlapping and drawn[:14400] == plain.archs[600:]
    queried = {query["arch"] for query in queries}
    assert len(queried) == 5 and not queried & evaluated and not queried & landmarks
    assert {lm.arch for lm in run.regularizer.landmarks} == landmarks | queried
    assert len(evaluated | landmarks | queried) == 15605  # each arch in exactly one role
