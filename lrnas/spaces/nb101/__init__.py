"""NAS-Bench-101 (Ying et al., ICML 2019): a cell DAG of up to 7 vertices and 9 edges, 3 ops per inner vertex.

The space as one package: arch.py (encoding), supernet.py (the weight-sharing super-net), benchmark.py (the shipped
ground truth), importer.py and tfrecord.py (``lrnas bench import nb101``), network.py (the stand-alone network).
This file is its face: the encoding's names, re-exported, and what else lrnas reads from a space (the list is in
lrnas/spaces/__init__.py)."""
from __future__ import annotations

from lrnas.benchmarks.table import TABLE_RULE
from lrnas.config_rules import flag
from lrnas.spaces.nb101.arch import (  # the encoding is the space's vocabulary
    EDGE_SLOTS,
    FORMAT,
    MAX_EDGES,
    MAX_TRIES,
    NUM_ARCHS,
    NUM_VERTICES,
    OPS,
    Arch,
    InvalidArch,
    Matrix,
    are_pruned,
    as_arch,
    check_pruned,
    crossover,
    fair_paths,
    format_arch,
    is_valid,
    labelled_forms,
    module_hash,
    mutate,
    num_edges,
    parse_arch,
    prune,
    sample_arch,
    validate,
)
from lrnas.spaces.nb101.benchmark import load_nb101

SUPERNET = "lrnas.spaces.nb101.supernet:NB101SuperNet"
one_edit = edit_distance = None  # no landmarks=hamming walk defined here
# No continuous relaxation (a cell's edges are themselves the choice): SPOS and FairNAS only.
RELAXED_OPS = RELAXED_EDGES = most_probable = derive_arch = None
check_config = None  # its keys need no cross-key check


def load_benchmark(table: str | None):
    """The shipped table (151,644 cells), or an imported one (``lrnas bench import nb101``)."""
    return load_nb101() if table is None else load_nb101(table)  # one cache entry for the shipped table


# space.* beyond lrnas.spaces.SPACE_RULES (lrnas.config_rules)
CONFIG_RULES = {"table": TABLE_RULE, "supernet.bn_affine": flag()}
