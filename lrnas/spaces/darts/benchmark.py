"""DARTS-space ground truth from a table the user has: none is shipped.

Two kinds of file are read the same way: an NDS table (``lrnas bench import nds --json DARTS.json``: ``arch_str``,
``cifar10_test``, ``params_m``, ...) and the landmarks.csv of ``lrnas landmarks build space=darts`` (``arch``,
``accuracy``, ``params_m``, ``recipe``, ``epochs``, ...), whose ``accuracy`` is read as ``cifar10_test``: the CIFAR-10
test accuracy of each network as that build's recipe trained it (metrics.json names the table). Every row is one
architecture in DARTS's Genotype notation; the evaluation sample and the landmarks are drawn from all of them.

    lrnas train space=darts space.table=outputs/landmarks/darts-random24-darts_cpu_2ep-seed0/landmarks.csv
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from lrnas.benchmarks.table import GroundTruthError, TableBenchmark
from lrnas.spaces.darts.arch import InvalidArch, format_arch, parse_arch

METRICS = ("cifar10_test",)
ALIASES = {"arch": "arch_str", "accuracy": "cifar10_test"}  # a landmark file's columns


class NotInTable(GroundTruthError):
    """A DARTS architecture the loaded table lacks (any table holds a tiny part of the space)."""


class DARTSTable(TableBenchmark):
    """Lookup by architecture string (any valid form: it is matched by its canonical string) or row position."""

    metrics = METRICS

    def __init__(self, table: pd.DataFrame, path: Path):
        self.table, self.path = table, path
        self._archs: list[str] = table["arch_str"].tolist()
        self._position = {arch: i for i, arch in enumerate(self._archs)}

    def training_epochs(self, metric: str) -> int:
        """How long the networks behind ``metric`` trained: the table's ``epochs`` column, when it has one value."""
        epochs = self.table["epochs"].unique() if "epochs" in self.table else []
        if len(epochs) != 1:
            raise GroundTruthError(f"{self.path} does not say how many epochs its networks trained (one value in an "
                                   "`epochs` column)")
        return int(epochs[0])

    def index_of(self, arch) -> int:
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            if not 0 <= arch < len(self._archs):
                raise ValueError(f"row {arch} is out of range; {self.path} has rows 0..{len(self._archs) - 1}")
            return int(arch)
        key = arch if isinstance(arch, str) else format_arch(arch)
        position = self._position.get(key)
        if position is None:
            position = self._position.get(format_arch(parse_arch(key)))  # InvalidArch says why it is not one
        if position is None:
            raise NotInTable(f"{key!r} is a DARTS architecture that {self.path} does not hold")
        return position

    def __repr__(self) -> str:
        return f"DARTSTable({len(self):,} archs from {self.path})"


@functools.cache
def _load(path: Path, modified: float) -> DARTSTable:
    try:
        table = pd.read_csv(path).rename(columns=ALIASES)
    except (OSError, ValueError, EOFError) as err:
        raise GroundTruthError(f"cannot read DARTS table {path}: {' '.join(str(err).split())}") from None
    missing = [column for column in ("arch_str", *METRICS, "params_m") if column not in table]
    if missing:
        raise GroundTruthError(f"DARTS table {path} lacks the column(s) {', '.join(missing)}; expected a table from "
                               "`lrnas bench import nds` or a landmarks.csv of `lrnas landmarks build space=darts`")
    for row, arch in enumerate(table["arch_str"]):
        try:
            table.loc[row, "arch_str"] = format_arch(parse_arch(arch))  # canonical: equal networks, equal keys
        except InvalidArch as err:
            raise GroundTruthError(f"{path}:{row + 2}: {err}") from None
    repeated = table["arch_str"].duplicated()
    if repeated.any():
        raise GroundTruthError(f"{path}:{int(np.argmax(repeated)) + 2}: architecture listed twice")
    for column in (*METRICS, "params_m"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~values.between(0, 100) if column in METRICS else ~(values > 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise GroundTruthError(f"{path}:{row + 2}: {column}={table[column].iloc[row]} must be "
                                   + ("an accuracy in 0..100 (%)" if column in METRICS else "a count > 0 (millions)"))
        table[column] = values.astype(float)
    return DARTSTable(table.reset_index(drop=True), path)


def load_darts_table(path: str | os.PathLike) -> DARTSTable:
    """The table at ``path``, read once per process (again if the file changed); GroundTruthError says what is wrong."""
    resolved = Path(path).expanduser().resolve()
    try:
        modified = resolved.stat().st_mtime
    except OSError as err:
        raise GroundTruthError(f"cannot read DARTS table {path}: {err.strerror}") from None
    return _load(resolved, modified)
