"""A run stopped at any point (SIGKILL, Slurm's SIGTERM, Ctrl-C) resumes to exactly the uninterrupted run's results;
a run folder never loses results to another run. tests/e2e/interrupt.py sends each signal at an exact point."""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from lrnas.records import atomic_write
from lrnas.resume import RunFolderConflict, config_diff, expand_resume, finished_without_checkpoint, previous_state

INTERRUPT = Path(__file__).with_name("interrupt.py")
# 8 steps per epoch; evaluation after epochs 1 and 3; the regularizer is active from the start and a refinement round
# after epoch 2 grows the landmark set, so their RNG streams and state must survive too.
ARGS = ["experiment=smoke", "data.synthetic.train=512", "trainer.epochs=3", "landmarks=random",
        "landmarks.num_landmarks=6", "regularizer=landmark", "regularizer.warmup_epochs=0", "landmarks.refine.rounds=1",
        "landmarks.refine.candidates=10", "landmarks.refine.add_top=2", "search.candidates=10"]
# Every file a finished run writes whose content is a result (train.log and run_info.json hold times and paths).
RESULTS = ["archs.csv", "landmarks.csv", "landmark_scores.csv", "oracle_queries.csv", "search.csv"]
TIMES = ("elapsed_s", "eval_s")  # wall-clock seconds in metrics.json: the only numbers a resumed run may change


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("resume")


def lrnas_train(workdir, *args, interrupt=None):
    """``lrnas train args``; ``interrupt=(signal, point)`` signals the run at that point (tests/e2e/interrupt.py)."""
    prefix = [str(INTERRUPT), interrupt[0].name, interrupt[1]] if interrupt else ["-m", "lrnas.cli", "train"]
    env = {**os.environ, "LRNAS_CACHE": str(workdir / "cache")}
    return subprocess.run([sys.executable, *prefix, *args], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=600)


def results(run_dir):
    """Everything a run reports except wall-clock time: its metrics and every result file."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["history"] = [{k: v for k, v in row.items() if k not in TIMES} for row in metrics["history"]]
    metrics["final"] = metrics["final"] and {k: v for k, v in metrics["final"].items() if k not in TIMES}
    return metrics, {name: (run_dir / name).read_text() for name in RESULTS if (run_dir / name).exists()}


def epochs_recorded(run_dir) -> int:
    metrics = run_dir / "metrics.json"
    return len(json.loads(metrics.read_text())["history"]) if metrics.exists() else 0


@pytest.fixture(scope="module")
def uninterrupted(workdir):
    result = lrnas_train(workdir, *ARGS, "hydra.run.dir=reference")
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(results(workdir / "reference")[1]) == set(RESULTS)
    return results(workdir / "reference")


def stop_and_resume(workdir, name, stops, args=ARGS):
    """Start a run, then stop it at each of ``stops`` and resume it. A stop is (signal, point, epochs recorded by
    then, where the stop message says it stopped, where the next process says it resumes from)."""
    run_dir = workdir / name
    command, resumes_from = [*args, f"hydra.run.dir={name}"], None
    for signum, point, epochs, stopped, checkpoint in [*stops, (None, None, None, None, None)]:
        result = lrnas_train(workdir, *command, interrupt=signum and (signum, point))
        if resumes_from:
            assert f"from its checkpoint at {resumes_from}\n" in result.stderr, (point, result.stderr[-3000:])
        if signum is None:
            assert result.returncode == 0, result.stderr[-3000:]
            return results(run_dir)
        expected = -signum if signum == signal.SIGKILL else 128 + signum
        assert result.returncode == expected, f"{point}: {result.stderr[-3000:]}"
        if signum != signal.SIGKILL:  # lrnas's own handler: the step is finished and checkpointed, the user told how
            assert f"stopped by {signum.name} {stopped}; checkpoint saved. Resume with: lrnas train resume={run_dir}" \
                in result.stderr, result.stderr[-3000:]
        assert epochs_recorded(run_dir) == epochs, point
        if epochs:  # unfinished: nothing a report would take for a result
            assert json.loads((run_dir / "metrics.json").read_text())["final"] is None
        command, resumes_from = [f"resume={run_dir}"], checkpoint


@pytest.mark.slow
def test_stopped_anywhere_a_run_resumes_to_the_uninterrupted_results(workdir, uninterrupted):
    """Pre-empted, killed or interrupted during training, evaluation, refinement and the search, with a mid-epoch
    checkpoint every 4 steps (epochs have 8): every result file ends equal to the uninterrupted run's."""
    final = stop_and_resume(workdir, "stopped", [
        (signal.SIGTERM, "eval:1", 1, "after epoch 1", "the end of epoch 1"),  # the eval finishes, then the checkpoint
        (signal.SIGKILL, "step:2:7", 1, None, "epoch 2, step 4"),  # the last step checkpoint
        (signal.SIGKILL, "refine:2", 1, None, "epoch 2, step 4"),  # refinement comes before the epoch's checkpoint
        (signal.SIGKILL, "step:3:3", 2, None, "the end of epoch 2"),  # before any step checkpoint: the epoch's
        (signal.SIGTERM, "step:3:6", 2, "at epoch 3, step 6", "epoch 3, step 6"),
        (signal.SIGKILL, "eval:3", 2, None, "epoch 3, step 6"),  # the last step is checkpointed with its evaluation
        (signal.SIGINT, "search", 3, "during the search, which a resumed run redoes from the trained super-net",
         "the end of epoch 3"),
    ], args=[*ARGS, "trainer.checkpoint_every_steps=4"])
    assert final == uninterrupted  # the reference ran with the default end-of-epoch checkpoints only


