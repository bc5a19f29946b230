"""Sweeps run through Hydra's launchers: every launcher preset composes, and a submitit job stopped by SIGTERM (what a
Slurm pre-emption sends) resumes in its folder to exactly the results of an uninterrupted job."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import compose_config

from lrnas.validation import CONFIG_DIR

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install 'lrnas[slurm]'")
pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'lrnas[joblib]'")

LAUNCHERS = sorted(p.stem for p in (CONFIG_DIR / "hydra" / "launcher").glob("*.yaml"))


def test_the_launcher_presets_are_listed():
    assert LAUNCHERS == ["lrnas_joblib", "lrnas_slurm"]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_every_launcher_preset_composes(launcher):
    cfg = compose_config("+sweep=smoke", f"hydra/launcher={launcher}", hydra=True)
    settings = cfg.hydra.launcher
    if launcher == "lrnas_slurm":
        assert settings._target_.endswith("SlurmLauncher")
        assert (settings.gpus_per_node, settings.timeout_min, settings.max_num_timeout) == (1, 2880, 10)
    else:
        assert settings._target_.endswith("JoblibLauncher") and settings.n_jobs == 2


def lrnas(*args, cwd, **popen):
    env = {**os.environ, "LRNAS_CACHE": str(cwd / "cache")}
    return subprocess.Popen([sys.executable, "-m", "lrnas.cli", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


# Two jobs that must give the same results: one seed; the checkpoint frequency, all that differs, changes no result.
# 16 steps and a checkpoint after each (job 0), so a SIGTERM sent at its first checkpoint lands mid-run.
# experiment=smoke repeats the sweep file's value: Hydra composes the command line before it expands the sweep, and
# the data.synthetic key needs the preset.
SWEEP = ["train", "-m", "+sweep=smoke", "experiment=smoke", "seed=0", "trainer.checkpoint_every_steps=1,2",
         "hydra/launcher=submitit_local", "hydra.sweep.dir=sweep", "trainer.epochs=1", "data.synthetic.train=1024",
         "search.candidates=5"]


def results(run_dir) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    final = {k: v for k, v in metrics["final"].items() if k not in ("elapsed_s", "eval_s")}  # wall-clock times
    return {"final": final, "search": metrics["search"], "archs": (run_dir / "archs.csv").read_text()}


def job_pid(sweep, run_dir) -> int | None:
    """submitit's local job id is the job's pid; its log names the job's run folder."""
    for folder in (sweep / ".submitit").glob("[0-9]*"):
        if any(f"run folder {run_dir}" in log.read_text() for log in folder.glob("*_log.err")):
            return int(folder.name)
    return None


@pytest.mark.slow
def test_a_submitit_job_stopped_by_sigterm_resumes_to_the_uninterrupted_results(tmp_path):
    sweep, stopped, uninterrupted = tmp_path / "sweep", tmp_path / "sweep" / "0", tmp_path / "sweep" / "1"
    running, deadline = lrnas(*SWEEP, cwd=tmp_path), time.time() + 300
    while not (stopped / "checkpoint.pt").exists() or job_pid(sweep, stopped) is None:
        assert time.time() < deadline and running.poll() is None, "job 0 never wrote a checkpoint"
        time.sleep(0.05)
    os.kill(job_pid(sweep, stopped), signal.SIGTERM)  # what Slurm sends a pre-empted job
    _, stderr = running.communicate(timeout=600)
    assert running.returncode != 0  # the sweep reports its stopped job
    log = (stopped / "train.log").read_text()
    assert "stopped by SIGTERM at epoch 1, step" in log and f"Resume with: lrnas train resume={stopped}" in log
    assert not (stopped / "metrics.json").exists()  # stopped inside its only epoch
    assert json.loads((uninterrupted / "metrics.json").read_text())["final"]  # the other job completed

    resumed = lrnas(*SWEEP, cwd=tmp_path)  # the same command again: each job continues in its folder
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr[-3000:]
    assert "from its checkpoint at epoch 1, step" in (stopped / "train.log").read_text()
    assert results(stopped) == results(uninterrupted)
