"""NAS-Bench-201 cells restricted to two ops, 2**6 = 64 cells: a space of its own with NB201's super-net and the NB201
ground truth of its cells. Every name of lrnas.spaces.FACE is defined; None where the space lacks a capability."""
from __future__ import annotations

import random

from lrnas.spaces import nb201

OPS = ("nor_conv_3x3", "skip_connect")
NUM_EDGES = nb201.NUM_EDGES
NUM_ARCHS = len(OPS) ** NUM_EDGES
InvalidArch = nb201.InvalidArch
format_arch = nb201.format_arch
SUPERNET = nb201.SUPERNET  # NB201's super-net runs any cell of NB201's ops
CONFIG_RULES = nb201.CONFIG_RULES  # its keys space.supernet.*
check_config = validate = None
RELAXED_OPS = RELAXED_EDGES = most_probable = derive_arch = None  # no relaxation: sampling algorithms only
one_edit = edit_distance = None  # no landmarks=hamming


def parse_arch(text: str) -> tuple[str, ...]:
    arch = nb201.parse_arch(text)
    if any(op not in OPS for op in arch):
        raise InvalidArch(f"{text!r} uses ops outside {', '.join(OPS)}")
    return arch


def sample_arch(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.choice(OPS) for _ in range(NUM_EDGES))


def mutate(arch, rng: random.Random, prob: float) -> tuple[str, ...]:
    """Each edge flips with probability ``prob``; one edge flips when none did."""
    child = [OPS[op == OPS[0]] if rng.random() < prob else op for op in arch]
    if tuple(child) == tuple(arch):
        edge = rng.randrange(NUM_EDGES)
        child[edge] = OPS[child[edge] == OPS[0]]
    return tuple(child)


def crossover(a, b, rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.choice(pair) for pair in zip(a, b, strict=True))


def fair_paths(rng: random.Random) -> list[tuple[str, ...]]:
    permutations = [rng.sample(OPS, len(OPS)) for _ in range(NUM_EDGES)]
    return [tuple(permutation[m] for permutation in permutations) for m in range(len(OPS))]


def load_benchmark(table: str | None):
    """NB201's rows of the 64 cells."""
    full = nb201.load_benchmark(table)
    return type(full)(full.table[[all(op in OPS for op in nb201.parse_arch(a)) for a in full.archs]])
