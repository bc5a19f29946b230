"""NAS-Bench-201 cell space: 4 nodes, 6 edges, 5 candidate ops per edge, 5**6 = 15,625 cells.

An architecture is a tuple of 6 op names in the edge order of the official string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2).

    >>> from lrnas.spaces import nb201
    >>> arch = nb201.parse_arch("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    >>> arch[:3]
    ('nor_conv_3x3', 'none', 'avg_pool_3x3')
"""
from __future__ import annotations

import itertools
import random

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (target node, source node) for each position of the architecture tuple.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(OPS) ** NUM_EDGES

Arch = tuple[str, ...]


class InvalidArch(ValueError):
    """An arch string that is not a NAS-Bench-201 cell; the message says why in one line."""


def parse_arch(arch_str: str) -> Arch:
    """Parse an official NB201 string into a 6-tuple of op names, or raise InvalidArch saying why."""
    if not isinstance(arch_str, str):
        raise InvalidArch(f"{arch_str!r} is not a string; expected e.g. {format_arch(('nor_conv_3x3',) * 6)!r}")
    nodes = arch_str.split("+")
    if len(nodes) != 3:
        raise InvalidArch(f"{arch_str!r} has {len(nodes)} node groups separated by '+', NB201 cells have 3")
    ops: list[str] = []
    for target, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            raise InvalidArch(f"{arch_str!r}: node group {group!r} must start and end with '|'")
        edges = group[1:-1].split("|")
        if len(edges) != target:
            raise InvalidArch(f"{arch_str!r}: node {target} has {len(edges)} incoming edges, expected {target}")
        for source, edge in enumerate(edges):
            op, sep, src = edge.partition("~")
            if op not in OPS:
                raise InvalidArch(f"{arch_str!r}: unknown op {op!r}; valid ops are {', '.join(OPS)}")
            if sep != "~" or src != str(source):
                raise InvalidArch(f"{arch_str!r}: edge {edge!r} into node {target} must read '{op}~{source}'")
            ops.append(op)
    return tuple(ops)


def format_arch(arch: Arch) -> str:
    """Inverse of :func:`parse_arch`."""
    if len(arch) != NUM_EDGES or any(op not in OPS for op in arch):
        raise InvalidArch(f"{arch!r} is not a tuple of {NUM_EDGES} ops from {', '.join(OPS)}")
    groups, i = [], 0
    for target in (1, 2, 3):
        groups.append("|" + "|".join(f"{arch[i + s]}~{s}" for s in range(target)) + "|")
        i += target
    return "+".join(groups)


def sample_arch(rng: random.Random) -> Arch:
    """Uniform sample over all 15,625 cells (each edge's op independently uniform)."""
    return tuple(rng.choice(OPS) for _ in range(NUM_EDGES))


def all_archs() -> list[Arch]:
    """Every cell of the space, in lexicographic order of op indices (not the NB201 index order)."""
    return list(itertools.product(OPS, repeat=NUM_EDGES))


def mutate(arch: Arch, rng: random.Random, prob: float) -> Arch:
    """SPOS mutation: each edge's op is resampled uniformly with probability ``prob`` (possibly to the same op).

    When no edge changed, one uniform edge gets a uniform *different* op, so a mutant is never a copy of its parent
    (a copy would only be rejected as already evaluated, wasting a draw).

        >>> arch = ("none",) * NUM_EDGES
        >>> sum(a != b for a, b in zip(arch, mutate(arch, random.Random(0), prob=0.0)))
        1
    """
    child = [rng.choice(OPS) if rng.random() < prob else op for op in arch]
    if tuple(child) == tuple(arch):
        edge = rng.randrange(NUM_EDGES)
        child[edge] = rng.choice([op for op in OPS if op != arch[edge]])
    return tuple(child)


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    """SPOS crossover: each edge's op taken from ``a`` or ``b`` with equal probability.

        >>> crossover(("none",) * NUM_EDGES, ("none",) * NUM_EDGES, random.Random(0)) == ("none",) * NUM_EDGES
        True
    """
    return tuple(rng.choice(pair) for pair in zip(a, b, strict=True))


def fair_paths(rng: random.Random) -> list[Arch]:
    """FairNAS strict fairness: ``len(OPS)`` cells that together use every op on every edge exactly once (path m takes
    the m-th op of a random permutation of OPS per edge).

        >>> paths = fair_paths(random.Random(0))
        >>> len(paths), all(sorted(ops) == sorted(OPS) for ops in zip(*paths))
        (5, True)
    """
    permutations = [rng.sample(OPS, len(OPS)) for _ in range(NUM_EDGES)]
    return [tuple(permutation[m] for permutation in permutations) for m in range(len(OPS))]
