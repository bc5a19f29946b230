"""The record every search keeps: each architecture evaluated at most once, in order, within a budget.

    >>> import random
    >>> from lrnas.spaces import nb201
    >>> evals = Evaluations(fitness=lambda arch: arch.count("nor_conv_3x3"), budget=3)
    >>> rng = random.Random(0)
    >>> evals.fill(lambda: nb201.sample_arch(rng), count=5)  # the budget stops it at 3
    3
    >>> len(evals.result().evaluated), evals.full
    (3, True)
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

Arch = Hashable  # a space's architecture encoding (NB201: a tuple of op names)

# Draws in a row that give only already-evaluated architectures before a generator counts as exhausted. Draws are
# cheap next to a super-net evaluation, so this is generous; it only ends searches in a (nearly) exhausted space.
MAX_MISSES = 1000


@dataclass(frozen=True)
class SearchResult:
    """What a search returns. ``evaluated``: every (arch, fitness) in evaluation order (one CSV row each).
    ``generation_best``: best fitness found so far at the end of each generation (evolution; empty for random)."""

    evaluated: list[tuple[Arch, float]]
    generation_best: list[float] = field(default_factory=list)

    def top(self, k: int) -> list[tuple[Arch, float]]:
        """The ``k`` fittest candidates, best first; ties keep evaluation order."""
        return sorted(self.evaluated, key=lambda entry: -entry[1])[:k]

    @property
    def best_arch(self) -> Arch:
        return self.top(1)[0][0]

    @property
    def best_fitness(self) -> float:
        return self.top(1)[0][1]


class Evaluations:
    """Calls ``fitness`` once per distinct architecture, never more than ``budget`` times in all."""

    def __init__(self, fitness: Callable[[Arch], float], budget: int):
        self.fitness, self.budget = fitness, budget
        self.scores: dict[Arch, float] = {}  # insertion order = evaluation order

    @property
    def full(self) -> bool:
        return len(self.scores) >= self.budget

    def fill(self, draw: Callable[[], Arch], count: int) -> int:
        """Evaluate up to ``count`` new architectures from ``draw()``; returns how many. Fewer means the budget is
        spent or ``draw`` gave nothing new in :data:`MAX_MISSES` draws in a row."""
        added = misses = 0
        while added < count and not self.full and misses < MAX_MISSES:
            arch = draw()
            if arch in self.scores:
                misses += 1
                continue
            value = float(self.fitness(arch))
            if math.isnan(value):  # NaN would silently scramble every later ranking
                raise ValueError(f"fitness({arch!r}) is NaN; expected a number (e.g. super-net top-1 %)")
            self.scores[arch] = value
            added, misses = added + 1, 0
        return added

    def top(self, k: int) -> list[Arch]:
        """The ``k`` fittest architectures so far, best first."""
        return [arch for arch, _ in self.result().top(k)]

    def result(self, generation_best: list[float] | None = None) -> SearchResult:
        return SearchResult(list(self.scores.items()), list(generation_best or []))
