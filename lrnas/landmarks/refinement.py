"""Iterative landmark refinement (the paper's Figure 2; not in the authors' released code).

After a training round, the super-net ranks ``candidates`` sampled architectures on held-out images; the benchmark
(the oracle) is queried for the ``add_top`` best of them, and they join the landmark set.

    lrnas train experiment=cpu_landmark landmarks.refine.rounds=2 landmarks.refine.add_top=5
"""
from __future__ import annotations

import random

import numpy as np

from ..config_rules import integer
from ..evaluation.ranking import supernet_accuracies
from .selection import Landmark

REFINE_RULES = {"rounds": integer(0), "add_top": integer(1), "candidates": integer(1),  # landmarks.refine.*
                "num_images": integer(1)}


def refinement_epochs(epochs: int, rounds: int) -> set[int]:
    """The (1-based) epochs after which a refinement round runs: evenly spaced, never the last epoch."""
    return {round(epochs * r / (rounds + 1)) for r in range(1, rounds + 1)} - {0, epochs}


def refine_landmarks(super_net, space, benchmark, metric: str, pool: list[str], refine_cfg, images, labels,
                     batch_size: int, rng: random.Random) -> list[dict]:
    """Rank ``refine_cfg.candidates`` archs from ``pool`` by super-net accuracy; return the top ``add_top`` as
    oracle queries (``arch``, super-net accuracy, ground truth). ``pool`` must already exclude the evaluation sample
    and the current landmarks."""
    if refine_cfg.candidates > len(pool) or not 1 <= refine_cfg.add_top <= refine_cfg.candidates:
        raise ValueError(
            f"landmarks.refine.candidates={refine_cfg.candidates} and add_top={refine_cfg.add_top} need "
            f"1 <= add_top <= candidates <= {len(pool)} (architectures neither landmark nor evaluated)"
        )
    candidates = rng.sample(pool, refine_cfg.candidates)
    accuracies = supernet_accuracies(super_net, [space.parse_arch(a) for a in candidates], images, labels, batch_size)
    top = [candidates[i] for i in np.argsort(-accuracies, kind="stable")[: refine_cfg.add_top]]
    truth = benchmark.accuracies(top, metric)
    return [
        {"arch": arch, "supernet_accuracy": float(accuracies[candidates.index(arch)]), "ground_truth": float(gt)}
        for arch, gt in zip(top, truth, strict=True)
    ]


def as_landmarks(queries: list[dict]) -> list[Landmark]:
    return [Landmark(query["arch"], query["ground_truth"]) for query in queries]
