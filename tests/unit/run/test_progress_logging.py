"""Log lines stand alone: never written onto a progress bar's line, where the bar would overwrite them."""
import os
import re
import subprocess
import sys


def rendered(line: str) -> str:
    """What a terminal shows for one line: each carriage return starts overwriting from the first column."""
    screen = ""
    for segment in line.split("\r"):
        screen = segment + screen[len(segment):]
    return screen.rstrip()


def test_the_non_finite_loss_error_stands_on_its_own_line(tmp_path):
    env = {**os.environ, "LRNAS_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "lrnas.cli", "train", "experiment=smoke", "trainer.lr=1e12",
                             "hydra.run.dir=run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    shown = [rendered(line) for line in result.stderr.split("\n")]
    errors = [line for line in shown if "non-finite loss" in line]
    assert len(errors) == 1 and errors[0].startswith("[") and "[lrnas.train][ERROR] - error: non-finite loss" in \
        errors[0], errors
    assert "step/s" not in errors[0]  # no bar fragment before or after it
    checkpoint = re.escape(str(tmp_path / "run" / "checkpoint.pt"))
    assert re.search(rf"error: non-finite loss (nan|inf) at epoch 1, step \d+, architecture \|\S+\|; the last good "
                     rf"checkpoint is {checkpoint}$", errors[0]), errors[0]
    assert "[lrnas.train][ERROR] - error: non-finite loss" in (tmp_path / "run" / "train.log").read_text()
