"""The authors' PC-DARTS cell for NB201: ops at width C/K on the first C/K channels, then a channel shuffle.

kcyu2014/nas-landmarkreg ``SearchCellPCDarts`` (nasws/cnn/search_space/nasbench201/lib/models/cell_searchs/
search_cells.py:298-394): K = 4 (:310), every op is built for C/K channels (:329); an edge runs its ops on the first
C/K channels of its input, concatenates the other channels unchanged and shuffles the result in K groups (:338-353);
a node sums its incoming edges with no edge normalisation (:355-372). A discrete architecture is scored through the
same cell with one-hot op weights (``forward_dynamic``, :374-388), so every edge, ``none`` included, still passes
its last C - C/K channels on: no edge and no node is ever zero.

``forward(x, arch)`` is that one-hot forward. It runs only the chosen op of each edge: the authors' ``0 * op(x)``
terms add exact zeros and zero gradients, so the outputs and the gradients of the op that runs are the same (the ops
that do not run get no gradient rather than a zero one; with ``trainer.set_grads_to_none=false``, the paper presets'
setting, the optimizer update is identical).

    lrnas train experiment=paper_nb201_pcdarts space.supernet.cell_type=partial_channel
"""
from __future__ import annotations

import torch
from torch import nn

from lrnas.spaces.channel_shuffle import shuffle_index
from lrnas.spaces.nb201.arch import EDGES, NUM_EDGES, OPS, Arch, InvalidArch
from lrnas.spaces.nb201.cells import OUTPUT_NODE, SearchCell, op_modules

PARTIAL_CHANNELS = 4  # K, fixed in the authors' cell (search_cells.py:310)


class _Zero(nn.Module):
    """The ``none`` op at the partial width: zeros, no parameters (so ``path_parameters`` can list it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class PartialChannelSearchCell(SearchCell):
    """NB201 cell with the authors' PC-DARTS partial-channel edges; ``channels`` must be divisible by K = 4."""

    K = PARTIAL_CHANNELS

    def __init__(self, channels: int, bn_affine: bool = False):
        nn.Module.__init__(self)  # not SearchCell's full-width ops
        if channels % self.K:
            raise ValueError(f"the partial-channel cell needs a width divisible by {self.K}, got {channels}")
        self.bn_affine = bn_affine
        self.part = channels // self.K
        self.ops = nn.ModuleList(op_modules(self.part, bn_affine) for _ in EDGES)
        self.zero = _Zero()
        self.register_buffer("shuffle", shuffle_index(channels, self.K), persistent=False)

    def edge_ops(self, edge: int) -> nn.ModuleDict:
        return self.ops[edge]

    def _op(self, edge: int, op: str) -> nn.Module:
        return self.zero if op == "none" else self.ops[edge][op]

    def plan(self, arch: Arch) -> list[tuple[int, int, nn.Module]]:
        """Every edge runs (a ``none`` edge still passes its untouched channels on): (target, source, module)."""
        if len(arch) != NUM_EDGES or any(op not in OPS for op in arch):
            raise InvalidArch(f"{arch!r} is not a tuple of {NUM_EDGES} ops from {', '.join(OPS)}")
        return [(t, s, self._op(e, op)) for e, ((t, s), op) in enumerate(zip(EDGES, arch, strict=True))]

    def _edge(self, x: torch.Tensor, mixed: torch.Tensor) -> torch.Tensor:
        """cat(ops' output on the first C/K channels, the other channels), then the channel shuffle."""
        return torch.cat([mixed, x[:, self.part:]], dim=1).index_select(1, self.shuffle)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        nodes = [x]
        plan = self.plan(tuple(arch))
        for target in range(1, OUTPUT_NODE + 1):
            edges = [self._edge(nodes[s], module(nodes[s][:, : self.part])) for t, s, module in plan if t == target]
            nodes.append(sum(edges))
        return nodes[OUTPUT_NODE]

    def forward_mixed(self, x: torch.Tensor, op_weights: torch.Tensor, edge_weights: torch.Tensor | None = None,
                      selected: list[int] | None = None, partial_channels: int = PARTIAL_CHANNELS,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """The authors' PC-DARTS relaxation: edge e mixes ``sum_k op_weights[e, k] * op_k`` on its first C/K channels
        (``none`` adds zeros), then ``_edge``; ``edge_weights`` (PC-DARTS paper's edge normalisation, which the
        authors' NB201 cell does not have) scales each edge. ``generator`` is unused: the slice is fixed."""
        if selected is not None:
            raise ValueError("the partial-channel cell has no single-op (GDAS) relaxation; use cell_type=per_edge")
        if partial_channels != self.K:
            raise ValueError(f"the partial-channel cell mixes 1/{self.K} of the channels, not 1/{partial_channels}")
        return super().forward_mixed(x, op_weights, edge_weights, None, partial_channels)

    def mixed_edge(self, edge: int, x: torch.Tensor, weights: torch.Tensor, selected: int | None,
                   partial_channels: int, generator: torch.Generator | None) -> torch.Tensor:
        part = x[:, : self.part]
        mixed = sum(w * self.ops[edge][op](part) for w, op in zip(weights, OPS, strict=True) if op != "none")
        return self._edge(x, mixed)
