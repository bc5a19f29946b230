"""DARTS search network (quark0/darts cnn/model_search.py) as a weight-sharing super-net over the DARTS cell space.

A stem (3x3 conv to 3C, BN), ``3N + 2`` cells (DARTS: 8) with reduction cells at 1/3 and 2/3 of the depth (widths
double there), global average pooling and a linear classifier. Every cell holds one module per (edge, op): a
normal cell's edge ``source -> node`` with op ``o`` trains the same weights for every architecture that has that
input, so weights are shared per (cell, edge, op). Ops are DARTS's search ops (operations.py, ``affine=False``, pools
followed by BN as in model_search.py MixedOp); as elsewhere in lrnas, BN keeps no running statistics.

- ``forward(x, arch)``: the single path of a genotype: each node sums its two ops, the cell concatenates nodes 2..5.
- ``forward_mixed(x, op_weights, ...)``: the relaxation of PC-DARTS and GDAS over ``RELAXED_EDGES`` x
  ``RELAXED_OPS`` (``none`` included), on the same modules.
- ``cell_type="per_slot"``: the authors' darts_nds SPOS cell (kcyu2014/nas-landmarkreg nasws/cnn/search_space/
  darts/cell.py:11-84, ``DartsSpaceCellSearch``, their default ``op_on_node``): one op set per genotype slot (a node's
  first or second input, 8 per cell) whatever state it reads, plus stride-2 sets for the reduction cell's slots
  that read the cell inputs (operations.py:71-107). A slot is a position in lrnas's canonical pair order. Sampling
  algorithms only (it has no relaxation).
- ``partial_channels=K`` builds PC-DARTS's cells (Xu et al. 2020; yuhuixu1993/PC-DARTS model_search.py MixedOp,
  k = 4): every op works on the first C/K channels of its edge, the rest pass by (max-pooled on a reduction edge),
  then the channels are shuffled in K groups. ``forward(x, arch)`` is then the one-hot forward through those cells:
  an edge the genotype does not use still passes its C - C/K channels on, as in PC-DARTS's own super-net.

    >>> import random, torch
    >>> from lrnas.spaces.darts import arch as darts
    >>> net = DARTSSuperNet(C=4, N=1)
    >>> net(torch.randn(2, 3, 32, 32), darts.sample_arch(random.Random(0))).shape
    torch.Size([2, 10])
"""
from __future__ import annotations

import torch
from torch import nn

from lrnas.spaces.channel_shuffle import shuffle_index
from lrnas.spaces.darts.arch import (
    CELL_EDGES,
    CELL_TYPES,
    NODES,
    NONE,
    OPS,
    PAIRS_PER_CELL,
    RELAXED_OPS,
    Arch,
    check_arch,
)

STEM_MULTIPLIER = 3  # model_search.py Network: stem_multiplier=3
CELL_SHARING = ("per_edge", "per_slot")  # space.supernet.cell_type
EDGE = {edge: e for e, edge in enumerate(CELL_EDGES)}  # (node, source) -> the cell's edge index


def _bn(channels: int, affine: bool = False) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=affine, track_running_stats=False)


# DARTS's ops (operations.py), built either for the search network or for a stand-alone network: DARTS passes
# affine=False to the search ops and affine=True to the evaluation ones (model_search.py MixedOp, model.py Cell).
# ``search=True``: BN without affine parameters and, as in every lrnas super-net, without running statistics.
# ``search=False``: DARTS's evaluation BN, affine and keeping running statistics for test time.
def norm(channels: int, search: bool) -> nn.BatchNorm2d:
    return _bn(channels) if search else nn.BatchNorm2d(channels)


def relu_conv_bn(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, padding: int = 0,
                 search: bool = True) -> nn.Sequential:
    """operations.py ReLUConvBN."""
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         norm(c_out, search))


def _dil_conv(c: int, kernel: int, stride: int, padding: int, dilation: int, search: bool) -> nn.Sequential:
    """operations.py DilConv: ReLU, depthwise (dilated) conv, pointwise conv, BN."""
    return nn.Sequential(nn.ReLU(inplace=False),
                         nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), norm(c, search))


def _sep_conv(c: int, kernel: int, stride: int, padding: int, search: bool) -> nn.Sequential:
    """operations.py SepConv: two DilConv-like stages (dilation 1), the first with the stride."""
    return nn.Sequential(*_dil_conv(c, kernel, stride, padding, 1, search),
                         *_dil_conv(c, kernel, 1, padding, 1, search))


