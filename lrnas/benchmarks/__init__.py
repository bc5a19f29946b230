"""NAS benchmark ground truth, by space name: each space loads its own (``load_benchmark`` in lrnas/spaces/NAME.py).

    >>> from lrnas.benchmarks import load_benchmark
    >>> len(load_benchmark("nb201").archs)
    15625
"""
from __future__ import annotations

from lrnas.benchmarks.nb101 import NB101Benchmark, NotInTable, load_nb101
from lrnas.benchmarks.nb201 import GroundTruthError, NB201Benchmark, load_nb201

__all__ = ["GroundTruthError", "NB101Benchmark", "NB201Benchmark", "NotInTable", "load_benchmark", "load_nb101",
           "load_nb201"]


def load_benchmark(name: str, table: str | None = None):
    """The ground truth of the search space ``name`` (cached after the first call), or None for a space that ships
    none (DARTS) when no ``table`` is given; ``table``: another table file (``space.table``, e.g. all NB101 cells
    imported by ``lrnas bench import nb101``)."""
    from lrnas.spaces import get_space  # here: lrnas.spaces' modules import this package's tables

    return get_space(name).load_benchmark(table)
