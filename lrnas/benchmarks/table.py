"""What every ground-truth table answers once a benchmark has mapped an architecture to its row (``index_of``)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..config_rules import Rule, optional

SHIPPED_DIR = Path(__file__).with_name("data")  # the ground-truth tables the wheel ships (data/PROVENANCE.md)
# space.table of a space that reads other tables than its shipped one (lrnas.config_rules; the file: lrnas.validation)
TABLE_RULE = optional(Rule("a path to a ground-truth table (lrnas bench import ...)", lambda v: isinstance(v, str)))


class GroundTruthError(RuntimeError):
    """The shipped ground-truth table is missing or corrupt; the message names the file and the fix."""


def check_sha256(path: Path, expected: str, name: str, rebuild: str) -> None:
    """Raise GroundTruthError unless ``path`` is the shipped ``name`` table byte for byte (a truncated or edited copy);
    the message says how to ``rebuild`` it."""
    try:
        actual = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as err:
        raise GroundTruthError(f"cannot load {name} table {path}: {err.strerror}; reinstall lrnas or rebuild it with "
                               f"{rebuild}") from None
    if actual != expected:
        raise GroundTruthError(f"{name} table {path} is corrupt: sha256 {actual}, expected {expected}; reinstall lrnas "
                               f"or rebuild it with {rebuild}")


class TableBenchmark:
    """Lookups shared by the benchmarks: ``table`` holds the accuracies in ``metrics`` (%) and ``params_m``."""

    metrics: tuple[str, ...] = ()
    table: pd.DataFrame
    _archs: list[str]  # the table's arch strings, in row order

    @property
    def archs(self) -> list[str]:
        """Every architecture of the table, in row order."""
        return list(self._archs)

    @property
    def eval_pool(self) -> list[str]:
        """The archs an evaluation sample is drawn from: all of the table's, unless a benchmark says otherwise."""
        return list(self._archs)

    @property
    def landmark_pool(self) -> list[str]:
        """The archs landmarks are drawn from, once the evaluation sample is removed: all of the table's."""
        return list(self._archs)

    def index_of(self, arch) -> int:
        raise NotImplementedError

    def query(self, arch) -> pd.Series:
        """The ground-truth row of one architecture."""
        return self.table.iloc[self.index_of(arch)]

    def accuracies(self, archs: Iterable, metric: str = "cifar10_test") -> np.ndarray:
        """Ground-truth ``metric`` (%) for each architecture, in order."""
        if metric not in self.metrics:
            raise ValueError(f"unknown metric {metric!r}; valid metrics are {', '.join(self.metrics)}")
        return self._column(archs, metric)

    def params(self, archs: Iterable) -> np.ndarray:
        """Parameter count in millions for each architecture (the parameter-count baseline ranks by this)."""
        return self._column(archs, "params_m")

    def isomorphism_classes(self, archs: Iterable) -> list | None:
        """Each architecture's isomorphism class (the table's ``unique_key``: NB201's 6,466 classes), or None for a
        table without one."""
        return self._column(archs, "unique_key").tolist() if "unique_key" in self.table else None

    def _column(self, archs: Iterable, column: str) -> np.ndarray:
        rows = np.fromiter((self.index_of(a) for a in archs), dtype=np.intp)
        return self.table[column].to_numpy()[rows]

    def __len__(self) -> int:
        return len(self.table)
