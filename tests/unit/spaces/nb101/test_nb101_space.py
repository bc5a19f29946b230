import itertools
import random
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from lrnas.spaces import get_space, nb101, nb201
from lrnas.spaces.nb101 import arch as nb101_arch  # its private helpers
from lrnas.spaces.nb101.benchmark import load_nb101

CELL = "0110000100010000:conv3x3-bn-relu,maxpool3x3"  # 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3


def padded_with_dead_vertex(arch_str: str) -> str:
    """The same cell with one more vertex, fed by the input but feeding nothing (pruning removes it)."""
    matrix, ops = nb101.parse_arch(arch_str)
    n = len(matrix)
    rows = [list(row[:-1]) + [0] + [row[-1]] for row in matrix]  # new vertex n-1 just before the output
    rows.insert(n - 1, [0] * (n + 1))
    rows[0][n - 1] = 1
    return nb101.format_arch((rows, (*ops, "maxpool3x3")))


def test_space_is_registered():
    assert get_space("nb101") is nb101
    assert nb101.NUM_ARCHS == 423_624 and nb101.NUM_VERTICES == 7 and nb101.MAX_EDGES == 9


def test_parse_format_round_trip():
    arch = nb101.parse_arch(CELL)
    assert arch == (((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)), ("conv3x3-bn-relu", "maxpool3x3"))
    assert nb101.format_arch(arch) == CELL
    assert nb101.parse_arch("0100:") == (((0, 1), (0, 0)), ())
    assert nb101.as_arch(([[0, 1], [0, 0]], [])) == nb101.parse_arch("0100:")  # lists are accepted and made hashable


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("0110000100010000", "exactly one ':'"),
        ("0110000100010002:conv3x3-bn-relu,maxpool3x3", "only 0s and 1s"),
        ("011000010001000:conv3x3-bn-relu,maxpool3x3", "15 bits, not n\\*n"),
        ("0110100100010000:conv3x3-bn-relu,maxpool3x3", "edge 1->0 is on or below the diagonal"),
        ("0110000100010000:conv3x3-bn-relu", "1 ops for 4 vertices, expected 2"),
        ("0110000100010000:conv3x3-bn-relu,conv5x5", "unknown op 'conv5x5'"),
        ("1:", "1 vertices; NB101 cells have 2..7"),
        ("0" * 64 + ":" + ",".join(["maxpool3x3"] * 6), "8 vertices"),
    ],
)
def test_invalid_strings_say_why_in_one_line(bad, reason):
    with pytest.raises(nb101.InvalidArch, match=reason) as info:
        nb101.parse_arch(bad)
    assert "\n" not in str(info.value)


def test_pruning_removes_extraneous_vertices():
    assert nb101.prune(nb101.parse_arch(padded_with_dead_vertex(CELL))) == nb101.parse_arch(CELL)
    # vertex 1 is a dead end (input -> 1 only), vertex 2 unreachable (2 -> output only); both go
    dead_ends = nb101.parse_arch("0101000000000010000100000:conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3")
    assert nb101.format_arch(nb101.prune(dead_ends)) == "010001000:maxpool3x3"


def test_validity_follows_model_spec():
    disconnected = nb101.parse_arch("0100000000000000:conv3x3-bn-relu,conv3x3-bn-relu")
    assert nb101.prune(disconnected) is None and not nb101.is_valid(disconnected)
    with pytest.raises(nb101.InvalidArch, match="input is not connected to output"):
        nb101.validate(disconnected)
    full_dag = tuple(tuple(int(u < v) for v in range(7)) for u in range(7)), ("conv3x3-bn-relu",) * 5
    assert not nb101.is_valid(full_dag)
    with pytest.raises(nb101.InvalidArch, match="21 edges after pruning; NB101 allows at most 9"):
        nb101.validate(full_dag)
    # 11 edges, but all among dead vertices but one: the pruned cell (input -> output) is valid
    dead_clique = [[int(0 < u < v < 6) for v in range(7)] for u in range(7)]
    dead_clique[0][6] = 1
    assert nb101.num_edges((dead_clique, ())) == 11
    assert nb101.validate((dead_clique, ("maxpool3x3",) * 5)) == nb101.parse_arch("0100:")
    assert not nb101.is_valid("not a cell") and not nb101.is_valid(((1,), ()))


def test_module_hash_reproduces_official_keys():
    table = load_nb101().table.sample(2000, random_state=0)
    for key, arch_str in zip(table["hash"], table["arch_str"], strict=True):
        assert nb101.module_hash(nb101.parse_arch(arch_str)) == key, arch_str
    six = table.loc[table["arch_str"].str.find(":") == 36].iloc[0]  # a 6-vertex cell
    assert nb101.module_hash(nb101.parse_arch(padded_with_dead_vertex(six["arch_str"]))) == six["hash"]


