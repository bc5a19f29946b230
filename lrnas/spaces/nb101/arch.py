"""NAS-Bench-101 cell space: DAGs of up to 7 vertices and 9 edges, 3 ops per interior vertex, 423,624 unique cells.

An architecture is ``(matrix, ops)``: an n x n strictly upper-triangular 0/1 adjacency matrix (tuple of tuples,
n = 2..7, vertex 0 is the input and n-1 the output) and the n-2 interior op names. Its string form (``arch_str``
everywhere in lrnas) is ``"<n*n adjacency bits, row-major>:<interior ops joined by ','>"``. Validity and pruning are
the official ``nasbench.api.ModelSpec``'s: vertices off every input -> output path are dropped, and a cell is valid
when input reaches output and the pruned cell has at most 9 edges. ``module_hash`` is NB101's isomorphism-invariant
key, so isomorphic or unpruned variants of a cell share it.

    >>> from lrnas.spaces import nb101
    >>> arch = nb101.parse_arch("0110000100010000:conv3x3-bn-relu,maxpool3x3")
    >>> arch
    (((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)), ('conv3x3-bn-relu', 'maxpool3x3'))
    >>> nb101.format_arch(arch), nb101.is_valid(arch)
    ('0110000100010000:conv3x3-bn-relu,maxpool3x3', True)
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")  # order = NB101's labels 0, 1, 2 (module_hash uses it)
NUM_VERTICES = 7
MAX_EDGES = 9
NUM_ARCHS = 423_624  # unique (isomorphism-class) valid cells, as in the NB101 paper and dataset
# The (source, target) pairs of a 7-vertex upper-triangular matrix: what random sampling and mutation draw over.
EDGE_SLOTS = tuple((u, v) for u in range(NUM_VERTICES) for v in range(u + 1, NUM_VERTICES))
# Bounded retries before mutate/crossover fall back to a deterministic search over small changes; a random draw
# is valid (and new) often enough that the fallback is only hit by degenerate parents or prob=0.
MAX_TRIES = 50
FORMAT = "'<n*n adjacency bits, row-major>:<interior ops joined by ','>'"

Matrix = tuple[tuple[int, ...], ...]
Arch = tuple[Matrix, tuple[str, ...]]


class InvalidArch(ValueError):
    """Not a (valid) NAS-Bench-101 cell; the message says why in one line."""


def parse_arch(arch_str: str) -> Arch:
    """Parse ``"<bits>:<ops>"`` into ``(matrix, ops)``; raise InvalidArch saying why (validity is :func:`validate`)."""
    if not isinstance(arch_str, str):
        raise InvalidArch(f"{arch_str!r} is not a string; expected {FORMAT}")
    bits, sep, op_list = arch_str.partition(":")
    if sep != ":" or ":" in op_list:
        raise InvalidArch(f"{arch_str!r} must contain exactly one ':'; expected {FORMAT}")
    if set(bits) - {"0", "1"}:
        raise InvalidArch(f"{arch_str!r}: adjacency {bits!r} may hold only 0s and 1s")
    n = round(len(bits) ** 0.5)
    if n * n != len(bits):
        raise InvalidArch(f"{arch_str!r}: adjacency has {len(bits)} bits, not n*n for a square matrix")
    matrix = [[int(bit) for bit in bits[row * n:(row + 1) * n]] for row in range(n)]
    return _check(matrix, op_list.split(",") if op_list else [], repr(arch_str))


def format_arch(arch: Arch) -> str:
    """Inverse of :func:`parse_arch` (any checked ``(matrix, ops)``, valid or not)."""
    matrix, ops = as_arch(arch)
    return "".join(str(bit) for row in matrix for bit in row) + ":" + ",".join(ops)


def as_arch(arch: Arch) -> Arch:
    """``arch`` as hashable tuples of ints and op names (a matrix may be lists or a numpy array); InvalidArch if not
    a square strictly upper-triangular 0/1 matrix of 2..7 vertices with one known op per interior vertex."""
    if isinstance(arch, str):
        raise InvalidArch(f"{arch!r} is a string, not a (matrix, ops) pair; parse it with parse_arch")
    try:
        matrix, ops = arch
        matrix, ops = [list(row) for row in matrix], list(ops)
    except (TypeError, ValueError):
        raise InvalidArch(f"{arch!r} is not a (matrix, ops) pair; expected e.g. {parse_arch('0100:')!r}") from None
    return _check(matrix, ops, repr(arch))


def _check(matrix: list[list[int]], ops: list[str], shown: str) -> Arch:
    n = len(matrix)
    if not 2 <= n <= NUM_VERTICES:
        raise InvalidArch(f"{shown}: {n} vertices; NB101 cells have 2..{NUM_VERTICES} (input and output included)")
    if any(len(row) != n for row in matrix):
        raise InvalidArch(f"{shown}: adjacency matrix is not square ({n} rows of lengths {[len(r) for r in matrix]})")
    if any(bit not in (0, 1) for row in matrix for bit in row):
        raise InvalidArch(f"{shown}: adjacency entries must be 0 or 1")
    below = [(u, v) for u in range(n) for v in range(u + 1) if matrix[u][v]]
    if below:
        raise InvalidArch(f"{shown}: edge {below[0][0]}->{below[0][1]} is on or below the diagonal; NB101 matrices "
                          "are strictly upper triangular (edges go from lower to higher vertex)")
    if len(ops) != n - 2:
        raise InvalidArch(f"{shown}: {len(ops)} ops for {n} vertices, expected {n - 2} (input and output have none)")
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise InvalidArch(f"{shown}: unknown op {unknown[0]!r}; valid ops are {', '.join(OPS)}")
    return tuple(tuple(int(bit) for bit in row) for row in matrix), tuple(ops)


def num_edges(arch: Arch) -> int:
    return sum(map(sum, arch[0]))


def prune(arch: Arch) -> Arch | None:
    """The cell without vertices off every input -> output path (ModelSpec._prune), or None if input cannot reach
    output. Pruning keeps the vertex order, so a pruned matrix is still upper triangular.

        >>> prune(parse_arch("010000000:conv1x1-bn-relu")) is None  # input -> 1, nothing reaches output
        True
        >>> format_arch(prune(parse_arch("0110000100000000:conv3x3-bn-relu,maxpool3x3")))  # vertex 2 is a dead end
        '010001000:conv3x3-bn-relu'
    """
    return _prune(as_arch(arch))


def _prune(arch: Arch) -> Arch | None:
    matrix, ops = arch
    n = len(matrix)
    # Edges only go from lower to higher vertices, so one pass in each direction finds all reachable vertices.
    from_input = {0}
    for v in range(1, n):
        if any(matrix[u][v] for u in from_input):
            from_input.add(v)
    to_output = {n - 1}
    for u in range(n - 2, -1, -1):
        if any(matrix[u][w] for w in to_output):
            to_output.add(u)
    keep = sorted(from_input & to_output)
    if len(keep) < 2:  # empty unless input reaches output (then both are in it)
        return None
    return tuple(tuple(matrix[u][v] for v in keep) for u in keep), tuple(ops[v - 1] for v in keep[1:-1])


def validate(arch: Arch) -> Arch:
    """The pruned form of a valid cell; InvalidArch says why a cell is not one (nasbench.api's _check_spec)."""
    return _validate(as_arch(arch))


def _validate(arch: Arch) -> Arch:
    pruned = _prune(arch)
    if pruned is None:
        raise InvalidArch(f"{format_arch(arch)!r}: input is not connected to output")
    if num_edges(pruned) > MAX_EDGES:
        raise InvalidArch(f"{format_arch(arch)!r}: {num_edges(pruned)} edges after pruning; NB101 allows at most "
                          f"{MAX_EDGES}")
    return pruned


def _valid_or_none(arch: Arch) -> Arch | None:
    pruned = _prune(arch)
    return pruned if pruned is not None and num_edges(pruned) <= MAX_EDGES else None


def check_pruned(arch_str: str) -> Arch:
    """The cell of ``arch_str`` if it is valid and pruned, as NB101's own files store cells; InvalidArch says why not
    (here: vertex 2 is a dead end).

        >>> check_pruned("011001000:conv1x1-bn-relu")[1]
        ('conv1x1-bn-relu',)
        >>> are_pruned(["011001000:conv1x1-bn-relu", "0110000100000000:conv3x3-bn-relu,maxpool3x3"]).tolist()
        [True, False]
    """
    arch = parse_arch(arch_str)
    pruned = _validate(arch)
    if pruned != arch:
        raise InvalidArch(f"{arch_str!r} is not pruned: its pruned form is {format_arch(pruned)!r} (a vertex is off "
                          "every input -> output path)")
    return arch


def are_pruned(arch_strs: Sequence[str]) -> np.ndarray:
    """Per string, whether :func:`check_pruned` accepts it: the matrix checks run on arrays, so all 423,624 cells take
    about a second (one by one they take half a minute)."""
    accepted = np.zeros(len(arch_strs), dtype=bool)
    by_size = defaultdict(list)  # n -> (position, bits) of the strings whose ops and size are right
    for position, arch_str in enumerate(arch_strs):
        bits, sep, op_list = arch_str.partition(":") if isinstance(arch_str, str) else ("", "", "")
        n = math.isqrt(len(bits))
        ops = op_list.split(",") if op_list else []
        if (sep and n * n == len(bits) and 2 <= n <= NUM_VERTICES and not bits.strip("01") and len(ops) == n - 2
                and all(op in OPS for op in ops)):
            by_size[n].append((position, bits))
    for n, rows in by_size.items():
        positions, bits = zip(*rows, strict=True)
        matrices = (np.frombuffer("".join(bits).encode(), dtype=np.uint8) - ord("0")).reshape(-1, n, n).astype(bool)
        upper = ~(matrices & np.tril(np.ones((n, n), dtype=bool))).any(axis=(1, 2))
        from_input, to_output = np.zeros((len(rows), n), dtype=bool), np.zeros((len(rows), n), dtype=bool)
        from_input[:, 0], to_output[:, -1] = True, True
        for v in range(1, n):  # edges go from lower to higher vertices: one pass in each direction
            from_input[:, v] = (from_input[:, :v] & matrices[:, :v, v]).any(axis=1)
            to_output[:, n - 1 - v] = (matrices[:, n - 1 - v, n - v:] & to_output[:, n - v:]).any(axis=1)
        on_paths = (from_input & to_output).all(axis=1)
        accepted[list(positions)] = upper & on_paths & (matrices.sum(axis=(1, 2)) <= MAX_EDGES)
    return accepted


def is_valid(arch: Arch) -> bool:
    """True for a cell of the NB101 space (after pruning: input reaches output, at most 9 edges and 7 vertices)."""
    try:
        validate(arch)
    except InvalidArch:
        return False
    return True


def module_hash(arch: Arch) -> str:
    """NB101's key of a valid cell: ``graph_util.hash_module`` of the pruned matrix with labels input=-1, OPS index,
    output=-2 (what ``ModelSpec.hash_spec`` computes). Isomorphic and unpruned variants share it.

        >>> module_hash(parse_arch("0110000100010000:conv3x3-bn-relu,maxpool3x3"))
        '7c65f6bd01b87407734781b6038050bc'
    """
    return _hash(validate(arch))


def _hash(pruned: Arch) -> str:
    matrix, ops = pruned
    n = len(matrix)
    labels = [-1, *(OPS.index(op) for op in ops), -2]
    preds = [[u for u in range(n) if matrix[u][v]] for v in range(n)]
    succs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    # The str() forms below are the official ones byte for byte (a tuple of Python ints; a list of str).
    hashes = [_md5(str((len(succs[v]), len(preds[v]), labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [_md5("".join(sorted(hashes[u] for u in preds[v])) + "|"
                       + "".join(sorted(hashes[w] for w in succs[v])) + "|" + hashes[v]) for v in range(n)]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


# --- Uniform sampling over the whole space (no table) ---------------------------------------------------------------
# A labelled form is an n x n upper-triangular matrix as a bitmask over _SLOTS[n] (bit i = edge _SLOTS[n][i]) plus ops.
_SLOTS = {n: tuple((u, v) for u in range(n) for v in range(u + 1, n)) for n in range(2, NUM_VERTICES + 1)}


@functools.cache
def _pruned_matrices(n: int) -> tuple[int, ...]:
    """Every n-vertex matrix (bitmask) with at most 9 edges on which every vertex lies on an input -> output path.

    That holds exactly when every interior vertex has a predecessor and a successor (following either from any vertex
    can only end at the input or the output), so 0->1 and (n-2)->(n-1) are always edges. 1, 2, 10, 121, 1,545 and
    4,793 matrices for n = 2..7 (for n = 7 among 94,184 candidates), listed in about 0.2 s once per process.
    """
    bit = {slot: 1 << i for i, slot in enumerate(_SLOTS[n])}
    forced = bit[(0, 1)] | bit[(n - 2, n - 1)]
    free = [b for b in bit.values() if not b & forced]
    into = [sum(bit[(u, v)] for u in range(v)) for v in range(n)]
    out_of = [sum(bit[(v, w)] for w in range(v + 1, n)) for v in range(n)]
    matrices = []
    for k in range(min(MAX_EDGES - forced.bit_count(), len(free)) + 1):
        for edges in itertools.combinations(free, k):
            mask = forced | sum(edges)
            if all(mask & into[v] and mask & out_of[v] for v in range(1, n - 1)):
                matrices.append(mask)
    return tuple(matrices)


@functools.cache
def _shape(n: int, mask: int) -> tuple[Matrix, int, tuple[tuple[int, ...], ...]]:
    """A pruned matrix as tuples, its number of topological orders of the interior vertices (the vertex orders that keep
    it upper triangular) and its automorphisms other than the identity (permutations of the interior vertices that
    map it to itself)."""
    matrix = tuple(tuple(int(u < v and bool(mask >> _SLOTS[n].index((u, v)) & 1)) for v in range(n)) for u in range(n))
    interior = range(1, n - 1)
    predecessors = [sum(1 << u for u in interior if matrix[u][v]) for v in range(n)]
    orders = [0] * (1 << n)  # orders[placed] = ways to place the vertex set `placed` first (a subset DP)
    orders[0] = 1
    for placed in range(1 << n):
        if orders[placed]:
            for v in interior:
                if not placed >> v & 1 and not predecessors[v] & ~placed:
                    orders[placed | 1 << v] += orders[placed]
    # An automorphism keeps each vertex's in/out degree and its edges from the input and to the output.
    groups: dict[tuple, list[int]] = {}
    for v in interior:
        key = (sum(matrix[v]), sum(row[v] for row in matrix), matrix[0][v], matrix[v][n - 1])
        groups.setdefault(key, []).append(v)
    movable = [group for group in groups.values() if len(group) > 1]
    automorphisms = []
    for images in itertools.product(*(itertools.permutations(group) for group in movable)):
        p = list(range(n))
        for group, image in zip(movable, images, strict=True):
            for v, w in zip(group, image, strict=True):
                p[v] = w
        if p != list(range(n)) and all(matrix[p[u]][p[v]] == matrix[u][v] for u in range(n) for v in range(n)):
            automorphisms.append(tuple(p))
    return matrix, orders[sum(1 << v for v in interior)], tuple(automorphisms)


def labelled_forms(arch: Arch) -> int:
    """How many distinct upper-triangular ``(matrix, ops)`` forms a valid pruned cell has: its topological orders of
    interior vertices divided by its automorphisms that keep the ops (each form is reached by that many orders).

        >>> labelled_forms(parse_arch("0110000100010000:conv3x3-bn-relu,maxpool3x3"))  # vertices 1, 2 swap
        2
        >>> labelled_forms(parse_arch("0110000100010000:maxpool3x3,maxpool3x3"))  # ... to the same form
        1
    """
    matrix, ops = validate(arch)
    n = len(matrix)
    mask = sum(1 << i for i, (u, v) in enumerate(_SLOTS[n]) if matrix[u][v])
    return _forms(n, mask, ops)


def _forms(n: int, mask: int, ops: tuple[str, ...]) -> int:
    _, orders, automorphisms = _shape(n, mask)
    keep_ops = 1 + sum(all(ops[p[v] - 1] == ops[v - 1] for v in range(1, n - 1)) for p in automorphisms)
    return orders // keep_ops


@functools.cache
def _candidates(sizes: tuple[int, ...]) -> tuple[tuple[tuple[int, int], ...], list[int]]:
    """(n, mask) for every pruned matrix of the given sizes, with cumulative weights 3^(n-2) (its op choices)."""
    candidates = tuple((n, mask) for n in sizes for mask in _pruned_matrices(n))
    return candidates, list(itertools.accumulate(3 ** (n - 2) for n, _ in candidates))


def sample_arch(rng: random.Random, num_vertices: int | None = None) -> Arch:
    """A pruned cell drawn uniformly from all 423,624 (every isomorphism class, i.e. module hash, equally likely), or
    from the cells of ``num_vertices`` vertices; the ground-truth table is not needed.

    Why uniform: let S be the labelled forms ``(matrix, ops)`` that are valid and already pruned (every vertex on an
    input -> output path, at most 9 edges). A cell has ``c = labelled_forms(cell)`` members of S (its topological
    vertex orders over its op-keeping automorphisms). Each try draws a uniform member of S (a pruned matrix with
    weight 3^(n-2), then uniform ops) and keeps it with probability 1/c, so every cell is kept with probability
    c/|S| * 1/c = 1/|S| per try. |S| = 1,293,208 (so 3.05 tries per cell); the sum of 1/c over S is 423,624, NB101's
        count, which tests check exactly. Cost: 0.25 s for the first cell (listing the 6,472 pruned matrices), about
    0.2 ms per matrix seen for the first time, then about 50 us a cell (0.4 ms a cell over the first 1,000 draws;
    measured under load on 2 shared CPU cores).

    NB101's own sampler, rejection from random 7x7 matrices, is uniform over labelled specs instead and strongly
    favours small cells (9.9% input -> output only, 0.3% with 7 vertices; here 85% have 7 vertices, as in the space).

        >>> arch = sample_arch(random.Random(0))
        >>> is_valid(arch) and prune(arch) == arch, len(sample_arch(random.Random(0), num_vertices=5)[0])
        (True, 5)
    """
    if num_vertices is None:
        sizes = tuple(range(2, NUM_VERTICES + 1))
    elif num_vertices in _SLOTS:
        sizes = (num_vertices,)
    else:
        raise ValueError(f"num_vertices={num_vertices!r}: NB101 cells have 2..{NUM_VERTICES} vertices")
    candidates, cumulative = _candidates(sizes)
    while True:
        n, mask = rng.choices(candidates, cum_weights=cumulative)[0]
        ops = tuple(rng.choice(OPS) for _ in range(n - 2))
        if rng.random() * _forms(n, mask, ops) < 1:
            return _shape(n, mask)[0], ops


def fair_paths(rng: random.Random) -> list[Arch]:
    """FairNAS strict fairness: ``len(OPS)`` cells on the graph of one uniformly drawn 7-vertex cell (so every interior
    vertex is live), where each vertex takes every op exactly once across the cells (path m takes the m-th op of a
    random permutation per vertex).

        >>> paths = fair_paths(random.Random(0))
        >>> len({m for m, _ in paths}), [sorted(ops) == sorted(OPS) for ops in zip(*(o for _, o in paths))]
        (1, [True, True, True, True, True])
    """
    matrix = sample_arch(rng, num_vertices=NUM_VERTICES)[0]
    permutations = [rng.sample(OPS, len(OPS)) for _ in range(NUM_VERTICES - 2)]
    return [(matrix, tuple(permutation[m] for permutation in permutations)) for m in range(len(OPS))]


def _pad(arch: Arch, rng: random.Random, at_end: bool = False) -> tuple[list[list[int]], list[str]]:
    """A pruned cell back on 7 vertices: isolated vertices with uniform ops inserted at random interior positions (or
    just before the output), so that mutation and crossover can grow a small cell again; they prune away unchanged."""
    matrix, ops = arch
    n = len(matrix)
    free = range(n - 1, NUM_VERTICES - 1) if at_end else rng.sample(range(1, NUM_VERTICES - 1), NUM_VERTICES - n)
    old = [v for v in range(NUM_VERTICES) if v not in set(free)]  # old vertex i sits at old[i]
    padded = [[0] * NUM_VERTICES for _ in range(NUM_VERTICES)]
    for i, j in itertools.product(range(n), repeat=2):
        padded[old[i]][old[j]] = matrix[i][j]
    vertex_ops = dict(zip(old[1:-1], ops, strict=True))
    return padded, [vertex_ops.get(v) or rng.choice(OPS) for v in range(1, NUM_VERTICES - 1)]


def _spec(matrix: list[list[int]], ops: list[str]) -> Arch:
    return tuple(map(tuple, matrix)), tuple(ops)


def mutate(arch: Arch, rng: random.Random, prob: float) -> Arch:
    """A valid mutant of a valid cell, pruned, never isomorphic to it (module hashes differ).

    On the 7-vertex form (see ``_pad``) each of the 21 edge slots is flipped and each op replaced by a different uniform
    op with probability ``prob`` (NB101's mutation); draws that are invalid or unchanged after pruning are redrawn up to
    MAX_TRIES times, then the first valid new cell among single changes (and, for the 2-vertex cell, pairs of edge
    flips) in random order is returned.

        >>> parent = parse_arch("0110000100010000:conv3x3-bn-relu,maxpool3x3")
        >>> child = mutate(parent, random.Random(0), prob=0.1)
        >>> is_valid(child), module_hash(child) != module_hash(parent)
        (True, True)
    """
    parent = validate(arch)
    parent_hash = _hash(parent)
    matrix, ops = _pad(parent, rng)

    def new_cell(child_matrix: list[list[int]], child_ops: list[str]) -> Arch | None:
        child = _valid_or_none(_spec(child_matrix, child_ops))
        return child if child is not None and _hash(child) != parent_hash else None

    for _ in range(MAX_TRIES if prob > 0 else 0):
        child_matrix = [row[:] for row in matrix]
        for u, v in EDGE_SLOTS:
            if rng.random() < prob:
                child_matrix[u][v] ^= 1
        child_ops = [rng.choice([o for o in OPS if o != op]) if rng.random() < prob else op for op in ops]
        child = new_cell(child_matrix, child_ops)
        if child is not None:
            return child
    changes = [[slot] for slot in EDGE_SLOTS] + [[(v, op)] for v in range(len(ops)) for op in OPS if op != ops[v]]
    # An op change of a live vertex always gives a new cell; only "0100:" (no interior vertex) needs two edge flips.
    pairs = [list(pair) for pair in itertools.combinations(EDGE_SLOTS, 2)]
    rng.shuffle(changes)
    rng.shuffle(pairs)
    for change in changes + pairs:
        child_matrix, child_ops = [row[:] for row in matrix], list(ops)
        for position, value in change:  # (vertex, op) or an edge slot (u, v)
            if isinstance(value, str):
                child_ops[position] = value
            else:
                child_matrix[position][value] ^= 1
        child = new_cell(child_matrix, child_ops)
        if child is not None:
            return child
    raise AssertionError(f"no valid mutant of {format_arch(parent)!r}")  # unreachable: an op change always differs


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    """A valid child of two valid cells, pruned: on their 7-vertex forms (padded before the output, so vertex i of
    ``a`` meets vertex i of ``b``) each edge slot and op comes from ``a`` or ``b`` with equal probability, redrawn up
    to MAX_TRIES times until valid (then a single-change mutant of ``a``).

        >>> a = parse_arch("0110000100010000:conv3x3-bn-relu,maxpool3x3")
        >>> crossover(a, a, random.Random(0)) == a
        True
    """
    matrix_a, ops_a = _pad(validate(a), rng, at_end=True)
    matrix_b, ops_b = _pad(validate(b), rng, at_end=True)
    for _ in range(MAX_TRIES):
        matrix = [[0] * NUM_VERTICES for _ in range(NUM_VERTICES)]
        for u, v in EDGE_SLOTS:
            matrix[u][v] = (matrix_a if rng.random() < 0.5 else matrix_b)[u][v]
        ops = [rng.choice(pair) for pair in zip(ops_a, ops_b, strict=True)]
        child = _valid_or_none(_spec(matrix, ops))
        if child is not None:
            return child
    return mutate(a, rng, prob=0.0)
