"""Every `experiment=paper_*` preset composes the authors' protocol (kcyu2014/nas-landmarkreg; docs/faithfulness.md):
their super-net, their optimizer semantics, their budgets and, in the `_landmark` twins, their landmark term."""
import pytest
from conftest import compose_config
from lrnas.conf import CONFIG_DIR

PAPER_PRESETS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("paper_*.yaml"))


def test_the_paper_presets_exist():
    assert {"paper_nb201_spos", "paper_nb201_spos_landmark", "paper_nb101_spos", "paper_nb101_spos_landmark",
            "paper_nb201_gdas", "paper_nb201_gdas_landmark", "paper_nb201_pcdarts",
            "paper_nb201_pcdarts_landmark"} <= set(PAPER_PRESETS)


@pytest.mark.parametrize("preset", PAPER_PRESETS)
def test_every_paper_preset_uses_the_authors_bn_and_zeroed_gradients(preset):
    cfg = compose_config(f"experiment={preset}")
    # --wsbn_affine default True; their darts_nds runs set bn_affine=False, lrnas's DARTS super-net has no affine BN
    assert cfg.space.supernet.get("bn_affine", False) is (cfg.space.name != "darts")
    assert cfg.trainer.set_grads_to_none is False  # their PyTorch 1.6 zero_grad() zeroed
    assert cfg.trainer.grad_clip == 5.0 and cfg.trainer.momentum == 0.9 and cfg.trainer.nesterov is False
    assert (cfg.eval.num_archs, cfg.eval.num_test_images, cfg.eval.batch_size) == (200, 10000, 256)
    # CosineAnnealingLR(T_max=epochs) stepped per epoch, the DataLoader's last partial batch, a split per run seed
    assert (cfg.trainer.lr_step, cfg.trainer.drop_last, cfg.data.split_seed) == ("epoch", False, None)
    if preset.endswith("_landmark"):
        plain = compose_config(f"experiment={preset.removesuffix('_landmark')}")
        assert cfg.regularizer.name == "landmark" and cfg.landmarks.method == "random"
        assert (cfg.regularizer.lam, cfg.regularizer.schedule, cfg.regularizer.penalty) == (10, "cosine_increase",
                                                                                            "hinge")
        assert cfg.regularizer.reach_nominal is False and cfg.regularizer.pair_procedure == "random_pairs"
        assert cfg.regularizer.num_pairs == 1
        # The twin differs from its plain run only in the landmark groups.
        for group in ("space", "algorithm", "trainer", "eval", "data"):
            assert cfg[group] == plain[group], group
    else:
        assert cfg.regularizer.name == "none" and cfg.landmarks.method == "none"


def test_nb201_spos_presets_are_the_authors_spos_run():
    cfg = compose_config("experiment=paper_nb201_spos_landmark")
    assert cfg.space.name == "nb201" and cfg.space.supernet.cell_type == "op_on_node"
    assert (cfg.space.channels, cfg.space.cells_per_stage) == (16, 5)
    trainer = cfg.trainer
    assert (trainer.epochs, trainer.batch_size, trainer.lr, trainer.min_lr, trainer.weight_decay) == (
        400, 256, 0.025, 0.001, 5e-4)
    assert (cfg.landmarks.num_landmarks, cfg.regularizer.warmup_epochs) == (50, 150)


def test_nb101_spos_presets_are_the_authors_spos_run():
    cfg = compose_config("experiment=paper_nb101_spos_landmark")
    assert cfg.space.name == "nb101" and (cfg.space.channels, cfg.space.cells_per_stage) == (64, 3)
    trainer = cfg.trainer
    assert (trainer.epochs, trainer.batch_size, trainer.lr, trainer.weight_decay) == (200, 128, 0.025, 1e-4)
    assert cfg.eval.top_k == 5  # analysis.py:82
    assert (cfg.landmarks.num_landmarks, cfg.regularizer.warmup_epochs) == (50, 100)


