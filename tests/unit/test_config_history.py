"""A run made before a key existed is still the same run: resumed or skipped by a make target, grouped by the
report with newer runs of its config."""
import copy

from conftest import compose_config
from omegaconf import OmegaConf

from lrnas.config_history import ADDED_KEYS
from lrnas.resume import comparable, config_diff


def without_added_keys(config: dict) -> dict:
    old = copy.deepcopy(config)
    for key, _, spaces in ADDED_KEYS:
        if spaces is not None and config["space"]["name"] not in spaces:
            continue  # e.g. nb201 had space.supernet.cell_type before darts got one
        *parents, leaf = key.split(".")
        node = old
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    return old


def test_a_config_from_before_the_added_keys_is_the_same_run_and_a_changed_value_is_not():
    for overrides in (["experiment=smoke"], ["experiment=smoke", "space=darts"]):
        current = OmegaConf.to_container(compose_config(*overrides), resolve=True)
        old = without_added_keys(current)
        assert old != current and config_diff(comparable(old), comparable(current)) == []
    old = without_added_keys(OmegaConf.to_container(compose_config("experiment=smoke"), resolve=True))
    changed = OmegaConf.to_container(compose_config("experiment=smoke", "trainer.lr_step=epoch"), resolve=True)
    assert config_diff(comparable(old), comparable(changed)) == ["trainer.lr_step: 'step' -> 'epoch'"]


def test_the_committed_study_runs_are_still_the_runs_their_make_target_composes():
    """Each run kept under docs/results/budget-nb201-cpu/runs is the job its recorded overrides compose today, so
    `make budget-nb201-cpu` skips it: a key added without an ADDED_KEYS entry shows here as '<absent>' -> value."""
    import json

    from conftest import ROOT

    runs = sorted((ROOT / "docs/results/budget-nb201-cpu/runs").glob("*/*/run_info.json"))
    assert runs
    for info in runs:
        overrides = [o for o in json.loads(info.read_text())["overrides"] if o != "+sweep=budget_nb201_cpu"]
        saved = OmegaConf.to_container(OmegaConf.load(info.parent / "config.yaml"))
        now = OmegaConf.to_container(compose_config("+sweep=budget_nb201_cpu", *overrides), resolve=True)
        assert config_diff(comparable(saved), comparable(now)) == [], info.parent.name
