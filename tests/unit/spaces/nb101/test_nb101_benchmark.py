import gzip
import math
import random
import re

import numpy as np
import pytest

from lrnas.benchmarks import GroundTruthError
from lrnas.spaces import load_benchmark, nb101
from lrnas.spaces.nb101.benchmark import METRICS, TABLE_PATH, NB101Benchmark, NotInTable, check_table, load_nb101
from lrnas.spaces.nb201.benchmark import load_nb201

BEST_HASH = "02e5a0247bbdcf2860b7e96f74961594"


@pytest.fixture(scope="module")
def bench() -> NB101Benchmark:
    return load_nb101()


def random_topological_relabelling(arch_str: str, rng: random.Random) -> str:
    """The same cell with its interior vertices renumbered in another topological order (an isomorphic matrix)."""
    matrix, ops = nb101.parse_arch(arch_str)
    n = len(matrix)
    order, indegree = [], [sum(matrix[u][v] for u in range(n)) for v in range(n)]
    ready = [0]
    while ready:
        u = ready.pop(rng.randrange(len(ready)))
        order.append(u)
        for v in range(n):
            if matrix[u][v]:
                indegree[v] -= 1
                if indegree[v] == 0:
                    ready.append(v)
    new = {old: i for i, old in enumerate(order)}
    permuted = [[0] * n for _ in range(n)]
    for u in range(n):
        for v in range(n):
            if matrix[u][v]:
                permuted[new[u]][new[v]] = 1
    labels = {new[v]: ops[v - 1] for v in range(1, n - 1)}
    return nb101.format_arch((permuted, [labels[i] for i in range(1, n - 1)]))


def test_table_size_metrics_and_registry(bench):
    assert len(bench) == 151_644 and len(bench.archs) == 151_644
    assert list(bench.table.columns) == ["hash", "arch_str", "params", "cifar10_valid", "cifar10_test", "full",
                                         "params_m"]
    assert bench.metrics == METRICS == ("cifar10_test", "cifar10_valid")
    assert load_benchmark("nb101") is bench is load_nb101()
    assert load_nb201().metrics[0] == "cifar10_test" and len(load_nb201().eval_pool) == 15_625


def test_eval_pool_is_the_uniform_full_subset(bench):
    pool = bench.eval_pool
    assert len(pool) == len(set(pool)) == 28_963
    assert bench.table.set_index("arch_str").loc[pool[:100], "full"].eq(1).all()


def test_best_cell(bench):
    best = bench.table.loc[bench.table["cifar10_test"].idxmax()]
    assert best["hash"] == BEST_HASH and best["cifar10_test"] == 94.3176
    assert bench.query(best["arch_str"])["hash"] == BEST_HASH
    assert bench.accuracies([best["arch_str"]], "cifar10_test").tolist() == [94.3176]


def test_isomorphic_and_unpruned_variants_find_the_same_row(bench):
    rng, found = random.Random(0), 0
    for row in rng.sample(range(len(bench)), 300):
        arch_str = bench.archs[row]
        variant = random_topological_relabelling(arch_str, rng)
        if variant != arch_str:
            found += 1
            assert bench.index_of(variant) == row
            assert bench.index_of(nb101.parse_arch(variant)) == row  # (matrix, ops) tuples too
    assert found > 50
    # input -> 1 -> output plus a dead-end vertex 2: prunes to the 3-vertex table cell
    assert bench.index_of("0111000100000000:conv1x1-bn-relu,maxpool3x3") == bench.index_of("011001000:conv1x1-bn-relu")


def test_vectorised_lookups(bench):
    archs = bench.eval_pool[:50]
    rows = [bench.index_of(a) for a in archs]
    assert np.array_equal(bench.accuracies(archs, "cifar10_valid"), bench.table["cifar10_valid"].to_numpy()[rows])
    assert np.allclose(bench.params(archs), bench.table["params"].to_numpy()[rows] / 1e6)
    with pytest.raises(ValueError, match="unknown metric 'cifar100_test'; valid metrics are cifar10_test"):
        bench.accuracies(archs, "cifar100_test")


def test_valid_cell_missing_from_the_table_says_so(bench):
    rng, shipped = random.Random(0), set(bench.table["hash"])
    for _ in range(1000):  # mutants leave the shipped third of NB101 soon (sample_arch draws from inside the table)
        arch = nb101.mutate(nb101.sample_arch(rng), rng, prob=0.3)
        if nb101.module_hash(arch) not in shipped:
            break
    else:
        pytest.fail("no cell outside the shipped table in 1,000 mutants")
    arch_str = nb101.format_arch(arch)
    with pytest.raises(NotInTable) as info:
        bench.query(arch_str)
    assert str(info.value) == (f"{arch_str} is not in the shipped table (151,644 of 423,624 cells); import the "
                               "official file with `lrnas bench import nb101 --tfrecord FILE` and set space.table")
    assert isinstance(info.value, GroundTruthError)


