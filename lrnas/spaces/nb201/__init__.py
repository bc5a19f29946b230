"""NAS-Bench-201 (Dong & Yang, ICLR 2020): a cell of 4 nodes and 6 edges, each one of 5 ops, shared by every cell of
the network; all 15,625 cells have ground truth.

The space as one package: arch.py (encoding), supernet.py and supernet_partial.py (the weight-sharing super-net and
the authors' PC-DARTS cell), benchmark.py (the shipped ground truth), network.py (the stand-alone network that
``lrnas landmarks build`` trains). This file is its face: the encoding's names, re-exported, and what else lrnas
reads from a space (the list is in lrnas/spaces/__init__.py)."""
from __future__ import annotations

from lrnas.config_rules import flag, invalid, one_of
from lrnas.search.differentiable import top_k_by_probability
from lrnas.spaces.nb201.arch import (  # the encoding is the space's vocabulary
    EDGES,
    NUM_ARCHS,
    NUM_EDGES,
    OPS,
    Arch,
    InvalidArch,
    all_archs,
    crossover,
    fair_paths,
    format_arch,
    mutate,
    parse_arch,
    sample_arch,
)
from lrnas.spaces.nb201.benchmark import load_nb201
from lrnas.spaces.nb201.cells_partial import PARTIAL_CHANNELS
from lrnas.spaces.nb201.supernet import CELL_TYPES

SUPERNET = "lrnas.spaces.nb201.supernet:NB201SuperNet"
validate = None  # every parsed cell is a network
# The relaxation of the differentiable algorithms: one row of op weights per edge, one column per op.
RELAXED_OPS = OPS
RELAXED_EDGES = EDGES


def load_benchmark(table: str | None):
    """The shipped table of all 15,625 cells (it is the whole space: no other table is needed)."""
    if table is not None:
        raise ValueError(f"space.table={table!r}: NB201 ships the ground truth of every cell; leave it unset")
    return load_nb201()


def most_probable(probabilities, k: int, edge_weights=None) -> list[tuple[Arch, float]]:
    """The ``k`` most probable cells under independent per-edge op distributions, the argmax first (every edge is
    kept, so PC-DARTS's ``edge_weights`` do not change the choice)."""
    return top_k_by_probability(probabilities, OPS, k)


def derive_arch(probabilities, edge_weights=None) -> Arch:
    return most_probable(probabilities, 1)[0][0]


# space.* beyond lrnas.spaces.SPACE_RULES (lrnas.config_rules)
CONFIG_RULES = {"supernet.cell_type": one_of(CELL_TYPES), "supernet.bn_affine": flag()}


def check_config(values: dict) -> None:
    """The authors' partial-channel cell is PC-DARTS's, at its fixed K."""
    algorithm = values["algorithm"]
    if (values["space"].get("supernet") or {}).get("cell_type") != "partial_channel":
        return
    if algorithm["name"] != "pcdarts":
        raise invalid("space.supernet.cell_type", "partial_channel",
                      f"per_edge or op_on_node with algorithm={algorithm['name']} (the partial-channel cell is "
                      "the authors' PC-DARTS cell: use algorithm=pcdarts)")
    if algorithm["partial_channels"] != PARTIAL_CHANNELS:
        raise invalid("algorithm.partial_channels", algorithm["partial_channels"],
                      f"{PARTIAL_CHANNELS} with space.supernet.cell_type=partial_channel (the authors' cell "
                      f"fixes K = {PARTIAL_CHANNELS})")


# landmarks=hamming's walk (lrnas.landmarks.selection.hamming_groups) takes these steps.
_EDGES_OF_NODE = tuple(tuple(i for i, (target, _) in enumerate(EDGES) if target == node) for node in (1, 2, 3))


def one_edit(arch: Arch, rng) -> Arch:
    """One step of the authors' ``mutate_arch_func`` (kcyu2014/nas-landmarkreg nasws/cnn/policy/random_policy/
    nasbench201_weight_sharing_policy.py): a uniform target node, a uniform incoming edge of it, a uniform other op.
    ``rng``: a numpy Generator."""
    ops = list(arch)
    edges = _EDGES_OF_NODE[rng.integers(len(_EDGES_OF_NODE))]
    edge = edges[rng.integers(len(edges))]
    others = [op for op in OPS if op != ops[edge]]
    ops[edge] = others[rng.integers(len(others))]
    return tuple(ops)


def edit_distance(a: Arch, b: Arch) -> int:
    """Hamming distance: the number of edges whose ops differ."""
    return sum(x != y for x, y in zip(a, b, strict=True))
