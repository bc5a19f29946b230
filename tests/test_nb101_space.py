import random
from collections import Counter

import pytest

from lrnas.benchmarks import load_nb101
from lrnas.spaces import get_space, nb101, nb201

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


def test_sample_arch_draws_uniform_cells_whose_sizes_follow_the_space():
    rng = random.Random(0)
    samples = [nb101.sample_arch(rng) for _ in range(2000)]
    assert all(nb101.is_valid(a) and nb101.prune(a) == a for a in samples)
    pool = set(load_nb101().eval_pool)
    assert all(nb101.format_arch(a) in pool for a in samples)  # the table's uniform subset
    sizes = Counter(len(matrix) for matrix, _ in samples)
    assert 0.80 < sizes[7] / len(samples) < 0.90 and sizes[6] > 0, sizes  # 85% of NB101's cells have 7 vertices
    assert len(set(samples)) > 1900
    assert nb101.sample_arch(random.Random(3)) == nb101.sample_arch(random.Random(3))


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
