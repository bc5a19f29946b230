"""A run's landmark set: the configured selection, drawn from the benchmark's landmark pool outside the evaluation
sample. ``lrnas train`` and ``lrnas landmarks build`` both call it, so a built file can stand in for the table."""
from __future__ import annotations

from collections import Counter

import pandas as pd
from hydra.utils import to_absolute_path
from omegaconf import DictConfig

from ..benchmarks import GroundTruthError
from ..evaluation.ranking import draw_eval_sample
from ..seeding import stream_seed
from .selection import Landmark, LandmarkFileError, landmarks_from_config


def choose_landmarks(cfg: DictConfig, benchmark, space, reserved: set[str]) -> list[Landmark]:
    """The configured landmark set, sorted worst to best, drawn from ``benchmark.landmark_pool`` (NB101: its uniform
    cells) outside the evaluation sample ``reserved``."""
    archs = [arch for arch in benchmark.landmark_pool if arch not in reserved]
    pool = pd.Series(benchmark.accuracies(archs, cfg.space.ground_truth), index=archs)
    landmarks = landmarks_from_config(cfg.landmarks, pool, stream_seed(cfg.seed, "landmarks"),
                                      validate_arch=space.parse_arch, resolve_path=to_absolute_path, space=space)
    # A file may write a network another way than the table does (DARTS: a node's inputs in either order; NB101: an
    # isomorphic cell): under the table's string it is kept out of the evaluation sample, which compares strings.
    keyed = [Landmark(table_key(benchmark, lm.arch), lm.accuracy) for lm in landmarks]
    repeated = [arch for arch, count in Counter(lm.arch for lm in keyed).items() if count > 1]
    if repeated:
        raise LandmarkFileError(f"{cfg.landmarks.get('path')}: {repeated[0]!r} is listed more than once (written "
                                "differently); expected each architecture once")
    return keyed


def evaluation_reserve(cfg: DictConfig, benchmark) -> set[str]:
    """The archs landmarks are never drawn from: the plain evaluation sample (drawn without landmarks, so it is the same
    with and without them), every member of its classes with ``eval.unique``; none when the sample is every arch
    (``eval.num_archs=all``: it is then every arch but the landmarks)."""
    if cfg.eval.num_archs == "all":
        return set()
    sample = draw_eval_sample(benchmark, cfg.eval.num_archs, cfg.eval.sample_seed, set(), cfg.space.ground_truth,
                              cfg.eval.unique).archs
    if not cfg.eval.unique:
        return set(sample)
    pool = benchmark.eval_pool
    classes = set(benchmark.isomorphism_classes(sample))
    return {arch for arch, key in zip(pool, benchmark.isomorphism_classes(pool), strict=True) if key in classes}


def table_key(benchmark, arch: str) -> str:
    """The table's string for ``arch`` (any valid form of it), or ``arch`` itself if the table lacks it."""
    try:
        return benchmark.table["arch_str"].iloc[benchmark.index_of(arch)]
    except GroundTruthError:
        return arch