def test_invalid_cell_says_why(bench):
    with pytest.raises(nb101.InvalidArch, match="input is not connected to output"):
        bench.index_of("0100000000000000:conv3x3-bn-relu,conv3x3-bn-relu")
    with pytest.raises(nb101.InvalidArch, match="unknown op 'conv5x5'"):
        bench.index_of("011001000:conv5x5")
    with pytest.raises(ValueError, match="row 151644 is out of range"):
        bench.index_of(151_644)


def test_corrupt_shipped_table_is_a_one_line_error(tmp_path):
    copy = tmp_path / "nb101.csv.gz"
    data = bytearray(TABLE_PATH.read_bytes())
    data[-100] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(GroundTruthError, match="is corrupt: sha256 .* expected") as info:
        check_table(copy)
    assert "\n" not in str(info.value)
    with pytest.raises(GroundTruthError, match="cannot load NAS-Bench-101 table") as info:
        check_table(tmp_path / "missing.csv.gz")
    assert "\n" not in str(info.value)


def test_alternative_table_loads_unchecked(tmp_path, bench):
    subset = bench.table.iloc[:3].drop(columns="params_m")
    path = tmp_path / "nb101_full.csv.gz"
    path.write_bytes(gzip.compress(subset.to_csv(index=False).encode()))
    other = load_nb101(path)
    assert len(other) == 3 and other.eval_pool == subset.loc[subset["full"] == 1, "arch_str"].tolist()
    with pytest.raises(NotInTable, match=re.escape(f"is not in {path} (3 of 423,624 cells)")):
        other.query(bench.archs[3])
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(b"hash,arch_str\nx,y\n"))
    with pytest.raises(GroundTruthError, match="cannot load NAS-Bench-101 table") as info:
        load_nb101(bad)
    assert "\n" not in str(info.value)


BAD_ROWS = [  # (column, value, the reason the error gives)
    ("arch_str", "0010:", "edge 1->0 is on or below the diagonal"),  # not a DAG in NB101's vertex order
    ("arch_str", "010000000:conv1x1-bn-relu", "input is not connected to output"),
    ("arch_str", "0110000100000000:conv3x3-bn-relu,maxpool3x3", "is not pruned: its pruned form is"),
    ("arch_str", "".join("1" if v == u + 1 or (u == 0 and 0 < v < 6) else "0" for u in range(7) for v in range(7)) + ":"
     + ",".join(["conv3x3-bn-relu"] * 5), "10 edges after pruning; NB101 allows at most 9"),  # a chain + 4 skips
    ("cifar10_test", 500.0, "cifar10_test=500.0 is not an accuracy in [0, 100] (%)"),
    ("cifar10_valid", -1.0, "cifar10_valid=-1.0 is not an accuracy in [0, 100] (%)"),
    ("params", -5, "params=-5 is not a parameter count >= 0"),
    ("full", 2, "full=2 is not 0 or 1"),
]


@pytest.mark.parametrize("column, value, reason", BAD_ROWS, ids=[reason[:30] for *_, reason in BAD_ROWS])
def test_a_table_with_a_bad_row_is_refused_naming_the_line_and_hash(tmp_path, bench, column, value, reason):
    subset = bench.table.iloc[:4].drop(columns="params_m").copy()
    subset[column] = subset[column].astype(object)
    subset.iloc[2, subset.columns.get_loc(column)] = value
    path = tmp_path / "table.csv"
    subset.to_csv(path, index=False)
    with pytest.raises(GroundTruthError) as info:
        load_nb101(path)
    assert str(info.value).startswith(f"cannot load NAS-Bench-101 table {path}: line 4 (hash {subset['hash'].iloc[2]}"
                                      f"): ") and reason in str(info.value)
    assert str(info.value).endswith("re-import it with `lrnas bench import nb101 --tfrecord FILE`")