def test_module_hash_is_isomorphism_invariant():
    # Swap vertices 1 and 2 of CELL (neither reaches the other): the same cell under another vertex order.
    swapped = nb101.parse_arch("0110000100010000:maxpool3x3,conv3x3-bn-relu")
    assert nb101.module_hash(swapped) == nb101.module_hash(nb101.parse_arch(CELL))
    relabelled = nb101.parse_arch("0110000100010000:conv1x1-bn-relu,maxpool3x3")
    assert nb101.module_hash(relabelled) != nb101.module_hash(nb101.parse_arch(CELL))


def brute_force_forms(arch) -> int:
    """Distinct upper-triangular (matrix, ops) among all relabellings of the interior vertices (the definition)."""
    matrix, ops = arch
    n, forms = len(matrix), set()
    for order in itertools.permutations(range(1, n - 1)):
        p = (0, *order, n - 1)  # vertex v moves to p[v]
        moved = [[0] * n for _ in range(n)]
        for u, v in itertools.product(range(n), repeat=2):
            moved[p[u]][p[v]] = matrix[u][v]
        if all(not moved[u][v] for u in range(n) for v in range(u + 1)):
            labels = dict(zip(order, ops, strict=True))
            forms.add((tuple(map(tuple, moved)), tuple(labels[v] for v in range(1, n - 1))))
    return len(forms)


# Unique cells (module hashes) per vertex count; they add up to NB101's 423,624.
CELLS_BY_VERTICES = {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010, 7: 359082}


def test_sampler_weights_count_every_small_cell_exactly_once():
    """For n <= 5, every labelled spec: the pruned valid ones are the sampler's candidates, ``labelled_forms`` is the
    brute-force count of a cell's forms, and the acceptance probabilities 1/c add up to 1 per module hash."""
    for n in range(2, 6):
        slots = [(u, v) for u in range(n) for v in range(u + 1, n)]
        candidates, mass = set(), Counter()
        for bits in itertools.product((0, 1), repeat=len(slots)):
            matrix = [[0] * n for _ in range(n)]
            for (u, v), bit in zip(slots, bits, strict=True):
                matrix[u][v] = bit
            arch = nb101.as_arch((matrix, ("maxpool3x3",) * (n - 2)))
            if not nb101.is_valid(arch) or nb101.prune(arch) != arch:
                continue
            candidates.add(arch[0])
            for ops in itertools.product(nb101.OPS, repeat=n - 2):
                forms = nb101.labelled_forms((arch[0], ops))
                assert forms == brute_force_forms((arch[0], ops))
                mass[nb101.module_hash((arch[0], ops))] += Fraction(1, forms)
        assert {nb101_arch._shape(n, mask)[0] for mask in nb101_arch._pruned_matrices(n)} == candidates
        assert len(mass) == CELLS_BY_VERTICES[n] and set(mass.values()) == {1}


def test_sampler_weights_add_up_to_the_423624_cells():
    """Sum of 1/c over every candidate (pruned matrix x ops) = the number of unique cells, per vertex count."""
    for n, cells in CELLS_BY_VERTICES.items():
        mass = Fraction(0)
        for mask in nb101_arch._pruned_matrices(n):
            _, orders, automorphisms = nb101_arch._shape(n, mask)
            if not automorphisms:  # every op assignment has c = orders
                mass += Fraction(3 ** (n - 2), orders)
            else:
                mass += sum(Fraction(1, nb101_arch._forms(n, mask, ops)) for ops in itertools.product(nb101.OPS,
                                                                                              repeat=n - 2))
        assert mass == cells, n
    assert sum(CELLS_BY_VERTICES.values()) == nb101.NUM_ARCHS
    rng = random.Random(0)  # the 7-vertex candidates are exactly the pruned valid matrices (checked on a sample)
    candidates = {nb101_arch._shape(7, mask)[0] for mask in nb101_arch._pruned_matrices(7)}
    for _ in range(20000):
        matrix = tuple(tuple(int(u < v and rng.random() < 0.35) for v in range(7)) for u in range(7))
        arch = (matrix, ("maxpool3x3",) * 5)
        assert (nb101.is_valid(arch) and nb101.prune(arch) == arch) == (matrix in candidates)


def nb101_random_spec(rng: random.Random) -> nb101.Arch:
    """NB101's own sampler (nasbench.api random_spec): a uniform 7x7 upper-triangular matrix and ops until valid."""
    while True:
        matrix = [[int(u < v and rng.random() < 0.5) for v in range(7)] for u in range(7)]
        pruned = nb101_arch._valid_or_none((matrix, [rng.choice(nb101.OPS) for _ in range(5)]))
        if pruned is not None:
            return pruned


