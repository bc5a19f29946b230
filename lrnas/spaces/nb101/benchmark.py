"""NAS-Bench-101 ground truth (108-epoch CIFAR-10 accuracies, mean of 3 repeats), shipped with the package.

The shipped table holds 151,644 of the 423,624 unique cells (the "To Share or Not To Share" sample); its ``full``
rows, 28,963 cells drawn uniformly from the whole space, are what the evaluation sample and the landmarks are drawn
from. Built by ``scripts/build_nb101_table.py``; see ``data/PROVENANCE.md``. A cell is found by any valid form of it
(unpruned or isomorphic variants included) through NB101's module hash. Check the example with
``python -m doctest lrnas/spaces/nb101/benchmark.py``.

    >>> from lrnas.spaces.nb101.benchmark import load_nb101
    >>> bench = load_nb101()
    >>> len(bench), len(bench.eval_pool)
    (151644, 28963)
    >>> best = bench.table.loc[bench.table["cifar10_test"].idxmax()]
    >>> best["hash"], float(best["cifar10_test"])
    ('02e5a0247bbdcf2860b7e96f74961594', 94.3176)
    >>> unpruned = "0111000100000000:conv1x1-bn-relu,maxpool3x3"  # vertex 2 is a dead end: same cell as below
    >>> bench.index_of(unpruned) == bench.index_of("011001000:conv1x1-bn-relu")
    True
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from lrnas.benchmarks.table import SHIPPED_DIR, GroundTruthError, TableBenchmark, check_sha256
from lrnas.spaces.nb101.arch import (
    NUM_ARCHS,
    Arch,
    InvalidArch,
    are_pruned,
    as_arch,
    check_pruned,
    format_arch,
    module_hash,
    parse_arch,
)

TABLE_PATH = SHIPPED_DIR / "nb101.csv.xz"
# The one record of the shipped table's content; scripts/build_nb101_table.py checks a rebuild against it (a rebuild
# is byte-reproducible), so a table with a different checksum needs a reviewed change here, not just a new file.
TABLE_SHA256 = "1ed6e1a043a0816edd8aaa724cd9a6bd9f5b1701b13f3604d5025565811fc8d4"
SHIPPED_CELLS = 151_644
METRICS = ("cifar10_test", "cifar10_valid")
DTYPES = {"hash": "str", "arch_str": "str", "params": "int64", **dict.fromkeys(METRICS, "float64"), "full": "int8"}

ArchLike = str | int | Arch


class NotInTable(GroundTruthError):
    """A valid NB101 cell that the loaded table lacks (the shipped one holds about a third of the space)."""


class NB101Benchmark(TableBenchmark):
    """Lookup of NB101 ground truth by arch string, ``(matrix, ops)`` cell or row position.

    ``table`` has one row per unique cell with columns ``hash`` (NB101 module hash), ``arch_str`` (pruned cell, see
    :mod:`lrnas.spaces.nb101`), ``params``, the accuracies in ``METRICS`` (%), ``full`` (1 for the uniform sample)
    and ``params_m`` (millions).
    """

    metrics = METRICS

    def __init__(self, table: pd.DataFrame, path: Path = TABLE_PATH):
        self.table, self.path = table, Path(path)
        self._archs: list[str] = table["arch_str"].tolist()
        # Both built once, so that accuracies() is a dict lookup: exact strings first, any other form by hash.
        self._position = {arch: i for i, arch in enumerate(self._archs)}
        self._by_hash = {key: i for i, key in enumerate(table["hash"].tolist())}

    @classmethod
    def from_csv(cls, path: str | os.PathLike, check_rows: bool = True) -> NB101Benchmark:
        """Read a table with the columns of ``scripts/build_nb101_table.py``; raise GroundTruthError if unusable.
        ``check_rows`` checks every cell and value (:func:`row_problem`); the shipped table is checked by checksum."""
        shipped = Path(path) == TABLE_PATH
        try:
            table = pd.read_csv(path, dtype=DTYPES, usecols=list(DTYPES))
            if table.isna().any().any():
                raise ValueError("table has missing values")
            for column in ("hash", "arch_str"):
                if not table[column].is_unique:
                    raise ValueError(f"column {column} has duplicates")
            problem = row_problem(table) if check_rows else None
            if problem:
                row, why = problem
                raise ValueError(f"line {row + 2} (hash {table['hash'].iloc[row]}): {why}")  # line 1: the header
        except (OSError, ValueError, EOFError) as err:  # missing file, bad compression, bad CSV, wrong columns/dtypes
            reason = " ".join(str(err).split())
            fix = ("reinstall lrnas or rebuild it with `python scripts/build_nb101_table.py`" if shipped else
                   "re-import it with `lrnas bench import nb101 --tfrecord FILE`")
            raise GroundTruthError(f"cannot load NAS-Bench-101 table {path}: {reason}; {fix}") from None
        table["params_m"] = table["params"] / 1e6
        return cls(table, Path(path))

    @property
    def eval_pool(self) -> list[str]:
        """The cells an evaluation sample is drawn from: the ``full`` rows, a uniform sample of the whole space, so
        Kendall tau on a sample of them is unbiased (the rest of the shipped table over-represents sub-spaces)."""
        return self.table.loc[self.table["full"] == 1, "arch_str"].tolist()

    @property
    def landmark_pool(self) -> list[str]:
        """The cells landmarks (and refinement candidates) are drawn from, once the evaluation sample is removed: the
        same uniform ``full`` rows (every row of a full import), so landmarks follow the space as the authors' do
        (nasws/cnn/search_space/nasbench101/nasbench_search_space.py). The whole shipped table would not: 25.7% of it
        has an input -> output edge, against 19.2% of the space."""
        return self.eval_pool

    @staticmethod
    def training_epochs(metric: str) -> int:
        """How long NB101 trained the networks behind every metric of the table: 108 epochs."""
        return 108

    def index_of(self, arch: ArchLike) -> int:
        """Row position of any valid form of a cell; InvalidArch says why a cell is invalid, NotInTable if missing."""
        if isinstance(arch, str):
            position = self._position.get(arch)
            if position is not None:
                return position
            shown = arch
            arch = parse_arch(arch)  # InvalidArch says why
        elif isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            if not 0 <= arch < len(self):
                raise ValueError(f"NB101 table row {arch} is out of range; valid rows are 0..{len(self) - 1}")
            return int(arch)
        elif isinstance(arch, (tuple, list)):
            shown = format_arch(as_arch(arch))
        else:
            raise TypeError(f"{arch!r} is not an NB101 arch string, (matrix, ops) cell or table row")
        position = self._by_hash.get(module_hash(arch))  # module_hash raises InvalidArch for an invalid cell
        if position is None:
            where = (f"the shipped table ({len(self):,} of {NUM_ARCHS:,} cells)" if self.path == TABLE_PATH
                     else f"{self.path} ({len(self):,} of {NUM_ARCHS:,} cells)")
            raise NotInTable(f"{shown} is not in {where}; import the official file with "
                             "`lrnas bench import nb101 --tfrecord FILE` and set space.table")
        return position

    def __repr__(self) -> str:
        return f"NB101Benchmark({len(self):,} of {NUM_ARCHS:,} cells, metrics={', '.join(METRICS)})"


@functools.cache
def load_nb101(path: str | os.PathLike | None = None) -> NB101Benchmark:
    """NAS-Bench-101 ground truth, read once per process: the shipped table (checked against TABLE_SHA256), or the
    table at ``path`` with the same columns (e.g. all 423,624 cells imported from the official tfrecord)."""
    if path is None:
        check_table(TABLE_PATH)
        return NB101Benchmark.from_csv(TABLE_PATH, check_rows=False)
    return NB101Benchmark.from_csv(path)


def row_problem(table: pd.DataFrame) -> tuple[int, str] | None:
    """The position of the first bad row of an NB101 table and what is wrong with it, or None. Bad: a cell that is not
    a valid pruned NB101 cell (not upper triangular, so not a DAG; input not reaching output; a vertex off every path;
    more than 9 edges; unknown ops), an accuracy outside [0, 100] %, negative params or ``full`` not 0/1."""
    cells = np.flatnonzero(~are_pruned(table["arch_str"].tolist()))
    if len(cells):
        try:
            check_pruned(table["arch_str"].iloc[cells[0]])
        except InvalidArch as why:
            return int(cells[0]), str(why)
    for column, low, high, allowed in [*((m, 0, 100, "an accuracy in [0, 100] (%)") for m in METRICS),
                                       ("params", 0, np.inf, "a parameter count >= 0"), ("full", 0, 1, "0 or 1")]:
        values = table[column].to_numpy()
        bad = np.flatnonzero(~((values >= low) & (values <= high)))
        if len(bad):
            return int(bad[0]), f"{column}={values[bad[0]]} is not {allowed}"
    return None


def check_table(path: Path) -> None:
    """Raise GroundTruthError unless ``path`` is the shipped table, byte for byte."""
    check_sha256(path, TABLE_SHA256, "NAS-Bench-101", "`python scripts/build_nb101_table.py`")
