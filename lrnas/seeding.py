"""One independent random stream per consumer of randomness, each derived from one seed by name.

    >>> stream_seed(0, "search") == stream_seed(0, "search"), stream_seed(0, "search") == stream_seed(0, "algorithm")
    (True, False)

Seeding two consumers with the same number makes them draw the same numbers: with ``random.Random(seed)`` in both the
SPOS sampler and the search, evolution's first generation was exactly the first training paths. ``seed + 1`` style
offsets are no cure either (seed 1's first stream is seed 0's second). numpy's ``SeedSequence`` hashes the seed and a
``spawn_key`` into well-mixed, independent states; the key here is the stream's name (its length, then its bytes, so
no name is another's prefix) plus any counters, so adding a stream never moves another.
"""
from __future__ import annotations

import random

import numpy as np
import torch

from .config_rules import seed

CONFIG_RULES = {"seed": seed()}  # the top-level key (lrnas.config_rules)

# Every stream a run draws from. Run seed (``seed``): the global generators (weight init), the algorithm's path
# sampling and its device-side draws, the training and held-out data orders (weights and arch steps), the landmark
# pairs, the landmark set, refinement, the search, the alpha draws of eval.pool=alpha_refresh and the training batches
# of eval.bn=recalibrate.
# ``eval.sample_seed``: the evaluation sample and its test images, so runs with different seeds, with and without
# landmarks, are scored alike. ``data.split_seed``: the weights / held-out split of the training set.
# ``lrnas landmarks build``: each stand-alone training (weights, data order) and the train-image subset of its recipe.
STREAMS = ("global", "algorithm", "algorithm_device", "data_order", "held_out_order", "arch_order", "regularizer",
           "landmarks", "refinement", "search", "eval_sample", "test_images", "data_split", "standalone",
           "standalone_images", "alpha_pool", "bn_recalibration")


def stream_seed(seed: int, name: str, *counters: int) -> int:
    """A 32-bit seed for stream ``name`` of ``seed`` (``counters``: e.g. the epoch of a per-epoch stream). 32 bits fit
    every seeding API lrnas uses, ``numpy.random.seed`` included."""
    if name not in STREAMS:
        raise ValueError(f"unknown random stream {name!r}; streams: {', '.join(STREAMS)}")
    sequence = np.random.SeedSequence(seed, spawn_key=(len(name), *name.encode(), *counters))
    return int(sequence.generate_state(1)[0])


def seed_everything(seed: int) -> None:
    """The global generators (weight init, anything without its own stream) get their own stream of ``seed``."""
    global_seed = stream_seed(seed, "global")
    random.seed(global_seed)
    np.random.seed(global_seed)
    torch.manual_seed(global_seed)