class FactorizedReduce(nn.Module):
    """operations.py FactorizedReduce: ReLU, two stride-2 1x1 convs on offset grids, concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, search: bool = True):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even width, got {c_out}")
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = norm(c_out, search)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Zero(nn.Module):
    """operations.py Zero: the ``none`` op, zeros at the op's output resolution."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


def make_op(op: str, c: int, stride: int, search: bool = True) -> nn.Module:
    """One DARTS op at width ``c`` (operations.py OPS); the search network's pools are followed by BN (MixedOp)."""
    if op == NONE:
        return Zero(stride)
    if op in ("max_pool_3x3", "avg_pool_3x3"):
        pool = (nn.MaxPool2d(3, stride, padding=1) if op == "max_pool_3x3"
                else nn.AvgPool2d(3, stride, padding=1, count_include_pad=False))
        return nn.Sequential(pool, norm(c, search)) if search else pool
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, search)
    if op == "sep_conv_3x3":
        return _sep_conv(c, 3, stride, 1, search)
    if op == "sep_conv_5x5":
        return _sep_conv(c, 5, stride, 2, search)
    if op == "dil_conv_3x3":
        return _dil_conv(c, 3, stride, 2, 2, search)
    if op == "dil_conv_5x5":
        return _dil_conv(c, 5, stride, 4, 2, search)
    raise ValueError(f"unknown DARTS op {op!r}; valid: {', '.join(RELAXED_OPS)}")


