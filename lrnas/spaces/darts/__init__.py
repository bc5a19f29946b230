"""DARTS (Liu et al., ICLR 2019): a normal and a reduction cell of 4 nodes, each node summing two (op, input) pairs.

The space as one package: arch.py (encoding and relaxation), supernet.py (the weight-sharing super-net),
benchmark.py (an imported or built table: none is shipped), importer.py (``lrnas bench import nds``), network.py
(the stand-alone network). This file is its face: the encoding's names, re-exported, and what else lrnas reads from
a space (the list is in lrnas/spaces/__init__.py)."""
from __future__ import annotations

from lrnas.benchmarks.table import TABLE_RULE
from lrnas.config_rules import flag, integer, invalid, one_of, optional
from lrnas.spaces.darts.arch import (  # the encoding is the space's vocabulary
    CELL_EDGES,
    CELL_TYPES,
    CONCAT,
    EXAMPLE,
    NODES,
    NUM_ARCHS,
    NUM_CELLS,
    NUM_EDGES,
    OPS,
    PAIRS_PER_CELL,
    RELAXED_EDGES,
    RELAXED_OPS,
    Arch,
    Cell,
    InvalidArch,
    Pair,
    candidate_nodes,
    check_arch,
    crossover,
    derive_arch,
    edge_index,
    fair_paths,
    format_arch,
    from_nds_genotype,
    most_probable,
    mutate,
    parse_arch,
    sample_arch,
    to_nds_genotype,
    uses_none,
)
from lrnas.spaces.darts.benchmark import load_darts_table
from lrnas.spaces.darts.supernet import CELL_SHARING

SUPERNET = "lrnas.spaces.darts.supernet:DARTSSuperNet"
one_edit = edit_distance = None  # no landmarks=hamming walk defined here
validate = None  # every parsed genotype is a network


def load_benchmark(table: str | None):
    """No DARTS ground truth is shipped: None, or the table at ``table`` (``lrnas bench import nds``, or a landmark
    file that ``lrnas landmarks build space=darts`` wrote)."""
    if table is None:
        return None
    return load_darts_table(table)


# space.* beyond lrnas.spaces.SPACE_RULES (lrnas.config_rules)
CONFIG_RULES = {"table": TABLE_RULE, "sample_from_table": flag(), "supernet.partial_channels": integer(1),
                "supernet.cell_type": one_of(CELL_SHARING), "supernet.layers": optional(integer(2))}


def check_config(values: dict) -> None:
    """FactorizedReduce halves a width, and only PC-DARTS mixes partial channels (at its own K)."""
    space, algorithm = values["space"], values["algorithm"]
    partial = space["supernet"]["partial_channels"]
    if space["supernet"]["cell_type"] == "per_slot" and algorithm["name"] in ("gdas", "pcdarts"):
        raise invalid("space.supernet.cell_type", "per_slot", f"per_edge with algorithm={algorithm['name']} (the "
                      "authors' slot-sharing cell serves their SPOS runs; it has no relaxation)")
    if algorithm["name"] == "pcdarts" and partial != algorithm["partial_channels"]:
        raise invalid("space.supernet.partial_channels", partial,
                      f"{algorithm['partial_channels']} (algorithm.partial_channels, which it follows unless "
                      "set)")
    if algorithm["name"] != "pcdarts" and partial != 1:
        raise invalid("space.supernet.partial_channels", partial,
                      f"1 with algorithm={algorithm['name']} (only PC-DARTS runs its ops on part of the "
                      "channels)")
    if space["channels"] % (2 * partial):
        raise invalid("space.channels", space["channels"],
                      f"a multiple of {2 * partial} with space=darts (2 x space.supernet.partial_channels: "
                      "FactorizedReduce halves the ops' width)")
