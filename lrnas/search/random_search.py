"""Random search: ``candidates`` distinct architectures drawn uniformly from the space, each scored once.

    >>> import random
    >>> from lrnas.spaces import nb201
    >>> result = random_search(nb201, lambda arch: arch.count("nor_conv_3x3"), random.Random(0), candidates=100)
    >>> len(result.evaluated), len(set(arch for arch, _ in result.evaluated))
    (100, 100)
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from types import ModuleType

from ..config_rules import integer
from .candidates import Arch, Evaluations, SearchResult

CONFIG_RULES = {"candidates": integer(1)}  # search.* of search=random (lrnas.config_rules), beside CALLER_RULES

log = logging.getLogger(__name__)


def random_search(space: ModuleType, fitness: Callable[[Arch], float], rng: random.Random,
                  candidates: int = 1000) -> SearchResult:
    """Uniform sampling without repeats; stops early (with a warning) only when the space runs out of new archs."""
    _check_positive("candidates", candidates)
    evals = Evaluations(fitness, candidates)
    evals.fill(lambda: space.sample_arch(rng), candidates)
    if not evals.full:
        log.warning("random search stopped at %d of %d candidates: the space has no new architectures left",
                    len(evals.scores), candidates)
    return evals.result()


def _check_positive(key: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"search.{key}={value!r} must be a positive integer")
