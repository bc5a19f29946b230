"""Compose every config file, so broken YAML or a bad override fails here, not in a user's run."""

import pytest
from conftest import compose_config
from lrnas.conf import CONFIG_DIR as CONF
from omegaconf import OmegaConf

import lrnas  # noqa: F401 - registers the resolvers the configs use (${lrnas.of_epochs:...})

GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir())
BUILD_ONLY = {"standalone"}  # groups of `lrnas landmarks build` (conf/build.yaml), not of `lrnas train`


def test_root_config_has_every_group():
    cfg = compose_config()
    for group in ["space", "algorithm", "data", "trainer", "eval", "landmarks", "regularizer"]:
        assert group in cfg, group
    assert cfg.trainer.batch_size == 256 and cfg.trainer.lr == 0.025 and cfg.trainer.weight_decay == 5e-4
    assert cfg.space.channels == 16 and cfg.space.cells_per_stage == 5


@pytest.mark.parametrize(
    ("group", "option"),
    [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("[!_]*.yaml"))],
)
def test_every_option_composes_and_resolves(group, option):
    config = "build" if group in BUILD_ONLY else "config"
    cfg = compose_config(f"{'+' if group == 'sweep' else ''}{group}={option}", config=config)  # sweeps: not in defaults
    OmegaConf.to_container(cfg, resolve=True)  # raises on a broken interpolation


@pytest.mark.parametrize("space", ["nb201", "nb101"])
def test_build_defaults_to_the_spaces_own_recipe(space):
    cfg = compose_config(f"space={space}", config="build")
    assert cfg.standalone.name == f"{space}_{cfg.standalone.epochs}ep"
    assert cfg.standalone.network._target_ == f"lrnas.spaces.{space}.network.{space.upper()}Network"
    OmegaConf.to_container(cfg, resolve=True)


def test_experiment_presets_start_with_global_package():
    for path in (CONF / "experiment").glob("*.yaml"):
        assert path.read_text().startswith("# @package _global_"), path


def test_paper_preset_matches_the_paper():
    cfg = compose_config("experiment=paper_nb201_spos")
    trainer = cfg.trainer
    assert (trainer.epochs, trainer.batch_size, trainer.lr, trainer.weight_decay) == (400, 256, 0.025, 5e-4)
    assert (cfg.space.channels, cfg.space.cells_per_stage) == (16, 5)


def test_standalone_recipes_are_the_benchmarks_own():
    nb201 = compose_config("space=nb201", config="build").standalone  # xautodl hyper-opts/200E.config
    assert (nb201.network.C, nb201.network.N, nb201.epochs, nb201.batch_size, nb201.min_lr) == (16, 5, 200, 256, 0.0)
    assert dict(nb201.optimizer) == {"_target_": "torch.optim.SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True,
                                     "weight_decay": 0.0005}
    nb101 = compose_config("space=nb101", config="build").standalone  # nasbench config.py and model_builder.py
    assert (nb101.network.stem_channels, nb101.network.num_stacks, nb101.network.cells_per_stack) == (128, 3, 3)
    assert (nb101.epochs, nb101.batch_size, nb101.train_images) == (108, 256, 40000)
    assert dict(nb101.optimizer) == {"_target_": "torch.optim.RMSprop", "lr": 0.2, "alpha": 0.9, "eps": 1.0,
                                     "momentum": 0.9, "weight_decay": 0.0001}


@pytest.mark.parametrize(("overrides", "warmup"), [
    (["experiment=cpu_landmark_cosine"], 8),  # the cpu preset's 20 epochs: 7.5 rounds to 8
    (["experiment=cpu_landmark_cosine", "trainer.epochs=40"], 15),
    (["experiment=paper_nb201_spos_landmark"], 150),  # the authors' 150 of 400
    (["experiment=paper_nb201_spos_landmark", "trainer.epochs=100"], 38),
])
def test_the_papers_warm_up_scales_with_the_budget(overrides, warmup):
    cfg = compose_config(*overrides)
    assert cfg.regularizer.warmup_epochs == warmup and cfg.regularizer.schedule == "cosine_increase"


def test_the_config_resolver_and_report_statistics_examples_run():
    import doctest

    import lrnas.reporting.statistics

    assert doctest.testmod(lrnas).failed == 0 and doctest.testmod(lrnas.reporting.statistics).failed == 0
