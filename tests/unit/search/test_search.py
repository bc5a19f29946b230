"""Search after super-net training: evolution and random search on a stub fitness, and the top-k of a distribution."""

import doctest
import importlib
import inspect
import itertools
import random
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT, compose_config
from lrnas.conf import CONFIG_DIR
from omegaconf import OmegaConf

from lrnas.search import evolution_search, random_search, run_search, top_k_by_probability
from lrnas.spaces import nb201

CONV = "nor_conv_3x3"
SEARCHES = {"evolution": evolution_search, "random": random_search}


def conv_count(noise_seed=0):
    """Stub super-net: fitness = number of 3x3 convs + small noise (a deterministic function of the arch)."""
    rng = random.Random(noise_seed)
    noise = {}
    return lambda arch: arch.count(CONV) + noise.setdefault(arch, 0.1 * rng.random())


def checked(fitness, calls):
    """Wrap ``fitness`` so every call is recorded and must be a valid NB201 cell."""

    def wrapped(arch):
        assert nb201.parse_arch(nb201.format_arch(arch)) == arch
        calls.append(arch)
        return fitness(arch)

    return wrapped


def test_evolution_best_never_decreases_and_ends_better_than_generation_zero():
    result = evolution_search(nb201, conv_count(), random.Random(0))
    history = result.generation_best
    assert len(history) == 20  # 1000 candidates / 50 per generation
    assert all(later >= earlier for earlier, later in itertools.pairwise(history))
    assert history[-1] > history[0]
    assert result.best_fitness == history[-1] == max(f for _, f in result.evaluated)
    assert result.best_arch == (CONV,) * nb201.NUM_EDGES


def test_evolution_beats_random_search_on_the_same_budget():
    # Random search finds the unique all-conv cell in 300 draws with chance ~2%; selection + breeding finds it.
    for seed in range(3):
        evolved = evolution_search(nb201, conv_count(seed), random.Random(seed), candidates=300)
        sampled = random_search(nb201, conv_count(seed), random.Random(seed), candidates=300)
        assert evolved.best_arch == (CONV,) * nb201.NUM_EDGES
        assert np.mean([f for _, f in evolved.top(10)]) > np.mean([f for _, f in sampled.top(10)]) + 1


@pytest.mark.parametrize("name", SEARCHES)
@pytest.mark.parametrize("budget", [1, 37, 120, 1000])
def test_candidates_are_valid_unique_and_the_budget_is_exact(name, budget):
    calls = []
    result = SEARCHES[name](nb201, checked(conv_count(), calls), random.Random(1), candidates=budget)
    assert [arch for arch, _ in result.evaluated] == calls  # evaluation order, one fitness call each
    assert len(calls) == len(set(calls)) == budget
    again = SEARCHES[name](nb201, conv_count(), random.Random(1), candidates=budget)
    assert again.evaluated == result.evaluated  # reproducible from the rng seed


def tiny_space():
    """A space of 2**3 = 8 cells, smaller than any budget below: searches must stop, not loop forever."""
    return SimpleNamespace(
        sample_arch=lambda rng: tuple(rng.choice("ab") for _ in range(3)),
        mutate=lambda arch, rng, prob: tuple(("b" if op == "a" else "a") if i == 0 else op for i, op in
                                             enumerate(arch)),
        crossover=lambda a, b, rng: tuple(rng.choice(pair) for pair in zip(a, b, strict=True)),
    )


@pytest.mark.parametrize("name", SEARCHES)
def test_a_space_smaller_than_the_budget_stops_early_with_every_cell(name):
    options = {"population": 4, "parents": 2, "mutations": 1, "crossovers": 1} if name == "evolution" else {}
    result = SEARCHES[name](tiny_space(), lambda arch: arch.count("a"), random.Random(0), candidates=100, **options)
    assert sorted(arch for arch, _ in result.evaluated) == sorted(itertools.product("ab", repeat=3))


def test_random_search_is_uniform_over_ops_on_every_edge():
    result = random_search(nb201, lambda arch: 0.0, random.Random(2), candidates=1000)
    archs = [arch for arch, _ in result.evaluated]
    assert len(set(archs)) == 1000
    for edge in range(nb201.NUM_EDGES):
        counts = [sum(arch[edge] == op for arch in archs) for op in nb201.OPS]
        assert all(140 < c < 260 for c in counts), (edge, counts)  # expected 200, sd ~12.6


def differing_edges(a, b):
    return sum(x != y for x, y in zip(a, b, strict=True))


