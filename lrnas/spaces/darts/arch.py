"""DARTS cell space (Liu et al., ICLR 2019): a normal and a reduction cell, each with two inputs and four nodes.

Node i (2..5) sums two inputs, each an ``(op, source)`` pair: source is an earlier state (0 and 1 are the cell's
inputs, the outputs of the two previous cells) and op one of the 7 DARTS ops, or ``none`` (a zero input): NDS trained
networks with it, so a table can hold such cells, but lrnas's samplers never draw it (DARTS derives none). A cell's
output concatenates nodes 2..5. An architecture is ``(normal, reduce)``, each a tuple of 8
pairs, node 2's two first; the two pairs of a node are kept sorted (their sum does not depend on the order), so
equal networks have equal strings. The string form is DARTS's own ``Genotype`` notation, which DARTS's
``cnn/train.py`` trains as it is (and NDS's JSON form, ``from_nds_genotype``).

    >>> from lrnas.spaces.darts import arch as darts
    >>> arch = darts.sample_arch(random.Random(0))
    >>> darts.parse_arch(darts.format_arch(arch)) == arch
    True
    >>> darts.format_arch(arch)[:42]
    "Genotype(normal=[('dil_conv_5x5', 1), ('di"

Sources are drawn with replacement, so both inputs of a node may come from the same state: the authors' sampler
(kcyu2014/nas-landmarkreg nasws/cnn/search_space/darts/genotype.py, ``random_cell``: ``np.random.choice(..., replace=
True)``) and NDS's DARTS networks allow it, and a relaxed edge then carries two ops.
"""
from __future__ import annotations

import ast
import math
import random
from collections.abc import Sequence

import numpy as np

# DARTS's PRIMITIVES (quark0/darts cnn/genotypes.py:5-14) in its order. OPS, what samplers and mutations draw, leave
# "none" out; a parsed cell may hold it (NDS's networks do: ``lrnas bench import nds --keep-none``).
RELAXED_OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
               "dil_conv_3x3", "dil_conv_5x5")
OPS = RELAXED_OPS[1:]
NONE = "none"
CELL_TYPES = ("normal", "reduce")
NODES = (2, 3, 4, 5)
CONCAT = list(NODES)  # every DARTS cell concatenates all intermediate nodes (genotypes.py: concat=[2, 3, 4, 5])
PAIRS_PER_CELL = 2 * len(NODES)
# The 14 edges of one cell in DARTS's order (model_search.py Cell: for i in steps, for j in range(2 + i)).
CELL_EDGES = tuple((node, source) for node in NODES for source in range(node))
# One row of the relaxation per (cell type, edge): the normal cell's 14 edges, then the reduction cell's. The first
# element groups edges by node (PC-DARTS's edge normalisation is a softmax over a node's incoming edges).
RELAXED_EDGES = tuple(((cell, node), source) for cell in CELL_TYPES for node, source in CELL_EDGES)
NUM_EDGES = len(RELAXED_EDGES)
# Distinct cells: per node an unordered pair (with repetition) of (op, source) items, 7 * node of them.
NUM_CELLS = math.prod(math.comb(len(OPS) * node + 1, 2) for node in NODES)
NUM_ARCHS = NUM_CELLS ** 2
EXAMPLE = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
           "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, "
           "4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
           "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, "
           "4, 5])")  # DARTS_V2 (genotypes.py:74)

Pair = tuple[str, int]
Cell = tuple[Pair, ...]
Arch = tuple[Cell, Cell]


class InvalidArch(ValueError):
    """Not an architecture of the DARTS space; the message says why in one line."""