def test_vectorised_cell_check_agrees_with_the_one_by_one_check(bench):
    """Random bit strings of every size (most invalid in some way) and every shipped cell."""
    rng = random.Random(0)
    strings = list(bench.archs[::50])
    for _ in range(3000):
        n = rng.randint(2, 7)
        bits = "".join(rng.choice("0011") if u < v or rng.random() < 0.02 else "0" for u in range(n) for v in range(n))
        ops = [rng.choice(nb101.OPS + ("avgpool3x3",) * (rng.random() < 0.05)) for _ in range(n - 2 + (rng.random() <
                                                                                                        0.03))]
        strings.append(f"{bits}:{','.join(ops)}")

    def accepted(arch_str):
        try:
            nb101.check_pruned(arch_str)
        except nb101.InvalidArch:
            return False
        return True

    expected = [accepted(s) for s in strings]
    assert nb101.are_pruned(strings).tolist() == expected
    assert 300 < sum(expected[len(bench.archs[::50]):]) < 2700  # both kinds are well represented


def landmarks_of(benchmark, method: str, count: int, eval_archs: int = 500):
    """What lrnas.train.build_run does: the evaluation sample first, landmarks from outside it."""
    from omegaconf import OmegaConf

    from lrnas.evaluation.ranking import draw_eval_sample
    from lrnas.landmarks import choose_landmarks

    cfg = OmegaConf.create({"seed": 0, "space": {"ground_truth": "cifar10_test"},
                            "landmarks": {"method": method, "num_landmarks": count, "seed": None}})
    reserved = set(draw_eval_sample(benchmark, eval_archs, 0, set(), "cifar10_test").archs)
    return choose_landmarks(cfg, benchmark, nb101, reserved), reserved


def input_to_output_share(archs) -> float:
    """Share of cells with an input -> output edge: bit n-1 of the adjacency (row 0, last column)."""
    bits = [arch.partition(":")[0] for arch in archs]
    return float(np.mean([b[math.isqrt(len(b)) - 1] == "1" for b in bits]))


def test_landmarks_are_uniform_cells_outside_the_evaluation_sample(bench):
    uniform = set(bench.landmark_pool)
    assert uniform == set(bench.eval_pool) and len(uniform) == 28_963
    # The whole shipped table over-represents cells with an input -> output edge; its uniform rows do not.
    assert round(input_to_output_share(bench.archs), 3) == 0.257 and round(input_to_output_share(uniform), 3) == 0.192
    for method in ("fixed", "random"):
        landmarks, reserved = landmarks_of(bench, method, 2000)
        archs = {lm.arch for lm in landmarks}
        assert len(archs) == 2000 and archs <= uniform and not archs & reserved, method
    # random: 19.2% +- 2.5 standard deviations (seed 0: 20.6%; from the whole table, as before: 26.1%)
    assert 0.17 < input_to_output_share(archs) < 0.215
    assert [lm.accuracy for lm in landmarks] == bench.accuracies([lm.arch for lm in landmarks], "cifar10_test").tolist()


def small_table(tmp_path, bench, rows: int = 400, uniform: int = 150):
    """A table of ``rows`` cells taken from outside the shipped ``full`` subset, ``uniform`` of them marked full."""
    table = bench.table.loc[bench.table["full"] == 0].sample(rows, random_state=1).drop(columns="params_m")
    table["full"] = [1] * uniform + [0] * (rows - uniform)
    path = tmp_path / "nb101_small.csv.gz"
    path.write_bytes(gzip.compress(table.to_csv(index=False).encode()))
    return path, table


def test_pools_follow_the_configured_table(tmp_path, bench):
    path, table = small_table(tmp_path, bench)
    other = load_benchmark("nb101", str(path))  # what build_run loads for space.table=PATH
    marked = set(table.loc[table["full"] == 1, "arch_str"])
    assert set(other.eval_pool) == set(other.landmark_pool) == marked
    landmarks, reserved = landmarks_of(other, "random", 50, eval_archs=60)
    assert {lm.arch for lm in landmarks} <= marked - reserved and reserved <= marked
    # A full import marks every row: then landmarks and evaluation draw from all of them.
    table["full"] = 1
    path = tmp_path / "nb101_all.csv.gz"
    path.write_bytes(gzip.compress(table.to_csv(index=False).encode()))
    assert set(load_nb101(path).landmark_pool) == set(table["arch_str"])


def test_training_sampler_reads_no_table(monkeypatch):
    import lrnas.spaces.nb101.benchmark as benchmark_module

    def refuse(*args, **kwargs):
        raise AssertionError("the NB101 sampler read a ground-truth table")

    monkeypatch.setattr(benchmark_module.NB101Benchmark, "from_csv", refuse)
    monkeypatch.setattr(benchmark_module, "load_nb101", refuse)
    rng = random.Random(0)
    assert all(nb101.is_valid(nb101.sample_arch(rng)) for _ in range(100))
    assert len(nb101.fair_paths(rng)[0][0]) == nb101.NUM_VERTICES