# Each edge differs with chance q = prob * 4/5 and an unchanged draw is forced to differ on one edge, so the mean
# number of differing edges is 6q + (1 - q)**6: 1 at prob 0, 1.086 at 0.1, 4.8 at 1 (sd of a 2000-mean < 0.03).
@pytest.mark.parametrize(("prob", "low", "high"), [(0.0, 1.0, 1.0), (0.1, 1.03, 1.14), (1.0, 4.7, 4.9)])
def test_mutate_changes_at_least_one_edge_at_the_expected_rate(prob, low, high):
    rng = random.Random(3)
    changed = []
    for _ in range(2000):
        parent = nb201.sample_arch(rng)
        child = nb201.mutate(parent, rng, prob)
        assert nb201.parse_arch(nb201.format_arch(child)) == child
        changed.append(differing_edges(parent, child))
    assert min(changed) >= 1
    assert low <= np.mean(changed) <= high


def test_crossover_takes_every_edge_from_a_parent_and_mixes_both():
    rng = random.Random(4)
    a, b = ("none",) * nb201.NUM_EDGES, (CONV,) * nb201.NUM_EDGES
    children = [nb201.crossover(a, b, rng) for _ in range(1000)]
    for child in children:
        assert nb201.parse_arch(nb201.format_arch(child)) == child
        assert all(op in pair for op, pair in zip(child, zip(a, b, strict=True), strict=True))
    from_a = np.mean([[op == "none" for op in child] for child in children], axis=0)
    assert np.all(np.abs(from_a - 0.5) < 0.06), from_a


def brute_force(table, ops):
    ranked = [
        (tuple(ops[i] for i in idx), float(np.prod([table[e, i] for e, i in enumerate(idx)])))
        for idx in itertools.product(range(len(ops)), repeat=len(table))
    ]
    return sorted(ranked, key=lambda entry: -entry[1])


@pytest.mark.parametrize("k", [1, 25, nb201.NUM_ARCHS + 3])
def test_top_k_by_probability_matches_brute_force_with_the_argmax_first(k):
    table = np.random.default_rng(k).dirichlet(np.ones(len(nb201.OPS)), size=nb201.NUM_EDGES)
    expected = brute_force(table, nb201.OPS)[:k]
    got = top_k_by_probability(table.tolist(), nb201.OPS, k)
    assert [arch for arch, _ in got] == [arch for arch, _ in expected]
    np.testing.assert_allclose([p for _, p in got], [p for _, p in expected], rtol=1e-9)
    assert got[0][0] == tuple(nb201.OPS[i] for i in table.argmax(axis=1))


def test_top_k_by_probability_ranks_zero_probability_last_and_rejects_logits():
    table = [[0.0, 1.0], [0.5, 0.5]]
    got = top_k_by_probability(table, ("x", "y"), k=4)
    assert [p for _, p in got] == [0.5, 0.5, 0.0, 0.0] and got[0][0] == ("y", "x")
    with pytest.raises(ValueError, match="softmax"):
        top_k_by_probability([[2.0, -1.0]], ("x", "y"), k=1)
    with pytest.raises(ValueError, match=r"expected \[num_edges, 3\]"):
        top_k_by_probability(table, ("x", "y", "z"), k=1)


@pytest.mark.parametrize("name", SEARCHES)
def test_run_search_reads_the_config_file_and_its_defaults_match_the_code(name):
    cfg = OmegaConf.load(CONFIG_DIR / "search" / f"{name}.yaml")
    defaults = {k: p.default for k, p in inspect.signature(SEARCHES[name]).parameters.items()
                if k not in ("space", "fitness", "rng")}
    assert {k: cfg[k] for k in defaults} == defaults
    cfg.candidates = 100
    result = run_search(cfg, nb201, conv_count(), random.Random(0))
    assert len(result.evaluated) == 100
    assert len(result.generation_best) == (2 if name == "evolution" else 0)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"name": "bogus"}, "search.name='bogus' is unknown; valid: evolution, random"),
        ({"name": "random", "population": 5}, "search.population not used by search=random"),
        ({"name": "evolution", "parents": 1}, r"search.parents=1 must lie in 2..search.population=50"),
        ({"name": "evolution", "mutations": 40}, r"search.mutations \+ search.crossovers = 65 exceeds"),
        ({"name": "evolution", "mutation_prob": 1.5}, r"search.mutation_prob=1.5 must lie in \[0, 1\]"),
        ({"name": "random", "candidates": 0}, "search.candidates=0 must be a positive integer"),
    ],
)
def test_bad_search_config_gives_a_one_line_error(cfg, message):
    with pytest.raises(ValueError, match=message) as info:
        run_search(cfg, nb201, conv_count(), random.Random(0))
    assert "\n" not in str(info.value)


def test_search_needs_no_torch_and_its_docstring_examples_run():
    code = "import sys, lrnas.search; assert 'torch' not in sys.modules, 'lrnas.search imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    for module in ("__init__", "candidates", "differentiable", "evolution", "random_search"):
        name = "lrnas.search" if module == "__init__" else f"lrnas.search.{module}"
        assert doctest.testmod(importlib.import_module(name)).failed == 0, name
    assert doctest.testmod(nb201).failed == 0


