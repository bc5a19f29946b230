"""A search space and an algorithm from outside lrnas (tests/e2e/user_plugin/), named by dotted path in the user's own
config folder: `lrnas train` runs them with no edit to lrnas, and bad paths are one-line errors."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

PLUGIN = Path(__file__).with_name("user_plugin")


def lrnas_train(*overrides, cwd, conf=(PLUGIN / "my_conf",)):
    """`lrnas train` as a user runs it: their package importable, their config folders on Hydra's search path."""
    env = {**os.environ, "LRNAS_CACHE": str(cwd / "cache"), "PYTHONPATH": str(PLUGIN)}
    search_path = f"hydra.searchpath=[{','.join(f'file://{folder}' for folder in conf)}]"
    return subprocess.run([sys.executable, "-m", "lrnas.cli", "train", search_path, *overrides], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_users_space_and_algorithm_train_evaluate_and_search(tmp_path):
    result = lrnas_train("space=two_ops", "algorithm=alternate", "experiment=smoke", "eval.num_archs=10",
                         "search.candidates=10", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    metrics, archs = json.loads((run / "metrics.json").read_text()), pd.read_csv(run / "archs.csv")
    # The user's space: every evaluated and searched arch uses its two ops, drawn from its 64 cells.
    ops = {op for arch in [*archs["arch"], metrics["search"]["arch"]] for op in re.findall(r"(\w+)~\d", arch)}
    assert ops <= {"nor_conv_3x3", "skip_connect"}
    assert metrics["eval_sample"]["pool_size"] == 64 and len(archs) == 10
    # The user's algorithm: 4 steps an epoch (128 weights-half images / batch 32), every 2nd a one-op path.
    assert [row["uniform_steps"] for row in metrics["history"]] == [2, 4]
    last = f"supernet_acc_epoch{metrics['final']['epoch']}"
    tau = stats.kendalltau(archs[last], archs["ground_truth"], variant="b").statistic
    assert metrics["final"]["kendall_tau"] == pytest.approx(tau, abs=1e-12)


@pytest.mark.parametrize(("option", "message"), [
    ("space.name=my_nas.missing",
     "space='my_nas.missing' cannot be imported (ModuleNotFoundError: No module named 'my_nas.missing'); valid: "
     "darts, nb101, nb201, or a dotted path to a module that defines each name of lrnas.spaces.FACE"),
    ("algorithm.name=my_nas.two_ops",
     "algorithm='my_nas.two_ops' defines no ALGORITHM subclassing lrnas.algorithms.Algorithm; valid: fairnas, gdas, "
     "pcdarts, spos, or a dotted path to a module whose ALGORITHM is an Algorithm"),
    ("algorithm.name=alternate",
     "algorithm='alternate' is unknown; valid: fairnas, gdas, pcdarts, spos, or a dotted path to a module whose "
     "ALGORITHM is an Algorithm"),
])
def test_bad_dotted_path_is_one_line_error(tmp_path, option, message):
    """A typo in the name a user's config file gives (a second config folder of theirs, on the search path too)."""
    key, _, value = option.partition("=")
    group = key.partition(".")[0]
    (tmp_path / "typos" / group).mkdir(parents=True)
    base = "two_ops" if group == "space" else "alternate"
    (tmp_path / "typos" / group / "typo.yaml").write_text(f"defaults:\n  - {base}\n  - _self_\nname: {value}\n")
    result = lrnas_train(f"{group}=typo", "experiment=smoke", cwd=tmp_path,
                         conf=(PLUGIN / "my_conf", tmp_path / "typos"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {message}"]


def test_users_algorithm_key_is_checked_by_its_own_rule_before_the_run(tmp_path):
    result = lrnas_train("algorithm=alternate", "algorithm.every_k=0", "experiment=smoke", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: algorithm.every_k=0 is invalid: must be an integer >= 1"]


def test_searchpath_that_is_not_a_folder_is_one_line_error(tmp_path):
    result = lrnas_train("experiment=smoke", cwd=tmp_path, conf=("nowhere",))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: hydra.searchpath entry 'file://nowhere' is not a config folder: must be file://FOLDER or "
        "pkg://PACKAGE, holding config groups such as space/ or algorithm/"]
