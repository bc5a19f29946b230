"""NAS-Bench-201's search cells: one module per (edge, op), run one arch's path at a time (``SearchCell``), or per
node (``OpOnNodeSearchCell``); the authors' partial-channel cell subclasses them in cells_partial.py."""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from lrnas.spaces.nb201.arch import EDGES, NUM_EDGES, OPS, Arch, InvalidArch

OUTPUT_NODE = 3
_PLAN_CACHE_SIZE = 1024


def batch_stat_bn(channels: int, affine: bool = True) -> nn.BatchNorm2d:
    # No running statistics anywhere: batch statistics in train and eval mode, as the paper's authors did, so
    # a path is never evaluated with statistics accumulated by other paths.
    return nn.BatchNorm2d(channels, affine=affine, track_running_stats=False)


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, affine: bool = True) -> nn.Sequential:
    # inplace=False: a node's tensor feeds several edges and must survive the first ReLU.
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        batch_stat_bn(c_out, affine),
    )


CONV_OPS = ("nor_conv_1x1", "nor_conv_3x3")


def op_modules(channels: int, bn_affine: bool) -> nn.ModuleDict:
    """One module per op except ``none``, which has none: its edges add exact zeros and are skipped."""
    return nn.ModuleDict({
        "skip_connect": nn.Identity(),
        "nor_conv_1x1": relu_conv_bn(channels, channels, 1, affine=bn_affine),
        "nor_conv_3x3": relu_conv_bn(channels, channels, 3, affine=bn_affine),
        "avg_pool_3x3": nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    })


@functools.cache
def active_edges(arch: Arch, bn_affine: bool = False) -> tuple[tuple[int, int, int, str], ...]:
    """(edge index, target, source, op) of the edges whose output reaches the cell output, in an order that completes
    every node before it is read. The rest add exact zeros or feed dead ends, so skipping them leaves the output and
    every gradient as a full forward (every edge run, ``none`` as zeros) computes them.

    A node is zero when nothing non-zero flows into it. skip and avg-pool map zeros to zeros, and so does
    ReLU-conv-BN without affine parameters; with ``bn_affine`` it maps zeros to BN's bias, so a conv edge reading a
    zero node still runs (on zeros: ``SearchCell.forward`` feeds them) and its node is not zero."""
    if len(arch) != NUM_EDGES or any(op not in OPS for op in arch):
        raise InvalidArch(f"{arch!r} is not a tuple of {NUM_EDGES} ops from {', '.join(OPS)}")
    live = [(e, t, s, op) for e, ((t, s), op) in enumerate(zip(EDGES, arch, strict=True)) if op != "none"]
    makes_bias = (lambda op: op in CONV_OPS) if bn_affine else (lambda op: False)
    nonzero = {0}
    for _, t, s, op in live:  # EDGES is ordered by target, so sources are settled before they are read
        if s in nonzero or makes_bias(op):
            nonzero.add(t)
    runs = [edge for edge in live if edge[2] in nonzero or makes_bias(edge[3])]
    useful = {OUTPUT_NODE}
    for _, t, s, _ in reversed(runs):
        if t in useful:
            useful.add(s)
    return tuple(edge for edge in runs if edge[1] in useful)


