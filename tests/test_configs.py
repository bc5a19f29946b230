"""Compose every config file, so broken YAML or a bad override fails here, not in a user's run."""

import pytest
from conftest import ROOT
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

CONF = ROOT / "conf"
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir())


def compose_with(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_root_config_has_every_group():
    cfg = compose_with()
    for group in ["space", "algorithm", "data", "trainer", "eval", "landmarks", "regularizer"]:
        assert group in cfg, group
    assert cfg.trainer.batch_size == 256 and cfg.trainer.lr == 0.025 and cfg.trainer.weight_decay == 5e-4
    assert cfg.space.channels == 16 and cfg.space.cells_per_stage == 5


@pytest.mark.parametrize(
    ("group", "option"),
    [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("[!_]*.yaml"))],
)
def test_every_option_composes_and_resolves(group, option):
    cfg = compose_with(f"{'+' if group == 'sweep' else ''}{group}={option}")  # sweeps are not in the defaults list
    OmegaConf.to_container(cfg, resolve=True)  # raises on a broken interpolation


def test_experiment_presets_start_with_global_package():
    for path in (CONF / "experiment").glob("*.yaml"):
        assert path.read_text().startswith("# @package _global_"), path


def test_paper_preset_matches_the_paper():
    cfg = compose_with("experiment=paper_nb201_spos")
    trainer = cfg.trainer
    assert (trainer.epochs, trainer.batch_size, trainer.lr, trainer.weight_decay) == (400, 256, 0.025, 5e-4)
    assert (cfg.space.channels, cfg.space.cells_per_stage) == (16, 5)