def test_darts_presets_are_the_authors_darts_nds_spos_run():
    """validate-landmarkloss.sh's darts_nds branch (:116-133): 12 slot-sharing cells at C=36 training the NDS
    networks only, batch 128, lr 0.05, 400 epochs, λ after a 100-epoch warm-up; P>random over the top 5."""
    cfg = compose_config("experiment=paper_darts_spos_landmark")
    space = cfg.space
    assert (space.name, space.channels, space.supernet.layers, space.supernet.cell_type) == ("darts", 36, 12,
                                                                                             "per_slot")
    assert space.sample_from_table is True
    assert (cfg.trainer.epochs, cfg.trainer.batch_size, cfg.trainer.lr, cfg.trainer.weight_decay) == (
        400, 128, 0.05, 5e-4)
    assert (cfg.landmarks.num_landmarks, cfg.regularizer.warmup_epochs, cfg.eval.top_k) == (50, 100, 5)


def test_free_runs_keep_lrnas_defaults():
    cfg = compose_config()
    assert cfg.space.supernet.cell_type == "per_edge" and cfg.space.supernet.bn_affine is False
    assert cfg.trainer.set_grads_to_none is True
    assert (cfg.trainer.lr_step, cfg.trainer.drop_last, cfg.data.split_seed) == ("step", True, 0)


def test_gdas_presets_are_the_authors_gdas_comparison_lengths():
    """gdas.sh SUB_EXP 0 (the only GDAS run with and without landmarks) sets epochs=410: α from 411, 460 in all."""
    cfg = compose_config("experiment=paper_nb201_gdas_landmark")
    assert (cfg.algorithm.supernet_warmup_epochs, cfg.algorithm.arch_start_epoch, cfg.trainer.epochs) == (100, 411, 460)
    assert cfg.regularizer.schedule_epochs == 410
    pcdarts = compose_config("experiment=paper_nb201_pcdarts_landmark")
    assert (pcdarts.algorithm.arch_start_epoch, pcdarts.trainer.epochs, pcdarts.regularizer.schedule_epochs) == (
        401, 435, 400)


@pytest.mark.parametrize(("preset", "search_evaluations"), [("paper_nb201_gdas", [411, 421, 431, 441, 451]),
                                                            ("paper_nb201_pcdarts", [401, 411, 421, 431])])
def test_differentiable_presets_score_the_authors_alpha_pool_at_their_search_evaluations(preset, search_evaluations):
    """save_every_epoch=10 in their search loop (0-based 410, 420, ... for GDAS), each refreshing the pool."""
    cfg = compose_config(f"experiment={preset}")
    assert cfg.eval.pool == "alpha_refresh"
    assert [e for e in cfg.eval.at_epochs if e >= cfg.algorithm.arch_start_epoch] == search_evaluations


@pytest.mark.parametrize("preset", ["paper_nb201_gdas_landmark", "paper_nb201_pcdarts_landmark"])
def test_differentiable_landmark_presets_run_lambda_over_their_first_loop(preset):
    """Their cosine divides by args.epochs (410 GDAS, 400 PC-DARTS) although the run trains on through the α search."""
    from lrnas.landmarks.regularizer import LandmarkRegularizer, lambda_at
    cfg = compose_config(f"experiment={preset}")
    first_loop = cfg.regularizer.schedule_epochs
    assert first_loop in (400, 410) and first_loop < cfg.trainer.epochs
    regularizer = LandmarkRegularizer([], [], cfg.regularizer, cfg.trainer.epochs, rng=None)
    warmup = cfg.regularizer.warmup_epochs
    last = cfg.trainer.epochs - 1
    assert regularizer.coefficient(last) == lambda_at("cosine_increase", last, first_loop, warmup, 10.0)
    assert regularizer.coefficient(last) > lambda_at("cosine_increase", last, cfg.trainer.epochs, warmup, 10.0)


@pytest.mark.parametrize("spos", ["paper_nb201_spos", "paper_nb201_spos_landmark", "paper_nb101_spos",
                                  "paper_nb101_spos_landmark"])
def test_fairnas_presets_are_the_spos_presets_with_fairnas_sampling(spos):
    from omegaconf import OmegaConf

    fairnas = OmegaConf.to_container(compose_config(f"experiment={spos.replace('spos', 'fairnas')}"))
    reference = OmegaConf.to_container(compose_config(f"experiment={spos}", "algorithm=fairnas"))
    assert fairnas["algorithm"]["name"] == "fairnas" and fairnas == reference
