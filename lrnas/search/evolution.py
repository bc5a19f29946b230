"""Evolutionary search on a trained super-net, as in SPOS (Guo et al. 2020, Sec. 3.3 and their search.py).

Generation 0 is ``population`` distinct uniform samples. Every later generation draws its parents from the
``parents`` fittest candidates found so far (over all generations, as SPOS's ``keep_top_k``), then evaluates
``mutations`` mutants of a uniform parent, ``crossovers`` children of two distinct uniform parents, and uniform
samples up to ``population``. No architecture is evaluated twice, and the search stops after ``candidates``
evaluations in all (SPOS: 20 generations of 50 = about 1,000).

    >>> import random
    >>> from lrnas.spaces import nb201
    >>> result = evolution_search(nb201, lambda arch: arch.count("nor_conv_3x3"), random.Random(0), candidates=500)
    >>> result.best_arch == ("nor_conv_3x3",) * 6, len(result.evaluated), len(result.generation_best)
    (True, 500, 10)
"""
from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from types import ModuleType

from ..config_rules import fraction, integer
from .candidates import Arch, Evaluations, SearchResult
from .random_search import _check_positive

CONFIG_RULES = {  # search.* of search=evolution (lrnas.config_rules), beside CALLER_RULES; limits between them below
    "candidates": integer(1),
    "population": integer(2),
    "parents": integer(2),
    "mutations": integer(0),
    "crossovers": integer(0),
    "mutation_prob": fraction(closed=True),
}

log = logging.getLogger(__name__)


def evolution_search(space: ModuleType, fitness: Callable[[Arch], float], rng: random.Random,
                     candidates: int = 1000, population: int = 50, parents: int = 10, mutations: int = 25,
                     crossovers: int = 25, mutation_prob: float = 0.1) -> SearchResult:
    """SPOS evolution; ``space`` provides ``sample_arch(rng)``, ``mutate(arch, rng, prob)`` and
    ``crossover(a, b, rng)`` (see :mod:`lrnas.spaces.nb201`)."""
    _check_options(candidates, population, parents, mutations, crossovers, mutation_prob)
    evals = Evaluations(fitness, candidates)
    sample = functools.partial(space.sample_arch, rng)
    exhausted = evals.fill(sample, population) < population and not evals.full
    generation_best = [evals.result().best_fitness]
    while not (evals.full or exhausted):
        top = evals.top(parents)
        new = evals.fill(lambda top=top: space.mutate(rng.choice(top), rng, mutation_prob), mutations)
        new += evals.fill(lambda top=top: space.crossover(*rng.sample(top, 2), rng), crossovers)
        want = max(population - new, 0)
        exhausted = evals.fill(sample, want) < want and not evals.full
        generation_best.append(evals.result().best_fitness)
        log.info("generation %d: %d candidates, best fitness %.4g", len(generation_best) - 1, len(evals.scores),
                 generation_best[-1])
    if exhausted:
        log.warning("evolution stopped at %d of %d candidates: the space has no new architectures left",
                    len(evals.scores), candidates)
    return evals.result(generation_best)


def _check_options(candidates, population, parents, mutations, crossovers, mutation_prob) -> None:
    for key, value in {"candidates": candidates, "population": population, "parents": parents}.items():
        _check_positive(key, value)
    if parents < 2 or parents > population:
        raise ValueError(f"search.parents={parents} must lie in 2..search.population={population} "
                         "(crossover needs two parents; parents are the fittest of the population)")
    for key, value in {"mutations": mutations, "crossovers": crossovers}.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"search.{key}={value!r} must be a non-negative integer")
    if mutations + crossovers > population:
        raise ValueError(f"search.mutations + search.crossovers = {mutations + crossovers} exceeds "
                         f"search.population={population}; each generation has population members")
    if not isinstance(mutation_prob, (int, float)) or not 0.0 <= mutation_prob <= 1.0:
        raise ValueError(f"search.mutation_prob={mutation_prob!r} must lie in [0, 1] (SPOS: 0.1)")