class SearchCell(nn.Module):
    """One DARTS cell with every op on every edge; ``kind`` says which genotype cell (normal/reduce) it runs."""

    def __init__(self, c_prev_prev: int, c_prev: int, c: int, reduction: bool, reduction_prev: bool,
                 partial_channels: int = 1, cell_type: str = "per_edge"):
        super().__init__()
        self.kind = CELL_TYPES[int(reduction)]
        self.cell_type = cell_type
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else relu_conv_bn(c_prev_prev, c)
        self.preprocess1 = relu_conv_bn(c_prev, c)
        self.partial = partial_channels
        self.part = c // partial_channels
        strides = [2 if reduction and source < 2 else 1 for _, source in CELL_EDGES]
        self.strides = strides
        if cell_type == "per_slot":  # the authors' DartsSpaceCellSearch: ops per slot, stride-2 copies to reduce
            self.slots = nn.ModuleList(self._op_set(c, 1) for _ in range(PAIRS_PER_CELL))
            self.reduce_slots = nn.ModuleList(self._op_set(c, 2) for _ in range(PAIRS_PER_CELL)) if reduction else None
        else:
            self.edges = nn.ModuleList(self._op_set(self.part, stride) for stride in strides)
        if partial_channels > 1:
            # PC-DARTS MixedOp: the channels the ops do not see bypass them, max-pooled where the edge has stride 2.
            self.bypass = nn.MaxPool2d(2, 2)
            self.register_buffer("shuffle", shuffle_index(c, partial_channels), persistent=False)

    @staticmethod
    def _op_set(c: int, stride: int) -> nn.ModuleDict:
        return nn.ModuleDict({op: make_op(op, c, stride) for op in OPS})

    def _slot_op(self, position: int, op: str, source: int) -> nn.Module:
        """The module slot ``position`` runs for ``(op, source)`` in a per-slot cell."""
        if op == NONE:
            return Zero(2 if self.reduce_slots is not None and source < 2 else 1)
        slots = self.reduce_slots if self.reduce_slots is not None and source < 2 else self.slots
        return slots[position][op]

    def _states(self, s0: torch.Tensor, s1: torch.Tensor) -> list[torch.Tensor]:
        return [self.preprocess0(s0), self.preprocess1(s1)]

    def _finish_edge(self, e: int, x: torch.Tensor, mixed: torch.Tensor | None) -> torch.Tensor | None:
        """A partial-channel edge: cat(the ops' output, the bypassed channels), shuffled; else the ops' output."""
        if self.partial == 1:
            return mixed
        rest = x[:, self.part:]
        rest = self.bypass(rest) if self.strides[e] == 2 else rest
        if mixed is None:  # only "none" ran: zeros where the ops' output would be
            mixed = torch.zeros_like(rest[:, : self.part])
        return torch.cat([mixed, rest], dim=1).index_select(1, self.shuffle)

    def _ops_input(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.partial == 1 else x[:, : self.part]

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, cell) -> torch.Tensor:
        """The genotype cell ``cell`` (8 (op, source) pairs); pairs sharing a source sum on that edge."""
        read = self._inputs_read(cell)
        states = [self.preprocess0(s0) if 0 in read else None, self.preprocess1(s1) if 1 in read else None]
        if self.cell_type == "per_slot":
            for i in range(len(NODES)):
                (op_a, a), (op_b, b) = cell[2 * i: 2 * i + 2]
                states.append(self._slot_op(2 * i, op_a, a)(states[a]) + self._slot_op(2 * i + 1, op_b, b)(states[b]))
            return torch.cat(states[2:], dim=1)
        for i, node in enumerate(NODES):
            pairs = cell[2 * i: 2 * i + 2]
            total = None
            sources = [s for _, s in pairs]
            edges = (range(node) if self.partial > 1 else dict.fromkeys(sources))  # PC: every edge passes channels
            for source in edges:
                e = EDGE[node, source]
                x = states[source]
                ops = [self.edges[e][op](self._ops_input(x)) for op, s in pairs if s == source and op != NONE]
                mixed = sum(ops[1:], ops[0]) if ops else None
                if mixed is None and self.partial == 1:  # only none on this edge: a zero input
                    mixed = self._run_op(e, RELAXED_OPS.index(NONE), x)
                y = self._finish_edge(e, x, mixed)
                total = y if total is None else total + y
            states.append(total)
        return torch.cat(states[2:], dim=1)

    def forward_mixed(self, s0: torch.Tensor, s1: torch.Tensor, op_weights: torch.Tensor,
                      edge_weights: torch.Tensor | None, selected: list[int] | None) -> torch.Tensor:
        """Edge e outputs ``sum_k op_weights[e, k] * op_k(x)`` (``none`` adds zeros), or only
        ``op_weights[e, k] * op_k(x)`` for ``k = selected[e]`` (GDAS's DARTS cell, D-X-Y/AutoDL-Projects
        lib/models/cell_searchs/search_cells.py ``MixedOp.forward_gdas``; alpha's other entries get their gradient
        through the softmax); scaled by ``edge_weights[e]`` if given (PC-DARTS's edge normalisation)."""
        if self.cell_type == "per_slot":
            raise ValueError("space.supernet.cell_type=per_slot has no relaxation; use per_edge with gdas or pcdarts")
        states = self._states(s0, s1)
        for node in NODES:
            total = None
            for source in range(node):
                e = EDGE[node, source]
                x, weights = states[source], op_weights[e]
                inputs = self._ops_input(x)
                if selected is not None:
                    k = selected[e]
                    y = weights[k] * self._run_op(e, k, inputs)
                else:
                    y = sum(w * self.edges[e][op](inputs) for w, op in zip(weights[1:], OPS, strict=True))
                y = self._finish_edge(e, x, y)
                if edge_weights is not None:
                    y = edge_weights[e] * y
                total = y if total is None else total + y
            states.append(total)
        return torch.cat(states[2:], dim=1)

    def _run_op(self, e: int, k: int, x: torch.Tensor) -> torch.Tensor:
        if RELAXED_OPS[k] == "none":
            return torch.zeros_like(x[:, :, :: self.strides[e], :: self.strides[e]])
        return self.edges[e][RELAXED_OPS[k]](x)

    def _inputs_read(self, cell) -> set[int]:
        """The cell inputs (0, 1) a genotype cell reads; a partial-channel cell passes every edge's channels on."""
        return {0, 1} if self.partial > 1 else {source for _, source in cell} & {0, 1}

    def path_modules(self, cell) -> list[nn.Module]:
        """The modules ``forward(..., cell)`` runs."""
        read = self._inputs_read(cell)
        preprocess = [module for i, module in enumerate((self.preprocess0, self.preprocess1)) if i in read]
        if self.cell_type == "per_slot":
            return preprocess + [self._slot_op(i, op, source) for i, (op, source) in enumerate(cell)]
        return preprocess + [self.edges[EDGE[NODES[i // 2], source]][op]
                             for i, (op, source) in enumerate(cell) if op != NONE]


class DARTSSuperNet(nn.Module):
    """Super-net over the DARTS space: C is the first cells' width, N the normal cells per stage (DARTS: C=16, N=2,
    8 cells); ``layers`` replaces 3N + 2 (the authors' darts_nds SPOS: 12). ``amp=True`` runs forwards under bf16
    autocast."""

    def __init__(self, C: int = 16, N: int = 2, num_classes: int = 10, channels_last: bool | None = None,
                 amp: bool = False, partial_channels: int = 1, cell_type: str = "per_edge", layers: int | None = None):
        super().__init__()
        if cell_type not in CELL_SHARING:
            raise ValueError(f"cell_type={cell_type!r}; valid: {', '.join(CELL_SHARING)}")
        if C % (2 * partial_channels):
            raise ValueError(f"the DARTS super-net needs C divisible by 2 x partial_channels={partial_channels} "
                             f"(FactorizedReduce halves the ops' width), got C={C}")
        self.amp, self.partial_channels = amp, partial_channels
        layers = layers or 3 * N + 2  # the authors' darts_nds SPOS: 12 cells, which no N gives
        c_stem = STEM_MULTIPLIER * C
        self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), _bn(c_stem, affine=True))
        c_prev_prev, c_prev, c = c_stem, c_stem, C
        cells, reduction_prev = [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)  # model_search.py Network: reductions at 1/3 and 2/3
            c = 2 * c if reduction else c
            cells.append(SearchCell(c_prev_prev, c_prev, c, reduction, reduction_prev, partial_channels, cell_type))
            c_prev_prev, c_prev, reduction_prev = c_prev, len(NODES) * c, reduction
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c_prev, num_classes)
        # channels_last by default, except for partial-channel cells: on CPU (torch 2.13) the backward of their
        # channel-sliced channels_last convs crashed ("double free or corruption") or hung.
        if partial_channels == 1 if channels_last is None else channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        normal, reduce = arch
        genotype = {"normal": normal, "reduce": reduce}
        return self._run(x, lambda cell, s0, s1: cell(s0, s1, genotype[cell.kind]))

    def forward_mixed(self, x: torch.Tensor, op_weights: torch.Tensor, edge_weights: torch.Tensor | None = None,
                      selected: list[int] | None = None, partial_channels: int = 1,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """The relaxation: ``op_weights`` has one row per ``RELAXED_EDGES`` entry (normal cell's 14, then reduction
        cell's) and one column per ``RELAXED_OPS``. ``partial_channels`` must be the K the net was built with
        (``space.supernet.partial_channels`` follows ``algorithm.partial_channels``); ``generator`` is unused: PC-DARTS
        takes the first C/K channels."""
        if partial_channels != self.partial_channels:
            raise ValueError(f"this super-net was built with partial_channels={self.partial_channels}, not "
                             f"{partial_channels}")
        half = len(CELL_EDGES)
        rows = {"normal": slice(0, half), "reduce": slice(half, 2 * half)}

        def run_cell(cell, s0, s1):
            part = rows[cell.kind]
            return cell.forward_mixed(s0, s1, op_weights[part], None if edge_weights is None else edge_weights[part],
                                      None if selected is None else selected[part])

        return self._run(x, run_cell)

    def _run(self, x: torch.Tensor, run_cell) -> torch.Tensor:
        if self.partial_channels > 1:
            x = x.contiguous()  # see __init__: the channels_last batches would make every activation channels_last
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.amp):
            s0 = s1 = self.stem(x)
            for cell in self.cells:
                s0, s1 = s1, run_cell(cell, s0, s1)
            return self.classifier(s1.mean((2, 3))).float()

    def path_parameters(self, arch: Arch) -> list[nn.Parameter]:
        """Parameters on ``arch``'s path: stem, classifier, preprocessing and the ops its cells run (PC-DARTS cells
        run no other weights: an unused edge only passes channels by)."""
        normal, reduce = check_arch(arch)
        genotype = {"normal": normal, "reduce": reduce}
        modules = [self.stem, self.classifier]
        for cell in self.cells:
            modules += cell.path_modules(genotype[cell.kind])
        return list(dict.fromkeys(p for module in modules for p in module.parameters()))

    def parameter_count(self, arch: Arch) -> int:
        return sum(p.numel() for p in self.path_parameters(arch))
