"""Every consumer of randomness draws from its own stream: no two replay each other's numbers."""
import itertools
import random

import pandas as pd
import pytest
import torch
from conftest import compose_config

from lrnas.run.epoch import search_phase
from lrnas.seeding import STREAMS, stream_seed
from lrnas.spaces import nb201
from lrnas.train import build_run


def test_every_stream_of_every_seed_is_its_own():
    """No (seed, stream) pair shares a seed with another, across seeds too: with ``seed + 1`` offsets, seed 1's
    data order was seed 0's held-out order."""
    seeds = {(seed, name, epoch): stream_seed(seed, name, epoch) for seed, name, epoch in
             itertools.product(range(20), STREAMS, (0, 1))}
    assert len(set(seeds.values())) == len(seeds)
    assert stream_seed(3, "refinement", 2) == stream_seed(3, "refinement", 2)


def test_an_unknown_stream_is_refused():
    with pytest.raises(ValueError, match="unknown random stream 'serach'"):
        stream_seed(0, "serach")


def composed(*overrides):
    return compose_config("experiment=smoke", "device=cpu", *overrides)


def first_training_paths(run, count):
    """The paths SPOS will train first: its sampler's next draws (a copy, the run's own stream is left alone)."""
    rng = random.Random()
    rng.setstate(run.trainer.algorithm.rng.getstate())
    return [nb201.format_arch(nb201.sample_arch(rng)) for _ in range(count)]


def test_the_search_does_not_replay_the_training_paths(tmp_path, isolated_cache):
    run = build_run(composed("search.candidates=20"), tmp_path, torch.device("cpu"))
    trained = first_training_paths(run, 20)
    search_phase(run)
    searched = list(pd.read_csv(tmp_path / "search.csv")["arch"])  # generation 0: 20 uniform draws (population 50)
    assert len(searched) == 20 and len(set(searched) & set(trained)) <= 1  # 20 of 15,625: chance overlap is ~2.5%


def test_plain_and_landmark_runs_share_the_evaluation_sample_and_the_training_streams(tmp_path, isolated_cache):
    plain = build_run(composed(), tmp_path / "plain", torch.device("cpu"))
    landmark = build_run(composed("landmarks=random", "landmarks.num_landmarks=8", "regularizer=landmark",
                                  "regularizer.warmup_epochs=0"), tmp_path / "landmark", torch.device("cpu"))
    assert plain.sample.archs == landmark.sample.archs
    assert torch.equal(plain.test_labels, landmark.test_labels) and torch.equal(plain.test_images, landmark.test_images)
    assert first_training_paths(plain, 50) == first_training_paths(landmark, 50)
    for name, generator in plain.generators.items():
        assert torch.equal(generator.get_state(), landmark.generators[name].get_state()), name
    assert not set(plain.sample.archs) & {lm.arch for lm in landmark.landmarks}