def parse_arch(arch_str: str) -> Arch:
    """Parse DARTS's ``Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])``; raise
    InvalidArch saying why not (``concat`` may be written ``range(2, 6)``, as in DARTS's genotypes.py)."""
    if not isinstance(arch_str, str):
        raise InvalidArch(f"{arch_str!r} is not a string; expected DARTS's notation, e.g. {EXAMPLE!r}")
    try:
        call = ast.parse(arch_str.strip(), mode="eval").body
    except SyntaxError:
        raise InvalidArch(f"{arch_str!r} is not DARTS's Genotype(...) notation (a syntax error)") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Genotype"):
        raise InvalidArch(f"{arch_str!r} must read Genotype(normal=[...], normal_concat=[...], reduce=[...], "
                          "reduce_concat=[...])")
    fields = ("normal", "normal_concat", "reduce", "reduce_concat")
    if len(call.args) > len(fields):
        raise InvalidArch(f"{arch_str!r}: Genotype takes {len(fields)} fields, got {len(call.args)} positional ones")
    values = dict(zip(fields, call.args, strict=False))
    twice = [k.arg for k in call.keywords if k.arg in values]
    if twice:
        raise InvalidArch(f"{arch_str!r}: Genotype field {twice[0]} is given twice")
    values |= {k.arg: k.value for k in call.keywords}
    unknown = set(values) - set(fields)
    if unknown or len(values) != len(fields):
        raise InvalidArch(f"{arch_str!r}: Genotype needs exactly the fields {', '.join(fields)}"
                          + (f" (unknown: {', '.join(sorted(map(str, unknown)))})" if unknown else ""))
    return _from_fields({name: _literal(node, name, arch_str) for name, node in values.items()}, repr(arch_str))


def _literal(node: ast.expr, name: str, shown: str):
    is_range = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
    try:
        return list(range(*(ast.literal_eval(arg) for arg in node.args))) if is_range else ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise InvalidArch(f"{shown!r}: {name} must be a literal list") from None


def from_nds_genotype(genotype: dict) -> Arch:
    """An architecture from NDS's JSON genotype ``{"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [2, 3, 4, 5],
    "reduce": [...], "reduce_concat": [...]}``; InvalidArch saying why not."""
    if not isinstance(genotype, dict):
        raise InvalidArch(f"{genotype!r} is not an NDS genotype (a JSON object with normal, normal_concat, reduce, "
                          "reduce_concat)")
    missing = [key for key in ("normal", "normal_concat", "reduce", "reduce_concat") if key not in genotype]
    if missing:
        raise InvalidArch(f"NDS genotype lacks {', '.join(missing)}")
    return _from_fields(genotype, "NDS genotype")


def to_nds_genotype(arch: Arch) -> dict:
    """Inverse of :func:`from_nds_genotype`."""
    normal, reduce = check_arch(arch)
    return {"normal": [list(pair) for pair in normal], "normal_concat": CONCAT,
            "reduce": [list(pair) for pair in reduce], "reduce_concat": CONCAT}


def _from_fields(fields: dict, shown: str) -> Arch:
    cells = []
    for cell in CELL_TYPES:
        concat = fields[f"{cell}_concat"]
        if not isinstance(concat, (list, tuple)) or list(concat) != CONCAT:
            raise InvalidArch(f"{shown}: {cell}_concat={concat!r}; the DARTS space concatenates nodes {CONCAT}")
        cells.append(_check_cell(fields[cell], cell, shown))
    return cells[0], cells[1]


