"""Every paper-table and ablation make target runs sweeps that validate, with each launcher."""
import os
import re
import shlex
import subprocess

import pytest
from conftest import ROOT
from lrnas.conf import CONFIG_DIR
from omegaconf import OmegaConf

from lrnas.validation import preflight

PAPER = ["table-nb201", "table-nb101", "ablation-landmarks", "ablation-lambda", "ablation-schedule", "ablation-penalty",
         "ablation-selection", "ablation-pairs", "budget-nb201"]
TARGETS = PAPER + [f"{target}-cpu" for target in PAPER]  # each paper-scale target has a CPU twin
# The CPU table is a view of the budget study's 40-epoch runs (test_cpu_table_runs_are_budget_study_runs).
SHARES_RUNS = {"table-nb201-cpu": "budget-nb201-cpu"}


def make(*args) -> subprocess.CompletedProcess:
    """``make ARGS`` as a user types it, also when the tests themselves run under `make test` (no inherited flags,
    no "Entering directory" lines)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def planned(*args) -> subprocess.CompletedProcess:
    return make("-n", *args)


# Every target with the default launcher, and the other launchers on one target (the launcher part is shared).
@pytest.mark.parametrize(("target", "launcher"), [(target, "basic") for target in TARGETS]
                         + [("ablation-penalty", "joblib"), ("ablation-penalty", "slurm")])
def test_every_target_runs_sweeps_that_validate_and_reports_them(target, launcher):
    result = planned(target, f"LAUNCHER={launcher}", "DATA=/data/cifar10")
    assert result.returncode == 0, result.stderr
    commands = [shlex.split(line) for line in result.stdout.splitlines()]
    trains = [command[2:] for command in commands if command[:2] == [".venv/bin/lrnas", "train"]]
    assert trains and all(command[0] == "-m" and "data.root=/data/cifar10" in command for command in trains)
    for command in trains:
        assert preflight([o for o in command if not o.startswith("data.root=")]) > 0
        assert ("hydra/launcher=lrnas_slurm" in command) == (launcher == "slurm")
        assert ("hydra/launcher=lrnas_joblib" in command) == (launcher == "joblib")
    sweep_dirs = [option.split("=", 1)[1] for command in trains for option in command
                  if option.startswith("hydra.sweep.dir=")]
    reports = [command for command in commands if command[:2] == [".venv/bin/lrnas", "report"]]
    if target in SHARES_RUNS:  # it reports its own runs among the study's: the run folders its sweep names
        (sweep_dir,) = sweep_dirs
        assert reports[0][-2:] == ["--out", f"docs/results/{target}"] and len(reports) == 1
        assert reports[0][-4:-2] == ["--proxies", "synflow,naswot,jacob_cov"]  # free rankings on the runs' sample
        assert reports[0][2:-4] == [f"{sweep_dir}/experiment=cpu,seed=*",
                                    f"{sweep_dir}/experiment=cpu_landmark_cosine,seed=*"]
        return
    assert reports == [[".venv/bin/lrnas", "report", *sweep_dirs, "--out", f"docs/results/{target}"]]
    assert len(set(sweep_dirs)) == len(sweep_dirs)  # a twin never shares its runs with the paper-scale target


def test_an_unknown_launcher_is_one_line():
    result = planned("table-nb201", "LAUNCHER=pbs")
    assert result.returncode != 0
    assert "LAUNCHER=pbs is not a launcher; valid: basic, joblib, slurm" in result.stderr


def test_dry_prints_the_slurm_launcher_a_table_would_use():
    result = make("table-nb201", "LAUNCHER=slurm", "DRY=1", "SLURM_PARTITION=q6", "SLURM_ACCOUNT=nas")
    assert result.returncode == 0, result.stderr
    for line in ["_target_: hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "partition: q6",
                 "account: nas", "gpus_per_node: 1", "timeout_min: 2880", "max_num_timeout: 10"]:
        assert f"    {line}\n" in result.stdout, line


def test_make_help_lists_every_target_and_no_two_targets_share_runs():
    help_lines = {line.split("\033[0m")[0].split("\033[36m")[-1].strip(): line
                  for line in make("help").stdout.splitlines()}
    assert set(TARGETS) <= set(help_lines)
    for target in TARGETS:  # each CPU twin states its runtime: measured here, or estimated where not (fully) run
        assert target.endswith("-cpu") == bool(re.search(r"measured \d+ min|(not|partly) run: .*estimated",
                                                         help_lines[target]))
    sweep_dirs = [option for target in TARGETS if target not in SHARES_RUNS for option in planned(target).stdout.split()
                  if option.startswith("hydra.sweep.dir=")]
    assert len(set(sweep_dirs)) == len(sweep_dirs)


def test_cpu_table_runs_are_budget_study_runs():
    """table-nb201-cpu sweeps into the budget study's 40-epoch folder with the same folder names, and each of its jobs
    is one of the study's: a finished run is never redone, and no run of another config lands among the study's."""
    table, budget = (OmegaConf.load(CONFIG_DIR / "sweep" / f"{name}.yaml").hydra
                     for name in ("table_nb201_cpu", "budget_nb201_cpu"))
    assert OmegaConf.to_container(table.sweep) == OmegaConf.to_container(budget.sweep)  # subdir: the overrides
    assert table.job.config.override_dirname == budget.job.config.override_dirname
    (table_train,) = [line.split() for line in planned("table-nb201-cpu").stdout.splitlines() if " train " in line]
    budget_40 = [line.split() for line in planned("budget-nb201-cpu").stdout.splitlines()
                 if "trainer.epochs=40" in line]
    assert [o for o in table_train if o.startswith("hydra.sweep.dir=")] == [
        o for o in budget_40[0] if o.startswith("hydra.sweep.dir=")]
    budget_params = {**budget.sweeper.params, "trainer.epochs": 40}
    assert set(table.sweeper.params) == set(budget_params)
    for key, values in table.sweeper.params.items():
        assert set(str(values).split(",")) <= set(str(budget_params[key]).split(",")), key


def test_landmark_targets_build_the_files_their_sweep_reads(tmp_path, monkeypatch):
    """landmark-fidelity-cpu runs proxy-landmarks-cpu first, then builds its own file; every landmark file (table
    lookups, and synflow on synthetic images here) holds the same 30 archs, and every sweep then validates.
    landmarks-nb201-cpu gives one job per architecture with a launcher."""
    proxy_plan = planned("proxy-landmarks-cpu").stdout.splitlines()
    plan = planned("landmark-fidelity-cpu").stdout.splitlines()
    assert plan[:len(proxy_plan)] == proxy_plan  # its ground-truth, synflow and plain rows are the proxy study's runs
    commands = [shlex.split(line) for line in plan]
    builds = [command for command in commands if command[1:3] == ["landmarks", "build"]]
    assert [command[-1] for command in builds] == [
        "standalone.column=cifar10_test", "standalone=proxy", "standalone=benchmark"]
    for command in builds:  # the proxy build scores networks on a minibatch: synthetic images here
        synthetic = ["data.synthetic={train:256,test:64}"] * (command[-1] == "standalone=proxy")
        subprocess.run([str(ROOT / command[0]), *command[1:], *synthetic], cwd=tmp_path, check=True,
                       capture_output=True)
    trains = [command[2:] for command in commands if command[1] == "train"]
    monkeypatch.chdir(tmp_path)
    # 2 landmark files x 3 seeds; no landmarks x 3 seeds; the 12-epoch file x 3 seeds
    assert [preflight(train) for train in trains] == [6, 3, 3]
    files = sorted(tmp_path.glob("outputs/landmarks/*/landmarks.csv"))
    assert [path.parent.name for path in files] == ["nb201-random30-benchmark-cifar10_test-seed0",
                                                    "nb201-random30-benchmark-cifar10_test_12ep-seed0",
                                                    "nb201-random30-proxy-synflow-seed0"]
    same_archs = {tuple(sorted(row.split(",")[0] for row in path.read_text().splitlines()[1:])) for path in files}
    assert len(same_archs) == 1 and len(next(iter(same_archs))) == 30
    reports = [command for command in commands if command[1] == "report"]
    assert reports[-1][2:5] == ["outputs/sweeps/proxy_landmarks_plain_cpu", "outputs/sweeps/proxy_landmarks_cpu",
                                "outputs/sweeps/landmark_fidelity_cpu"]
    swept = planned("landmarks-nb201-cpu", "LAUNCHER=joblib").stdout.splitlines()[0]
    assert "-m 'build.only=range(30)' hydra/launcher=lrnas_joblib" in swept


@pytest.mark.parametrize(("target", "sweep"), [("ablation-distance", "ablation_distance"),
                                               ("ablation-roots", "ablation_roots")])
def test_warm_started_studies_train_their_warm_up_first_and_start_each_seed_from_it(target, sweep):
    """The authors' distance and landmark-count studies: 150 plain epochs on a 200-epoch cosine, then each job
    continues its own seed's warm-up (trainer.init_from) with λ ramping from epoch 150 to 0.146 λ."""
    from conftest import compose_config

    from lrnas.landmarks.regularizer import lambda_at

    trains = [shlex.split(line)[2:] for line in planned(target, "DATA=/data/cifar10").stdout.splitlines()
              if " train " in line]
    assert [next(o for o in command if o.startswith("+sweep=")) for command in trains] == [
        "+sweep=warm_start_nb201", f"+sweep={sweep}"]
    warm_up_dir = next(o for o in trains[0] if o.startswith("hydra.sweep.dir=")).split("=", 1)[1]
    assert preflight([o for o in trains[0] if not o.startswith("data.root=")]) == 2
    warm_up = compose_config("+sweep=warm_start_nb201", "experiment=paper_nb201_spos", "seed=1", hydra=True)
    assert (warm_up.trainer.epochs, warm_up.trainer.schedule_epochs) == (150, 200)
    assert warm_up.hydra.sweep.subdir == "seed1"
    job = compose_config(f"+sweep={sweep}", "experiment=paper_nb201_spos_landmark", "landmarks=hamming", "seed=1",
                         "landmarks.num_roots=20" if sweep == "ablation_roots" else "landmarks.distance=3")
    assert job.trainer.init_from == f"{warm_up_dir}/seed1" and job.trainer.epochs == 200
    assert (job.trainer.lr_step, job.trainer.schedule_epochs) == ("epoch", None)  # the warm-up's cosine goes on
    regularizer = job.regularizer
    peak = lambda_at(regularizer.schedule, job.trainer.epochs - 1, job.trainer.epochs, regularizer.warmup_epochs)
    assert peak / regularizer.lam == pytest.approx(0.146, abs=1e-3)
    if sweep == "ablation_roots":  # each root brings 9 neighbours at distance > 5
        assert (job.landmarks.num_landmarks, job.landmarks.distance) == (200, 5)
    else:
        assert (job.landmarks.num_landmarks, job.landmarks.num_roots, job.landmarks.distance) == (30, 1, 3)