def spy_space(calls):
    """nb201 whose mutate/crossover calls are recorded in ``calls`` as (kind, parents, prob, child)."""

    def mutate(arch, rng, prob):
        child = nb201.mutate(arch, rng, prob)
        calls.append(("mutate", (arch,), prob, child))
        return child

    def crossover(a, b, rng):
        child = nb201.crossover(a, b, rng)
        calls.append(("crossover", (a, b), None, child))
        return child

    return SimpleNamespace(sample_arch=nb201.sample_arch, mutate=mutate, crossover=crossover)


def bred(calls, result, population, kind):
    """The candidates evaluated after generation 0 and, for each, the ``kind`` call that produced it (or None)."""
    made = {}
    for call in calls:
        if call[0] == kind:
            made.setdefault(call[3], call)
    later = [arch for arch, _ in result.evaluated[population:]]
    return later, [made.get(arch) for arch in later]


def test_evolution_with_no_mutations_breeds_every_later_candidate_by_crossover_of_two_fit_parents():
    calls, fitness = [], conv_count()
    result = evolution_search(spy_space(calls), fitness, random.Random(5), candidates=60, population=20,
                              parents=5, mutations=0, crossovers=20)
    assert len(result.evaluated) == 60 and len(result.generation_best) == 3
    assert {call[0] for call in calls} == {"crossover"}
    later, made_by = bred(calls, result, 20, "crossover")
    assert all(made_by), "a candidate after generation 0 was not a crossover child (uniform fill instead?)"
    evaluated = [arch for arch, _ in result.evaluated]
    for child, (_, (a, b), _, _) in zip(later, made_by, strict=True):
        assert a != b  # two distinct parents
        assert all(op in (x, y) for op, x, y in zip(child, a, b, strict=True))  # every edge from a parent
        # both parents among the 5 fittest evaluated before the generation that bred the child
        generation_start = 20 * (evaluated.index(child) // 20)
        fittest = sorted(evaluated[:generation_start], key=lambda arch: -fitness(arch))[:5]
        assert a in fittest and b in fittest
    assert sum(child not in (a, b) for child, (_, (a, b), _, _) in zip(later, made_by, strict=True)) >= 20


@pytest.mark.parametrize("prob", [0.0, 1.0])
def test_evolution_passes_mutation_prob_to_every_mutation(prob):
    calls = []
    result = evolution_search(spy_space(calls), conv_count(), random.Random(6), candidates=40, population=20,
                              parents=5, mutations=20, crossovers=0, mutation_prob=prob)
    assert {call[0] for call in calls} == {"mutate"} and {call[2] for call in calls} == {prob}
    later, made_by = bred(calls, result, 20, "mutate")
    assert len(later) == 20 and all(made_by)
    distances = [differing_edges(child, call[1][0]) for child, call in zip(later, made_by, strict=True)]
    if prob == 0.0:
        assert distances == [1] * 20  # nothing resampled: exactly the one forced edge changes
    else:
        assert np.mean(distances) > 3.5  # every edge resampled: 4.8 of 6 differ on average


def test_evolution_mutation_prob_changes_the_candidates():
    runs = [evolution_search(nb201, conv_count(), random.Random(6), candidates=40, population=20, parents=5,
                             mutations=20, crossovers=0, mutation_prob=prob).evaluated for prob in (0.0, 1.0)]
    assert runs[0][:20] == runs[1][:20]  # the same generation 0
    assert runs[0][20:] != runs[1][20:]


def test_smoke_preset_evolution_with_a_budget_beyond_the_population_runs_later_generations():
    # experiment=smoke evaluates 20 candidates, under one population of 50: its evolution never leaves
    # generation 0. With a budget past the population, generations 1 and 2 breed from the fittest.
    cfg = compose_config("experiment=smoke", "search=evolution", "search.candidates=120")
    search_cfg = cfg.search
    assert search_cfg.population == 50 and search_cfg.candidates == 120
    calls = []
    space = spy_space(calls)
    result = run_search(search_cfg, space, conv_count(), random.Random(0))
    assert len(result.evaluated) == 120 and len(result.generation_best) == 3  # generations 0, 1, 2 (of 50, 50, 20)
    assert all(later >= earlier for earlier, later in itertools.pairwise(result.generation_best))
    kinds = {call[0] for call in calls}
    assert kinds == {"mutate", "crossover"}
    children = {call[3] for call in calls}
    assert sum(arch in children for arch, _ in result.evaluated[50:]) >= 50  # bred, not only uniform samples
    assert result.generation_best[-1] > result.generation_best[0]