def _check_cell(pairs, cell: str, shown: str) -> Cell:
    if not isinstance(pairs, (list, tuple)) or len(pairs) != PAIRS_PER_CELL:
        count = len(pairs) if isinstance(pairs, (list, tuple)) else "no"
        raise InvalidArch(f"{shown}: the {cell} cell has {count} (op, input) pairs; DARTS cells have "
                          f"{PAIRS_PER_CELL} (two per node {NODES[0]}..{NODES[-1]})")
    checked = []
    for position, pair in enumerate(pairs):
        node = NODES[position // 2]
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise InvalidArch(f"{shown}: {cell} pair {position} is {pair!r}, not an (op, input) pair")
        op, source = pair
        if op not in RELAXED_OPS:
            raise InvalidArch(f"{shown}: {cell} pair {position} has unknown op {op!r}; valid ops are "
                              f"{', '.join(RELAXED_OPS)}")
        if not (isinstance(source, int) and not isinstance(source, bool) and 0 <= source < node):
            raise InvalidArch(f"{shown}: {cell} pair {position} reads state {source!r}; node {node} can read states "
                              f"0..{node - 1}")
        checked.append((op, source))
    return _canonical(checked)


def _canonical(pairs: Sequence[Pair]) -> Cell:
    """Each node's two pairs in (source, op) order: the node sums them, so the order carries no meaning."""
    return tuple(pair for i in range(0, PAIRS_PER_CELL, 2)
                 for pair in sorted(pairs[i:i + 2], key=lambda p: (p[1], p[0])))


def uses_none(arch: Arch) -> bool:
    """Whether a cell of ``arch`` has a ``none`` input (a zero op, as in some NDS networks)."""
    return any(op == NONE for cell in arch for op, _ in cell)


def check_arch(arch) -> Arch:
    """``arch`` as a canonical ``(normal, reduce)`` tuple; InvalidArch if it is not one."""
    if isinstance(arch, str):
        raise InvalidArch(f"{arch!r} is a string, not a (normal, reduce) pair; parse it with parse_arch")
    try:
        normal, reduce = arch
    except (TypeError, ValueError):
        raise InvalidArch(f"{arch!r} is not a (normal, reduce) pair of cells") from None
    return _check_cell(normal, "normal", repr(arch)), _check_cell(reduce, "reduce", repr(arch))


def format_arch(arch: Arch) -> str:
    """DARTS's Genotype notation (``str(Genotype(...))`` in DARTS's code), the inverse of :func:`parse_arch`."""
    normal, reduce = check_arch(arch)
    return (f"Genotype(normal={list(normal)!r}, normal_concat={CONCAT!r}, reduce={list(reduce)!r}, "
            f"reduce_concat={CONCAT!r})")


def _random_cell(rng: random.Random) -> Cell:
    return _canonical([(rng.choice(OPS), rng.randrange(node)) for node in NODES for _ in range(2)])


def sample_arch(rng: random.Random) -> Arch:
    """Each input of each node independently: a uniform op and a uniform earlier state (the authors' ``random_cell``
    over the 7 ops), both cells independent."""
    return _random_cell(rng), _random_cell(rng)


def mutate(arch: Arch, rng: random.Random, prob: float) -> Arch:
    """Each of the 16 pairs gets, with probability ``prob`` each, a different input state and a different op (the
    authors' ``mutate_topology``, darts_search_space.py:98-127); a mutant equal to its parent gets one pair's op
    changed instead, so it always differs.

        >>> arch = sample_arch(random.Random(0))
        >>> mutate(arch, random.Random(1), prob=0.0) != arch
        True
    """
    cells = [list(cell) for cell in check_arch(arch)]
    child = [[_mutate_pair(pair, NODES[i // 2], rng, prob) for i, pair in enumerate(cell)] for cell in cells]
    result = (_canonical(child[0]), _canonical(child[1]))
    if result != tuple(map(tuple, cells)):
        return result
    cell, position = rng.randrange(2), rng.randrange(PAIRS_PER_CELL)
    op, source = cells[cell][position]
    cells[cell][position] = (rng.choice([o for o in OPS if o != op]), source)  # one changed pair: a new multiset
    return _canonical(cells[0]), _canonical(cells[1])


def _mutate_pair(pair: Pair, node: int, rng: random.Random, prob: float) -> Pair:
    op, source = pair
    if rng.random() < prob:
        source = rng.choice([s for s in range(node) if s != source])
    if rng.random() < prob:
        op = rng.choice([o for o in OPS if o != op])
    return op, source


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    """Each node of each cell takes both its inputs from ``a`` or from ``b`` with equal probability.

        >>> arch = sample_arch(random.Random(0))
        >>> crossover(arch, arch, random.Random(0)) == arch
        True
    """
    cells = []
    for cell_a, cell_b in zip(check_arch(a), check_arch(b), strict=True):
        cells.append(tuple(pair for i in range(0, PAIRS_PER_CELL, 2)
                           for pair in (cell_a if rng.random() < 0.5 else cell_b)[i:i + 2]))
    return cells[0], cells[1]


def fair_paths(rng: random.Random) -> list[Arch]:
    """FairNAS strict fairness: 7 architectures on the inputs of one sampled architecture, where each of the 16
    (op, input) slots takes every op exactly once across them (path m takes the m-th op of a random permutation).

        >>> paths = fair_paths(random.Random(0))
        >>> len(paths), len({tuple(s for _, s in cell) for arch in paths for cell in arch}) <= 2
        (7, True)
    """
    sources = [[source for _, source in cell] for cell in (_random_cell(rng), _random_cell(rng))]
    permutations = [[rng.sample(OPS, len(OPS)) for _ in range(PAIRS_PER_CELL)] for _ in CELL_TYPES]
    return [tuple(_canonical([(permutations[c][i][m], sources[c][i]) for i in range(PAIRS_PER_CELL)])
                  for c in range(len(CELL_TYPES))) for m in range(len(OPS))]


# --- The relaxation (PC-DARTS, GDAS) --------------------------------------------------------------------------------

_ROW = {edge: row for row, edge in enumerate(RELAXED_EDGES)}


def edge_index(cell: str, node: int, source: int) -> int:
    """The row of ``RELAXED_EDGES`` (and of the op weights) of edge ``source -> node`` in cell type ``cell``."""
    return _ROW[(cell, node), source]


def candidate_nodes(probabilities) -> list[list[tuple[tuple[Pair, Pair], float]]]:
    """For each of the 8 nodes (normal cell's, then reduction cell's), every choice of two distinct input edges, each
    with its strongest op other than ``none``, scored by the product of their weights, best first: DARTS's
    ``genotype()`` (model_search.py:160-183) keeps the top-2 edges by that weight, which is this list's first entry."""
    nodes = []
    for cell in CELL_TYPES:
        for node in NODES:
            best = []
            for source in range(node):
                row = list(probabilities[edge_index(cell, node, source)])
                k = max(range(1, len(RELAXED_OPS)), key=lambda j: row[j])  # ties: the first, as DARTS's loop
                best.append(((RELAXED_OPS[k], source), float(row[k])))
            pairs = [((a, b), wa * wb) for i, (a, wa) in enumerate(best) for b, wb in best[i + 1:]]
            nodes.append(sorted(pairs, key=lambda item: -item[1]))
    return nodes


def most_probable(probabilities, k: int, edge_weights=None) -> list[tuple[Arch, float]]:
    """The ``k`` architectures with the highest product of node scores (:func:`candidate_nodes`), DARTS's derived
    genotype first; ``probabilities`` has one row per ``RELAXED_EDGES`` entry and one column per ``RELAXED_OPS``.
    ``edge_weights`` (PC-DARTS's edge normalisation) scale the rows first, as PC-DARTS's ``genotype()`` does
    (yuhuixu1993/PC-DARTS model_search.py: ``_parse(weights * edge weights)``)."""
    probabilities = np.asarray(probabilities, dtype=float)
    if edge_weights is not None:
        probabilities = probabilities * np.asarray(edge_weights, dtype=float)[:, None]
    beam: list[tuple[list[Pair], float]] = [([], 1.0)]
    for choices in candidate_nodes(probabilities):
        beam = sorted(((pairs + list(pair), score * weight) for pairs, score in beam for pair, weight in choices),
                      key=lambda item: -item[1])[:k]
    return [((_canonical(pairs[:PAIRS_PER_CELL]), _canonical(pairs[PAIRS_PER_CELL:])), score) for pairs, score in beam]


def derive_arch(probabilities, edge_weights=None) -> Arch:
    """DARTS's discrete architecture from the op weights: per node the two strongest edges and their strongest op."""
    return most_probable(probabilities, 1, edge_weights)[0][0]
