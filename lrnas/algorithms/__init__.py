"""NAS algorithms: how each training step picks the super-net path(s) it trains."""
from __future__ import annotations

import random

from .spos import SPOS, StepResult

ALGORITHMS = {"spos": SPOS}


def build_algorithm(name: str, space, rng: random.Random):
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm={name!r} is unknown; valid: {', '.join(sorted(ALGORITHMS))}")
    return ALGORITHMS[name](space, rng)


__all__ = ["ALGORITHMS", "SPOS", "StepResult", "build_algorithm"]