def histogram_p_values(samples) -> tuple[float, float]:
    """Chi-square p-values of two-sample tests of vertex counts (<=5, 6, 7) and edge counts (<=5, 6, 7, 8, 9) of
    ``samples`` against the shipped table's uniform (``full``) cells."""
    def histograms(archs):
        vertices = np.bincount([min(max(len(matrix), 5), 7) - 5 for matrix, _ in archs], minlength=3)
        edges = np.bincount([max(nb101.num_edges(arch), 5) - 5 for arch in archs], minlength=5)
        return vertices, edges

    full = histograms([nb101.parse_arch(arch) for arch in load_nb101().eval_pool])
    drawn = histograms(samples)
    return tuple(float(chi2_contingency(np.array([a, b]))[1]) for a, b in zip(drawn, full, strict=True))


def test_sample_arch_follows_the_uniform_cells_of_the_table():
    rng = random.Random(0)
    samples = [nb101.sample_arch(rng) for _ in range(20000)]
    assert all(nb101.is_valid(a) and nb101.prune(a) == a for a in samples)
    assert min(histogram_p_values(samples)) > 0.01  # seed 0: vertex counts p = 0.74, edge counts p = 0.07
    sizes = Counter(len(matrix) for matrix, _ in samples)
    assert 0.83 < sizes[7] / len(samples) < 0.87 and sizes[6] > 0, sizes  # 359,082 / 423,624 = 84.8% have 7
    assert len(set(samples)) > 19000
    shipped = set(load_nb101().table["hash"])  # the table is not consulted: 64% of the space is not in it
    assert 0.55 < sum(nb101.module_hash(a) not in shipped for a in samples[:2000]) / 2000 < 0.73
    assert nb101.sample_arch(random.Random(3)) == nb101.sample_arch(random.Random(3))
    # NB101's own sampler (the old lrnas one too, before it read the table) fails the same test.
    rng = random.Random(0)
    assert max(histogram_p_values([nb101_random_spec(rng) for _ in range(2000)])) < 1e-6


def test_sample_arch_of_given_size():
    rng = random.Random(1)
    assert {len(nb101.sample_arch(rng, num_vertices=n)[0]) for n in (2, 4, 7) for _ in range(5)} == {2, 4, 7}
    assert nb101.sample_arch(rng, num_vertices=2) == nb101.parse_arch("0100:")
    with pytest.raises(ValueError, match="num_vertices=8: NB101 cells have 2..7 vertices"):
        nb101.sample_arch(rng, num_vertices=8)


@pytest.mark.parametrize("prob", [0.0, 0.05, 0.3])
def test_mutant_is_valid_pruned_and_new(prob):
    rng = random.Random(1)
    parents = [nb101.sample_arch(rng) for _ in range(60)] + [nb101.parse_arch("0100:")]
    parents += [nb101.parse_arch(a) for a in load_nb101().archs[::20000]]  # 7-vertex cells
    for parent in parents:
        child = nb101.mutate(parent, rng, prob)
        assert nb101.is_valid(child) and nb101.prune(child) == child
        assert nb101.module_hash(child) != nb101.module_hash(parent), nb101.format_arch(parent)


def test_mutation_can_grow_a_small_cell_back_to_seven_vertices():
    rng, arch = random.Random(2), nb101.parse_arch(CELL)
    sizes = {len(nb101.mutate(arch, rng, prob=0.2)[0]) for _ in range(200)}
    assert max(sizes) >= 6, sizes


def test_crossover_is_valid_and_pruned():
    rng = random.Random(4)
    cells = [nb101.sample_arch(rng) for _ in range(40)] + [nb101.parse_arch(a) for a in load_nb101().archs[::30000]]
    for a, b in zip(cells, reversed(cells), strict=True):
        child = nb101.crossover(a, b, rng)
        assert nb101.is_valid(child) and nb101.prune(child) == child
        assert nb101.crossover(a, a, rng) == a


def test_invalid_parent_is_rejected():
    with pytest.raises(nb101.InvalidArch, match="input is not connected to output"):
        nb101.mutate(nb101.parse_arch("0000:"), random.Random(0), 0.1)


def test_fair_paths_share_edges_and_use_every_op_once_per_vertex():
    for seed in range(20):
        paths = nb101.fair_paths(random.Random(seed))
        assert len(paths) == len(nb101.OPS)
        assert len({matrix for matrix, _ in paths}) == 1
        matrix = paths[0][0]
        assert len(matrix) == nb101.NUM_VERTICES and nb101.is_valid(paths[0])  # unpruned, but a valid spec
        for vertex_ops in zip(*(ops for _, ops in paths), strict=True):
            assert sorted(vertex_ops) == sorted(nb101.OPS)


def test_nb201_fair_paths_use_every_op_on_every_edge_once():
    paths = nb201.fair_paths(random.Random(0))
    assert len(paths) == len(nb201.OPS) and all(len(p) == nb201.NUM_EDGES for p in paths)
    for edge_ops in zip(*paths, strict=True):
        assert sorted(edge_ops) == sorted(nb201.OPS)
    assert nb201.fair_paths(random.Random(5)) == nb201.fair_paths(random.Random(5))
