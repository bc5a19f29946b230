"""Tests of the embedded NAS-Bench-201 ground truth.

    .venv/bin/python -m pytest tests/unit/benchmarks/test_benchmarks.py -q
"""
from __future__ import annotations

import gzip
import time

import numpy as np
import pytest
from scipy.stats import kendalltau

from lrnas.benchmarks import GroundTruthError
from lrnas.spaces import load_benchmark
from lrnas.spaces.nb101.benchmark import load_nb101
from lrnas.spaces.nb201 import InvalidArch, all_archs, format_arch, parse_arch
from lrnas.spaces.nb201.benchmark import METRICS, TABLE_PATH, NB201Benchmark, load_nb201

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ROW0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.fixture(scope="module")
def bench() -> NB201Benchmark:
    return load_nb201()


def test_table_covers_the_whole_space(bench):
    assert len(bench.table) == 15625
    assert bench.table.index.tolist() == list(range(15625))
    assert all(format_arch(parse_arch(s)) == s for s in bench.archs)
    assert set(bench.archs) == {format_arch(a) for a in all_archs()}
    assert bench.table["unique_key"].nunique() == 6466


def test_values_in_range(bench):
    accs = bench.table[list(METRICS)].to_numpy()
    assert ((accs >= 0) & (accs <= 100)).all()
    assert (bench.table["params_m"] > 0).all()
    assert not bench.table.isna().any().any()


def test_known_values(bench):
    assert bench.archs[0] == ROW0
    assert bench.table["cifar10_test"].idxmax() == 6111
    assert bench.archs[6111] == BEST
    assert bench.query(6111)["cifar10_test"] == pytest.approx(94.37, abs=0.01)
    # NB201 paper optima (Table 5): CIFAR-100 73.51, ImageNet16-120 47.31, cifar10-valid validation 91.61.
    assert bench.table["cifar100_test"].max() == pytest.approx(73.51, abs=0.01)
    assert bench.table["imagenet16_test"].max() == pytest.approx(47.31, abs=0.01)
    assert bench.table["cifar10_valid_valid"].max() == pytest.approx(91.61, abs=0.01)


def test_query_by_index_string_and_tuple_agree(bench):
    by_index = bench.query(6111)
    assert by_index.equals(bench.query(BEST))
    assert by_index.equals(bench.query(parse_arch(BEST)))
    assert by_index.equals(bench.query(np.int64(6111)))
    assert bench.index_of(BEST) == bench.index_of(parse_arch(BEST)) == 6111


def test_accuracies_and_params_are_vectorised(bench):
    archs = [BEST, ROW0, BEST]
    np.testing.assert_array_equal(bench.accuracies(archs), bench.table["cifar10_test"].to_numpy()[[6111, 0, 6111]])
    np.testing.assert_array_equal(bench.accuracies(archs, metric="imagenet16_test"),
                                  bench.table["imagenet16_test"].to_numpy()[[6111, 0, 6111]])
    np.testing.assert_array_equal(bench.params(archs), bench.table["params_m"].to_numpy()[[6111, 0, 6111]])
    assert bench.accuracies([]).shape == (0,)


def test_invalid_string_error_is_one_line_and_says_why(bench):
    with pytest.raises(InvalidArch, match="unknown op 'conv_5x5'") as err:
        bench.query(BEST.replace("nor_conv_1x1", "conv_5x5"))
    assert "\n" not in str(err.value)
    with pytest.raises(InvalidArch, match="must start and end with"):
        bench.accuracies([BEST, " " + BEST])
    with pytest.raises(InvalidArch):
        bench.query(("nor_conv_3x3",) * 5)


def test_bad_index_and_metric(bench):
    for bad in (15625, -1):
        with pytest.raises(ValueError, match=rf"{bad} is out of range; valid indices are 0\.\.15624") as err:
            bench.query(bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="valid metrics are cifar10_test, .*imagenet16_test"):
        bench.accuracies([BEST], metric="cifar10_val")
    with pytest.raises(TypeError):
        bench.query(True)


def test_param_count_baseline_kendall_tau(bench):
    # The parameter-count baseline the product prints; Landmark Regularization is compared against it.
    tau = kendalltau(bench.params(bench.archs), bench.accuracies(bench.archs)).statistic
    assert 0.55 <= tau <= 0.61, tau


def test_first_load_is_fast_and_cached():
    load_nb201.cache_clear()
    start = time.perf_counter()
    bench = load_nb201()
    assert time.perf_counter() - start < 1.0
    assert load_nb201() is bench


def test_registry():
    assert load_benchmark("nb201") is load_nb201()
    assert load_benchmark("nb101") is load_nb101()
    assert load_benchmark("darts") is None  # it ships none: space.table gives one
    with pytest.raises(ValueError, match="space='nb999' is unknown; valid: darts, nb101, nb201"):
        load_benchmark("nb999")


# ids keep collection identical across xdist workers (a gzip header holds a timestamp).
@pytest.mark.parametrize(
    "content",
    [None, b"not gzip", gzip.compress(b"index,arch_str\n0,x\n", mtime=0), b"\x1f\x8b\x08"],
    ids=["missing", "not-gzip", "wrong-columns", "truncated-header"],
)
def test_missing_or_corrupt_table_gives_one_line_error(tmp_path, content):
    path = tmp_path / "nb201.csv.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GroundTruthError, match="build_nb201_table.py") as err:
        NB201Benchmark.from_csv(path)
    message = str(err.value)
    assert str(path) in message and "reinstall" in message and "\n" not in message


def test_truncated_table_is_rejected(tmp_path):
    lines = gzip.decompress(TABLE_PATH.read_bytes()).splitlines(keepends=True)
    path = tmp_path / "nb201.csv.gz"
    path.write_bytes(gzip.compress(b"".join(lines[:-1])))
    with pytest.raises(GroundTruthError, match="15624 rows"):
        NB201Benchmark.from_csv(path)
