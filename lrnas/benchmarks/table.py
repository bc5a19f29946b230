"""What every ground-truth table answers once a benchmark has mapped an architecture to its row (``index_of``)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


class GroundTruthError(RuntimeError):
    """The shipped ground-truth table is missing or corrupt; the message names the file and the fix."""


class TableBenchmark:
    """Lookups shared by the benchmarks: ``table`` holds the accuracies in ``metrics`` (%) and ``params_m``."""

    metrics: tuple[str, ...] = ()
    table: pd.DataFrame

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

    def _column(self, archs: Iterable, column: str) -> np.ndarray:
        rows = np.fromiter((self.index_of(a) for a in archs), dtype=np.intp)
        return self.table[column].to_numpy()[rows]

    def __len__(self) -> int:
        return len(self.table)
