"""A run killed at any moment resumes exactly; a run folder never loses results to another run."""
import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from lrnas.records import atomic_write
from lrnas.resume import config_diff

# 16 steps per epoch, checkpoints after every step: a kill lands mid-epoch. The regularizer is active from the start
# and a refinement round (after epoch 2) grows the landmark set, so their RNG streams and state must survive too.
ARGS = ["experiment=smoke", "data.synthetic.train=1024", "trainer.epochs=3", "trainer.checkpoint_every_steps=1",
        "landmarks=random", "landmarks.num_landmarks=6", "regularizer=landmark", "regularizer.warmup_epochs=0",
        "landmarks.refine.rounds=1", "landmarks.refine.candidates=10", "landmarks.refine.add_top=2"]
KILL_EPOCH = 3


def command(*args):
    return [sys.executable, "-m", "lrnas.cli", "train", *args]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("resume")


@pytest.fixture(scope="module")
def env(workdir):
    import os

    return {**os.environ, "LRNAS_CACHE": str(workdir / "cache")}


@pytest.fixture(scope="module")
def uninterrupted(workdir, env):
    result = subprocess.run(command(*ARGS, "hydra.run.dir=reference"), cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return comparable(workdir / "reference")


def comparable(run_dir):
    """Everything a run reports except wall-clock time."""
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in history]


def kill_mid_epoch(workdir, env, name, signum, args=ARGS):
    proc = subprocess.Popen(command(*args, f"hydra.run.dir={name}"), cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = workdir / name / "checkpoint.pt"
    deadline = time.time() + 300
    while time.time() < deadline:
        if checkpoint.exists():
            progress = torch.load(checkpoint, weights_only=False)["epoch_progress"]
            if progress and progress["epoch"] == KILL_EPOCH and progress["step"] >= 3:
                break
        time.sleep(0.02)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_killed_run_resumes_to_the_uninterrupted_metrics(workdir, env, uninterrupted, signum):
    name = f"killed-{signum}"
    returncode, stderr = kill_mid_epoch(workdir, env, name, signum)
    if signum == signal.SIGTERM:  # Slurm pre-emption: finish the step, checkpoint, say how to resume
        assert returncode == 128 + signal.SIGTERM
        assert f"Resume with: lrnas train resume={workdir / name}" in stderr
    else:
        assert returncode == -signal.SIGKILL
    assert len(comparable(workdir / name)) == KILL_EPOCH - 1  # killed inside the last epoch
    resumed = subprocess.run(command(f"resume={workdir / name}"), cwd=workdir, env=env, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"from its checkpoint at epoch {KILL_EPOCH}, step" in resumed.stderr
    assert comparable(workdir / name) == uninterrupted


# PC-DARTS has the most state (alpha, beta, their Adam moments, the warm-up, channel draws); FairNAS on NB101 covers
# the other space and a multi-path step. GDAS's extra state (Gumbel draws) uses the same generator checkpointing.
@pytest.mark.parametrize("algorithm", ["pcdarts", "fairnas space=nb101"])
def test_other_algorithms_and_spaces_resume_exactly(workdir, env, algorithm):
    """Architecture parameters, their optimizer, the algorithm's draws and the NB101 path survive a kill."""
    name, *space = algorithm.split()
    args = [*ARGS[:-3], f"algorithm={name}", *space, "data.synthetic.train=512"]  # no refinement; 8 steps per epoch
    algorithm = algorithm.replace(" ", "-").replace("=", "-")
    reference = subprocess.run(command(*args, f"hydra.run.dir=ref-{algorithm}"), cwd=workdir, env=env,
                               capture_output=True, text=True, timeout=600)
    assert reference.returncode == 0, reference.stderr[-3000:]
    name = f"killed-{algorithm}"
    returncode, _ = kill_mid_epoch(workdir, env, name, signal.SIGTERM, args)
    assert returncode == 128 + signal.SIGTERM
    resumed = subprocess.run(command(f"resume={workdir / name}"), cwd=workdir, env=env, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = comparable(workdir / name)
    assert final == comparable(workdir / f"ref-{algorithm}")
    search = json.loads((workdir / name / "metrics.json").read_text())["search"]
    assert search == json.loads((workdir / f"ref-{algorithm}" / "metrics.json").read_text())["search"]


def test_changed_config_is_refused_with_the_changed_keys(workdir, env, uninterrupted):
    result = subprocess.run(command(*ARGS, "hydra.run.dir=reference", "trainer.lr=0.1"), cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "refusing to resume or overwrite it. Changed keys: trainer.lr: 0.025 -> 0.1" in result.stderr
    assert comparable(workdir / "reference") == uninterrupted  # nothing was overwritten


def test_atomic_write_keeps_the_last_good_file_when_writing_fails(tmp_path):
    target = tmp_path / "checkpoint.pt"
    atomic_write(target, lambda tmp: tmp.write_text("good"))

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, broken)
    assert target.read_text() == "good" and [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_config_diff_names_every_changed_leaf():
    old = {"trainer": {"lr": 0.025, "epochs": 8}, "seed": 0}
    new = {"trainer": {"lr": 0.1, "epochs": 8}, "seed": 0, "extra": 1}
    assert config_diff(old, new) == ["extra: '<absent>' -> 1", "trainer.lr: 0.025 -> 0.1"]