# PC-DARTS has the most state (alpha, beta, their Adam moments, the warm-up, channel draws); GDAS its Gumbel draws, a
# temperature schedule and a SPOS warm-up epoch; FairNAS on NB101 covers the other space and a multi-path step.
@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["algorithm=pcdarts", "algorithm=gdas algorithm.supernet_warmup_epochs=1",
                                       "algorithm=fairnas space=nb101"])
def test_every_algorithm_and_space_resumes_exactly(workdir, algorithm):
    """Architecture parameters, their optimizer, the algorithm's draws and the NB101 path survive a pre-emption."""
    args = [*ARGS[:-4], *algorithm.split(), "search.candidates=10", "data.synthetic.train=256",
            "eval.at_epochs=[]"]  # 4 steps per epoch, no refinement
    name = re.sub(r"\W+", "-", algorithm.removeprefix("algorithm="))
    reference = lrnas_train(workdir, *args, f"hydra.run.dir=ref-{name}")
    assert reference.returncode == 0, reference.stderr[-3000:]
    final = stop_and_resume(workdir, name, [(signal.SIGTERM, "step:3:2", 2, "at epoch 3, step 2", "epoch 3, step 2")],
                            args=args)
    assert final == results(workdir / f"ref-{name}")


def test_changed_config_is_refused_with_the_changed_keys(workdir, uninterrupted):
    result = lrnas_train(workdir, *ARGS, "hydra.run.dir=reference", "trainer.lr=0.1")
    assert result.returncode == 2
    assert "refusing to resume or overwrite it. Changed keys: trainer.lr: 0.025 -> 0.1" in result.stderr
    assert results(workdir / "reference") == uninterrupted  # nothing was overwritten


@pytest.fixture
def run_folder(tmp_path):
    """A run folder holding a checkpoint written on CPU by this lrnas for ``cfg``."""
    cfg = OmegaConf.create({"seed": 0, "trainer": {"lr": 0.025}})
    torch.save({"config": OmegaConf.to_container(cfg), "device_type": "cpu",
                "rng": {"streams": "lrnas.seeding.stream_seed"}}, tmp_path / "checkpoint.pt")
    return tmp_path, cfg


def test_a_checkpoint_of_this_config_is_resumed(run_folder):
    folder, cfg = run_folder
    assert previous_state(folder, cfg, torch.device("cpu"))["device_type"] == "cpu"


def test_a_corrupt_checkpoint_is_named_and_left_in_place(run_folder):
    folder, cfg = run_folder
    (folder / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(RunFolderConflict, match=f"^{folder / 'checkpoint.pt'} cannot be read .*; move it away to "
                                                "start over$"):
        previous_state(folder, cfg, torch.device("cpu"))
    assert (folder / "checkpoint.pt").read_bytes() == b"PK\x03\x04 truncated"


def test_a_checkpoint_from_another_device_type_is_refused_with_where_to_resume_it(run_folder):
    folder, cfg = run_folder
    with pytest.raises(RunFolderConflict, match=r"was written on cpu; resume it there \(device=cpu\), not on cuda"):
        previous_state(folder, cfg, torch.device("cuda"))


def test_a_checkpoint_with_other_random_streams_is_refused(run_folder):
    folder, cfg = run_folder
    state = torch.load(folder / "checkpoint.pt", weights_only=False)
    torch.save({**state, "rng": {}}, folder / "checkpoint.pt")
    with pytest.raises(RunFolderConflict, match="derived its random streams differently"):
        previous_state(folder, cfg, torch.device("cpu"))


def test_results_without_a_checkpoint_are_never_overwritten(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(RunFolderConflict, match="holds results but no checkpoint.pt; refusing to overwrite them"):
        previous_state(tmp_path, OmegaConf.create({}), torch.device("cpu"))


def test_a_finished_run_without_its_checkpoint_is_skipped_only_for_its_own_config(tmp_path):
    """Result files copied back from a commit hold no checkpoint: the same config finds them finished, any other config
    is still refused."""
    saved = {"seed": 0, "trainer": {"lr": 0.025}, "eval": {"at_epochs": []}}
    OmegaConf.save(OmegaConf.create(saved), tmp_path / "config.yaml")
    (tmp_path / "metrics.json").write_text(json.dumps({"final": {"epoch": 8, "kendall_tau": 0.3}, "history": []}))
    same, other = OmegaConf.create(saved), OmegaConf.merge(saved, {"trainer": {"lr": 0.1}})
    assert finished_without_checkpoint(tmp_path, same) == {"epoch": 8, "kendall_tau": 0.3}
    # evaluation epochs change no weights: a study that adds mid-run evaluations still finds the run finished
    assert finished_without_checkpoint(tmp_path, OmegaConf.merge(same, {"eval": {"at_epochs": [5, 10]}}))
    assert finished_without_checkpoint(tmp_path, other) is None
    with pytest.raises(RunFolderConflict, match="holds results but no checkpoint.pt; refusing to overwrite them"):
        previous_state(tmp_path, other, torch.device("cpu"))


def test_resume_at_a_folder_that_is_not_a_run_is_one_line_and_exit_2(tmp_path):
    from click.testing import CliRunner

    from lrnas.cli import cli

    with pytest.raises(ValueError, match=f"^resume='{tmp_path}' is not a run folder: it has no run_info.json$"):
        expand_resume([f"resume={tmp_path}"])
    result = CliRunner().invoke(cli, ["train", f"resume={tmp_path}"])
    assert result.exit_code == 2
    assert result.output == f"error: resume='{tmp_path}' is not a run folder: it has no run_info.json\n"


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
