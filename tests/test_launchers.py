"""Sweeps run through Hydra's launchers: every launcher preset composes, and a submitit job stopped by SIGTERM (what a
Slurm pre-emption sends) resumes in its folder to exactly the results of an uninterrupted job."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hydra import compose, initialize_config_dir

from lrnas.validation import CONFIG_DIR

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install 'lrnas[slurm]'")
pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'lrnas[joblib]'")

LAUNCHERS = sorted(p.stem for p in (CONFIG_DIR / "hydra" / "launcher").glob("*.yaml"))


def test_the_launcher_presets_are_listed():
    assert LAUNCHERS == ["lrnas_joblib", "lrnas_slurm"]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_every_launcher_preset_composes(launcher):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+sweep=smoke", f"hydra/launcher={launcher}"],
                      return_hydra_config=True)
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


# 16 steps and a checkpoint after each, so a SIGTERM sent at the first checkpoint lands mid-run.
# experiment=smoke repeats the sweep file's value: Hydra composes the command line before it expands the sweep, and the
# data.synthetic key needs the preset.
SWEEP = ["train", "-m", "+sweep=smoke", "experiment=smoke", "hydra/launcher=submitit_local", "trainer.epochs=1",
         "data.synthetic.train=1024", "trainer.checkpoint_every_steps=1", "search.candidates=5"]


def results(run_dir) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"final": {k: v for k, v in metrics["final"].items() if k != "elapsed_s"}, "search": metrics["search"],
            "archs": (run_dir / "archs.csv").read_text()}


def test_a_submitit_job_stopped_by_sigterm_resumes_to_the_uninterrupted_results(tmp_path):
    reference = lrnas(*SWEEP, "hydra.sweep.dir=reference", cwd=tmp_path)
    _, stderr = reference.communicate(timeout=600)
    assert reference.returncode == 0, stderr[-3000:]

    stopped = lrnas(*SWEEP, "hydra.sweep.dir=stopped", cwd=tmp_path)
    jobs, deadline = tmp_path / "stopped" / ".submitit", time.time() + 300
    while not all((tmp_path / "stopped" / str(job) / "checkpoint.pt").exists() for job in (0, 1)):
        assert time.time() < deadline and stopped.poll() is None, "the jobs never wrote a checkpoint"
        time.sleep(0.05)
    for pid in [int(path.name) for path in jobs.iterdir() if path.name.isdigit()]:  # submitit's local job id is a pid
        os.kill(pid, signal.SIGTERM)
    _, stderr = stopped.communicate(timeout=600)
    assert stopped.returncode != 0  # the sweep reports its stopped jobs
    for job in (0, 1):
        log = (tmp_path / "stopped" / str(job) / "train.log").read_text()
        assert "stopped by SIGTERM at epoch" in log and "Resume with: lrnas train resume=" in log
        metrics = tmp_path / "stopped" / str(job) / "metrics.json"
        assert not metrics.exists() or json.loads(metrics.read_text())["final"] is None  # unfinished

    resumed = lrnas(*SWEEP, "hydra.sweep.dir=stopped", cwd=tmp_path)  # the same command again: each job resumes
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr[-3000:]
    for job in (0, 1):
        assert "from its checkpoint at epoch" in (tmp_path / "stopped" / str(job) / "train.log").read_text()
        assert results(tmp_path / "stopped" / str(job)) == results(tmp_path / "reference" / str(job))
