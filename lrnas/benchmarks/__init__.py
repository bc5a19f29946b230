"""Embedded NAS benchmark ground truth, by name.

    >>> from lrnas.benchmarks import load_benchmark
    >>> len(load_benchmark("nb201").archs)
    15625
"""
from __future__ import annotations

from collections.abc import Callable

from lrnas.benchmarks.nb201 import GroundTruthError, NB201Benchmark, load_nb201

__all__ = ["GroundTruthError", "NB201Benchmark", "load_benchmark", "load_nb201"]

BENCHMARKS: dict[str, Callable[[], NB201Benchmark]] = {"nb201": load_nb201}


def load_benchmark(name: str) -> NB201Benchmark:
    """The ground truth of the search space ``name`` (cached after the first call)."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; valid benchmarks are {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]()
