"""Ground-truth tables: what every space's benchmark answers (``TableBenchmark``), the one error a missing or corrupt
table raises, and the tables lrnas ships (``data/``). A space's own table lives in its package
(``lrnas/spaces/NAME/benchmark.py``); ``lrnas.spaces.load_benchmark(name)`` gets it by space name.

    >>> from lrnas.spaces import load_benchmark
    >>> len(load_benchmark("nb201").archs)
    15625
"""
from lrnas.benchmarks.table import SHIPPED_DIR, GroundTruthError, TableBenchmark, check_sha256

__all__ = ["SHIPPED_DIR", "GroundTruthError", "TableBenchmark", "check_sha256"]