class SearchCell(nn.Module):
    """NB201 cell: node j = sum over i < j of op_ji(node i); the output is node 3. One op set per edge.

    ``bn_affine`` gives the convs' BN a learnable scale and bias (the authors' choice) or none (NB201's search models,
    lrnas's default)."""

    OP_SET = tuple(range(NUM_EDGES))  # the op set (index into self.ops) each edge, in EDGES order, runs

    def __init__(self, channels: int, bn_affine: bool = False):
        super().__init__()
        self.bn_affine = bn_affine
        self.ops = nn.ModuleList(op_modules(channels, bn_affine) for _ in range(max(self.OP_SET) + 1))
        self._plans: dict[Arch, list[tuple[int, int, nn.Module]]] = {}

    def edge_ops(self, edge: int) -> nn.ModuleDict:
        return self.ops[self.OP_SET[edge]]

    def plan(self, arch: Arch) -> list[tuple[int, int, nn.Module]]:
        """(target, source, module) for each edge that runs; cached so forward does no graph work."""
        plan = self._plans.get(arch)
        if plan is None:
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[arch] = [(t, s, self.edge_ops(e)[op])
                                        for e, t, s, op in active_edges(arch, self.bn_affine)]
        return plan

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        for target, source, module in self.plan(arch):
            if nodes[source] is None:  # a zero node feeding an affine conv (see plan); nothing else writes it
                nodes[source] = torch.zeros_like(x)
            y = module(nodes[source])
            # Out of place: skip_connect returns its input, which other edges still read.
            nodes[target] = y if nodes[target] is None else nodes[target] + y
        out = nodes[OUTPUT_NODE]
        return torch.zeros_like(x) if out is None else out

    def forward_mixed(self, x: torch.Tensor, op_weights: torch.Tensor, edge_weights: torch.Tensor | None = None,
                      selected: list[int] | None = None, partial_channels: int = 1,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """The continuous relaxation used by differentiable algorithms, on the same op modules as ``forward``.

        Edge e outputs ``sum_k op_weights[e, k] * op_k(x)``, scaled by ``edge_weights[e]`` if given (PC-DARTS edge
        normalisation). ``selected[e]`` (GDAS) runs only that op; the other weights, zero in value under the
        straight-through estimator, are added as scalars so their gradient still reaches the architecture
        parameters. ``partial_channels=K`` (PC-DARTS) runs the ops on a random 1/K of the channels, drawn per edge
        and step from ``generator``, and passes the others through unchanged.
        """
        nodes = [x]
        for target in range(1, OUTPUT_NODE + 1):
            total = None
            for e, (t, source) in enumerate(EDGES):
                if t != target:
                    continue
                y = self.mixed_edge(e, nodes[source], op_weights[e], None if selected is None else selected[e],
                                    partial_channels, generator)
                if edge_weights is not None:
                    y = edge_weights[e] * y
                total = y if total is None else total + y
            nodes.append(total)
        return nodes[OUTPUT_NODE]

    def mixed_edge(self, edge: int, x: torch.Tensor, weights: torch.Tensor, selected: int | None,
                   partial_channels: int, generator: torch.Generator | None) -> torch.Tensor:
        """One edge of the relaxation: only op ``selected`` (GDAS), or the ``weights``-mix of every op."""
        if selected is not None:
            return self._selected_op(edge, selected, x, weights)
        return self._partial_mixed_op(edge, x, weights, partial_channels, generator)

    def _selected_op(self, edge: int, k: int, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        others = weights.sum() - weights[k]  # exactly 0 in value; carries the gradient of the unselected weights
        op = OPS[k]
        y = torch.zeros_like(x) if op == "none" else self.edge_ops(edge)[op](x)
        return weights[k] * y + others

    def _partial_mixed_op(self, edge: int, x: torch.Tensor, weights: torch.Tensor, partial_channels: int,
                          generator: torch.Generator | None) -> torch.Tensor:
        channels = x.shape[1]
        ops = self.edge_ops(edge)
        if partial_channels == 1:
            return sum(w * ops[op](x) for w, op in zip(weights, OPS, strict=True) if op != "none")
        # A random channel subset rather than PC-DARTS's first 1/K after a fixed shuffle: the ops are full width and
        # shared with the discrete forward, and a fixed slice would only ever train one corner of each weight.
        index = torch.randperm(channels, generator=generator, device=x.device)[: channels // partial_channels]
        part = x.index_select(1, index)
        mixed = sum(w * _sliced_op(ops[op], part, index) for w, op in zip(weights, OPS, strict=True) if op != "none")
        return x.index_copy(1, index, mixed)


class OpOnNodeSearchCell(SearchCell):
    """The authors' NB201 super-net cell (``SearchCellOnNode``, kcyu2014/nas-landmarkreg nasws/cnn/search_space/
    nasbench201/lib/models/cell_searchs/search_cells.py:215-253): node i holds op sets for its edges from nodes 0 and
    1 only, and every edge i<-j with j >= 2 reuses i<-1's. On NB201 edge 3<-2 shares 3<-1's ops: 5 op sets."""

    OP_SET = (0, 1, 2, 3, 4, 4)


def _sliced_op(module: nn.Module, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``module`` applied to the channels ``index`` of its input, with the matching slice of its conv weights."""
    if not isinstance(module, nn.Sequential):  # skip_connect and avg_pool are channel-wise already
        return module(x)
    _, conv, bn = module  # ReLU-Conv-BN with batch statistics (no running statistics)
    weight = conv.weight.index_select(0, index).index_select(1, index)
    scale, bias = (bn.weight[index], bn.bias[index]) if bn.affine else (None, None)
    return F.batch_norm(F.conv2d(F.relu(x), weight, padding=conv.padding), None, None, scale, bias, training=True,
                        eps=bn.eps)
