"""NAS-Bench-201 ground truth (200-epoch accuracies of all 15,625 cells), shipped with the package.

The table is built by ``scripts/build_nb201_table.py``; see ``data/PROVENANCE.md`` for sources and licences.
Check the example below with ``python -m doctest lrnas/spaces/nb201/benchmark.py``.

    >>> from lrnas.spaces.nb201.benchmark import load_nb201
    >>> bench = load_nb201()
    >>> best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    >>> bench.index_of(best), float(bench.query(6111)["cifar10_test"])
    (6111, 94.3733)
    >>> bench.accuracies([best, bench.archs[0]], metric="cifar100_test").round(2).tolist()
    [73.22, 52.91]
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from lrnas.benchmarks.table import SHIPPED_DIR, GroundTruthError, TableBenchmark, check_sha256
from lrnas.spaces.nb201.arch import NUM_ARCHS, Arch, format_arch, parse_arch

TABLE_PATH = SHIPPED_DIR / "nb201.csv.gz"
# The one record of the shipped table's content; scripts/build_nb201_table.py checks a rebuild against it (a rebuild
# is byte-reproducible), so a table with a different checksum needs a reviewed change here, not just a new file.
TABLE_SHA256 = "19c5194a6adc701e4c5b8cc238f734866cbed12b19e7500eec34cb27269056d2"
METRICS = ("cifar10_test", "cifar10_valid_valid", "cifar10_valid_test", "cifar100_test", "imagenet16_test",
           "cifar10_test_12ep")
DTYPES = {"index": "int64", "arch_str": "str", **dict.fromkeys(METRICS, "float64"), "params_m": "float64",
          "unique_key": "str"}

ArchLike = str | int | Arch


class NB201Benchmark(TableBenchmark):
    """Lookup of NB201 ground truth by arch string, NB201 index or 6-tuple of op names.

    ``table`` is a DataFrame indexed by NB201 index with columns ``arch_str``, the accuracies in ``METRICS`` (%),
    ``params_m`` (millions) and ``unique_key`` (isomorphism-canonical form).
    """

    metrics = METRICS

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self._archs: list[str] = table["arch_str"].tolist()
        self._position = {arch: i for i, arch in enumerate(self._archs)}  # built once: accuracies() is a dict lookup

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> NB201Benchmark:
        """Read a table written by ``scripts/build_nb201_table.py``; raise GroundTruthError if unusable."""
        try:
            table = pd.read_csv(path, dtype=DTYPES, index_col="index", usecols=list(DTYPES))
            if len(table) != NUM_ARCHS or not (table.index == np.arange(NUM_ARCHS)).all():
                raise ValueError(f"expected rows indexed 0..{NUM_ARCHS - 1}, got {len(table)} rows")
            if table.isna().any().any():
                raise ValueError("table has missing values")
        except (OSError, ValueError, EOFError) as err:  # missing file, bad gzip, bad CSV, wrong columns/dtypes
            reason = " ".join(str(err).split())
            raise GroundTruthError(
                f"cannot load NAS-Bench-201 table {path}: {reason}; reinstall lrnas or rebuild it with "
                "`python scripts/build_nb201_table.py`"
            ) from None
        return cls(table)

    @staticmethod
    def training_epochs(metric: str) -> int:
        """How long NB201 trained the networks behind ``metric``: 12 epochs for ``cifar10_test_12ep``, else 200."""
        return 12 if metric.endswith("_12ep") else 200

    def index_of(self, arch: ArchLike) -> int:
        """NB201 index of an arch string (or 6-tuple, or index); InvalidArch/ValueError say what is wrong."""
        if isinstance(arch, str):
            position = self._position.get(arch)
            if position is not None:
                return position
            # Not an official string: parse_arch raises InvalidArch saying why; a valid cell is found by its canonical
            # form, and a valid cell that is still missing means the table itself is incomplete.
            arch = parse_arch(arch)
        if isinstance(arch, (tuple, list)):
            canonical = format_arch(tuple(arch))
            if canonical not in self._position:
                raise GroundTruthError(f"{canonical!r} is a valid cell but missing from {TABLE_PATH}; reinstall lrnas")
            return self._position[canonical]
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            if not 0 <= arch < NUM_ARCHS:
                raise ValueError(f"NB201 index {arch} is out of range; valid indices are 0..{NUM_ARCHS - 1}")
            return int(arch)
        raise TypeError(f"{arch!r} is not an NB201 arch string, index or 6-tuple of op names")

    def __repr__(self) -> str:
        return f"NB201Benchmark({len(self):,} archs, metrics={', '.join(METRICS)})"


@functools.cache
def load_nb201() -> NB201Benchmark:
    """The shipped NAS-Bench-201 ground truth, checked against TABLE_SHA256; read once per process (no download)."""
    check_table(TABLE_PATH)
    return NB201Benchmark.from_csv(TABLE_PATH)


def check_table(path: Path) -> None:
    """Raise GroundTruthError unless ``path`` is the shipped table, byte for byte."""
    check_sha256(path, TABLE_SHA256, "NAS-Bench-201", "`make table`")
