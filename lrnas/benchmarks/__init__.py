"""Embedded NAS benchmark ground truth, by name.

    >>> from lrnas.benchmarks import load_benchmark
    >>> len(load_benchmark("nb201").archs)
    15625
"""
from __future__ import annotations

from collections.abc import Callable

from lrnas.benchmarks.nb101 import NB101Benchmark, NotInTable, load_nb101
from lrnas.benchmarks.nb201 import GroundTruthError, NB201Benchmark, load_nb201

__all__ = ["GroundTruthError", "NB101Benchmark", "NB201Benchmark", "NotInTable", "load_benchmark", "load_nb101",
           "load_nb201"]

Benchmark = NB101Benchmark | NB201Benchmark
BENCHMARKS: dict[str, Callable[[], Benchmark]] = {"nb101": load_nb101, "nb201": load_nb201}


def load_benchmark(name: str, table: str | None = None) -> Benchmark:
    """The ground truth of the search space ``name`` (cached after the first call); ``table``: another table file
    (``space.table``, e.g. all NB101 cells imported by ``lrnas bench import nb101``)."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; valid benchmarks are {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name](table) if table else BENCHMARKS[name]()
