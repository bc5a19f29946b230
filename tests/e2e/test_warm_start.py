"""trainer.init_from: a run that starts from another run's checkpoint, as the authors' warm-started studies do."""
import json

import pandas as pd
import pytest
from conftest import compose_config
from scipy import stats

from lrnas.config_rules import ConfigError
from lrnas.train import train
from lrnas.validation import validate_config

WARM_UP = ("experiment=smoke", "trainer.epochs=1", "trainer.schedule_epochs=2")  # epoch 1 of a 2-epoch schedule


@pytest.fixture(scope="module")
def warm_up(tmp_path_factory):
    """One warm-up run for the module's tests (each test's own runs get their own cache: isolated_cache)."""
    folder = tmp_path_factory.mktemp("warm")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LRNAS_CACHE", str(folder / "cache"))
        train(compose_config(*WARM_UP), folder / "warm_up")
    return folder / "warm_up"


def final_scores(run):
    archs = pd.read_csv(run / "archs.csv")
    return archs, json.loads((run / "metrics.json").read_text())


def test_a_warm_started_run_is_the_straight_run_when_nothing_changes(tmp_path, isolated_cache, warm_up):
    train(compose_config("experiment=smoke"), tmp_path / "straight")
    train(compose_config("experiment=smoke", f"trainer.init_from={warm_up}"), tmp_path / "warm")
    straight, straight_metrics = final_scores(tmp_path / "straight")
    warm, warm_metrics = final_scores(tmp_path / "warm")
    # Epoch 2 continued from the warm-up's weights, optimizer, lr schedule and random streams: the same scores.
    assert warm["supernet_acc_epoch2"].tolist() == straight["supernet_acc_epoch2"].tolist()
    tau = stats.kendalltau(warm["supernet_acc_epoch2"], warm["ground_truth"]).statistic
    assert warm_metrics["final"]["kendall_tau"] == pytest.approx(tau)
    assert warm_metrics["final"]["kendall_tau"] == straight_metrics["final"]["kendall_tau"]
    assert [row["epoch"] for row in warm_metrics["history"]] == [2]  # its own epochs only


def test_a_warm_start_from_another_super_net_or_one_as_long_is_refused(warm_up):
    with pytest.raises(ConfigError, match=r"holds another super-net or algorithm: space.channels: 4 -> 8$"):
        validate_config(compose_config("experiment=smoke", "space.channels=8", f"trainer.init_from={warm_up}"))
    with pytest.raises(ConfigError, match=r"trainer.epochs=1 is invalid: must be an integer above 1, the epochs of"):
        validate_config(compose_config("experiment=smoke", "trainer.epochs=1", f"trainer.init_from={warm_up}"))


def test_a_warm_start_needs_the_same_lr_schedule(tmp_path, isolated_cache, warm_up):
    """The warm-up's cosine spans 2 epochs; a 3-epoch run would jump to another curve, so it is refused."""
    with pytest.raises(ConfigError, match=r"its lr schedule .* is not this run's"):
        train(compose_config("experiment=smoke", "trainer.epochs=3", f"trainer.init_from={warm_up}"), tmp_path / "w")
