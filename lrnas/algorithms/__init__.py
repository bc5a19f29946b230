"""NAS algorithms: how each training step picks the super-net path(s) it trains.

Sampling-based (train single paths): ``spos``, ``fairnas``. Differentiable (learn architecture parameters on the
held-out half): ``pcdarts``, ``gdas``. All compose with ``landmarks=`` and ``regularizer=`` the same way.
"""
from __future__ import annotations

import random

import torch

from .base import Algorithm, StepResult
from .fairnas import FairNAS
from .gdas import GDAS
from .pcdarts import PCDARTS
from .spos import SPOS

ALGORITHMS = {"spos": SPOS, "fairnas": FairNAS, "pcdarts": PCDARTS, "gdas": GDAS}
DIFFERENTIABLE = {name for name, algorithm in ALGORITHMS.items() if algorithm.differentiable}


def build_algorithm(cfg, space, rng: random.Random, device: torch.device, generator: torch.Generator) -> Algorithm:
    """The algorithm ``cfg.name`` (an ``algorithm=`` config); ``generator`` draws on ``device`` (checkpointed)."""
    if cfg.name not in ALGORITHMS:
        raise ValueError(f"algorithm={cfg.name!r} is unknown; valid: {', '.join(sorted(ALGORITHMS))}")
    algorithm = ALGORITHMS[cfg.name]
    if algorithm.differentiable:
        return algorithm(space, rng, cfg, device, generator)
    return algorithm(space, rng)


__all__ = ["ALGORITHMS", "DIFFERENTIABLE", "Algorithm", "FairNAS", "GDAS", "PCDARTS", "SPOS", "StepResult",
           "build_algorithm"]
