"""What ``build_run`` hands each component: the right half of the data, the right random stream, the same landmarks.

Each component's own tests pass whatever they are given; only here would a trainer fed the weights half for its
landmark batches, or two consumers sharing one generator, be caught.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from conftest import compose_config

from lrnas.data import load_data, split_train
from lrnas.seeding import stream_seed
from lrnas.train import build_run


@pytest.fixture(scope="module")
def run_and_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wiring")
    cfg = compose_config("experiment=smoke", "landmarks=random", "landmarks.num_landmarks=8", "regularizer=landmark",
                       "regularizer.warmup_epochs=1", f"data.cache_dir={folder / 'cache'}")
    return build_run(cfg, folder, torch.device("cpu")), load_data(cfg.data), cfg


def rows(images: torch.Tensor) -> set[bytes]:
    return {image.numpy().tobytes() for image in images}


def test_the_weights_and_the_held_out_half_go_where_they_belong(run_and_data):
    run, data, cfg = run_and_data
    weights, held_out = split_train(len(data.train_labels), stream_seed(cfg.data.split_seed, "data_split"))
    assert torch.equal(run.train_batches.images, torch.from_numpy(data.train_images[weights]))
    assert torch.equal(run.held_out.images, torch.from_numpy(data.train_images[held_out]))
    assert not rows(run.train_batches.images) & rows(run.held_out.images)
    # Landmark batches and the architecture step read the held-out half, never the weights half.
    assert run.trainer.held_out is run.held_out


def test_each_consumer_draws_from_its_own_stream(run_and_data):
    run, _, cfg = run_and_data
    trainer = run.trainer
    assert trainer.held_out_generator is run.generators["held_out_order"]
    assert trainer.arch_generator is run.generators["arch_order"]
    assert trainer.algorithm.rng.getstate() == random.Random(stream_seed(cfg.seed, "algorithm")).getstate()
    assert len({id(g) for g in run.generators.values()}) == len(run.generators) == 4
    for name, generator in run.generators.items():
        fresh = torch.Generator().manual_seed(stream_seed(cfg.seed, name))
        assert torch.equal(generator.get_state(), fresh.get_state()), name


def test_the_regularizer_and_the_evaluation_share_the_run_s_landmarks(run_and_data):
    run, _, _ = run_and_data
    assert run.trainer.regularizer is run.regularizer and run.trainer.super_net is run.super_net
    assert [lm.arch for lm in run.regularizer.landmarks] == [lm.arch for lm in run.landmarks]
    assert not {lm.arch for lm in run.landmarks} & set(run.sample.archs)
    assert np.array_equal(run.archs_table["arch"], run.sample.archs)
