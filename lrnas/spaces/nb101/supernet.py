"""NAS-Bench-101 weight-sharing super-net: every cell is a 7-vertex DAG whose vertex ops share weights across archs.

Layout as NB101's network: a 3x3 conv-BN-ReLU stem, 3 stacks of N cells (channels C, 2C, 4C; a 2x2 max-pool
before stacks 2 and 3), global average pool and a linear classifier. A cell holds, per interior vertex slot 1..5,
one 3x3 and one 1x1 conv (each followed by BN and ReLU; max-pool has no weights) and a 1x1 projection of the cell
input, plus a projection of the input to the output. A sampled cell runs only its live vertices (those on an
input -> output path) in the slots of their original index, with NB101's channel rule: vertices feeding the output
split the cell's output channels (their concatenation is the output), the others take the widest of their
successors, and every op uses the leading slice of its slot's full-width weights.

BN uses batch statistics in train and eval mode. ``bn_affine=False`` (lrnas's default): no scale or shift.
``bn_affine=True`` (the authors' NB101 super-net, nasws/cnn/search_space/nasbench101/operations.py:297-301): every conv
weight has a BN scale and shift of its full output width, sliced to the vertex's channels like the weight. Since only
live vertices run and every live vertex has an input, the fast forward equals running the pruned cell in either
variant (tests/unit/spaces/nb101/test_nb101_supernet.py checks outputs and gradients on random cells).

    >>> import random, torch
    >>> from lrnas.spaces import nb101
    >>> from lrnas.spaces.nb101.supernet import NB101SuperNet
    >>> net = NB101SuperNet(C=8, N=1)
    >>> x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    >>> net(x, nb101.sample_arch(random.Random(0))).shape
    torch.Size([2, 10])
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lrnas.spaces.nb101.arch import NUM_VERTICES, Arch

INTERIOR_SLOTS = NUM_VERTICES - 2
CONV_OPS = {"conv3x3-bn-relu": "conv3x3", "conv1x1-bn-relu": "conv1x1"}  # op -> its weights; maxpool3x3 has none
_PLAN_CACHE_SIZE = 4096


def _batch_norm(x: torch.Tensor, affine: torch.Tensor | None = None) -> torch.Tensor:
    # Batch statistics in train and eval mode (as the NB201 super-net): a slice of channels needs no sliced running
    # statistics, and no path is evaluated with statistics accumulated by other paths. ``affine``: rows scale, shift.
    scale, shift = (None, None) if affine is None else affine[:, : x.shape[1]]
    return F.batch_norm(x, None, None, scale, shift, training=True)


def _bn_affine(channels: int) -> nn.Parameter:
    """BN scale (row 0, ones) and shift (row 1, zeros) of a full-width conv; a vertex uses the leading columns."""
    return nn.Parameter(torch.stack([torch.ones(channels), torch.zeros(channels)]))


def _conv_bn_relu(x: torch.Tensor, weight: torch.Tensor, out_channels: int,
                  affine: torch.Tensor | None = None) -> torch.Tensor:
    """Conv with the leading ``out_channels`` x ``x.shape[1]`` slice of a full-width weight, then BN and ReLU."""
    weight = weight[:out_channels, : x.shape[1]]
    return F.relu(_batch_norm(F.conv2d(x, weight, padding=weight.shape[-1] // 2), affine))


def live_vertices(matrix) -> list[int]:
    """Vertices on some input -> output path (NB101 prunes the others: they cannot change the output)."""
    n = len(matrix)
    reached = {0}
    for v in range(1, n):
        if any(matrix[u][v] and u in reached for u in range(v)):
            reached.add(v)
    useful = {n - 1}
    for v in range(n - 2, -1, -1):
        if any(matrix[v][w] and w in useful for w in range(v + 1, n)):
            useful.add(v)
    return sorted(reached & useful)


def vertex_channels(in_channels: int, out_channels: int, matrix) -> list[int]:
    """NB101's channel rule (``model_builder.compute_vertex_channels``) on a pruned matrix."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = in_channels, out_channels
    if n == 2:
        return channels
    feeding_output = sum(matrix[v][n - 1] for v in range(1, n - 1))
    interior, correction = divmod(out_channels, feeding_output)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = interior + (1 if correction > 0 else 0)
            correction -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max([channels[v]] + [channels[w] for w in range(v + 1, n - 1) if matrix[v][w]])
    return channels


class CellPlan:
    """What a cell runs for one arch: (slot, op, channels, interior inputs, takes the cell input, feeds the output)
    per live interior vertex, in order, and whether the cell input also feeds the output directly."""

    def __init__(self, arch: Arch, in_channels: int, out_channels: int):
        matrix, ops = arch
        n = len(matrix)
        live = live_vertices(matrix)
        if live[:1] != [0] or live[-1] != n - 1:
            raise ValueError(f"{arch!r}: the input does not reach the output")
        pruned = [[matrix[u][v] for v in live] for u in live]
        channels = dict(zip(live, vertex_channels(in_channels, out_channels, pruned), strict=True))
        self.vertices = [
            (v, ops[v - 1], channels[v], [u for u in live[1:-1] if u < v and matrix[u][v]], bool(matrix[0][v]),
             bool(matrix[v][n - 1]))
            for v in live[1:-1]
        ]
        # A live vertex is reached from the input, so it always has an input: no vertex runs BN on zeros (which would
        # give affine BN's shift, not zero, and differ from NB101's pruned cell).
        assert all(inputs or from_input for _, _, _, inputs, from_input, _ in self.vertices), arch
        self.input_to_output = bool(matrix[0][n - 1])


class NB101Cell(nn.Module):
    WEIGHTS = ("conv3x3", "conv1x1", "input_projection")  # one full-width conv weight per interior slot each

    def __init__(self, in_channels: int, out_channels: int, bn_affine: bool = False):
        super().__init__()
        self.in_channels, self.out_channels, self.bn_affine = in_channels, out_channels, bn_affine
        full = lambda k, c_in: nn.Parameter(nn.init.kaiming_normal_(torch.empty(out_channels, c_in, k, k)))  # noqa: E731
        self.conv3x3 = nn.ParameterList(full(3, out_channels) for _ in range(INTERIOR_SLOTS))
        self.conv1x1 = nn.ParameterList(full(1, out_channels) for _ in range(INTERIOR_SLOTS))
        self.input_projection = nn.ParameterList(full(1, in_channels) for _ in range(INTERIOR_SLOTS))
        self.output_projection = full(1, in_channels)
        if bn_affine:  # e.g. conv3x3_bn[slot - 1] is the BN of conv3x3[slot - 1]
            for name in self.WEIGHTS:
                setattr(self, f"{name}_bn", nn.ParameterList(_bn_affine(out_channels) for _ in range(INTERIOR_SLOTS)))
            self.output_projection_bn = _bn_affine(out_channels)
        self._plans: dict[Arch, CellPlan] = {}

    def weights(self, name: str, slot: int | None = None) -> list[nn.Parameter]:
        """The conv weight ``name`` (one of WEIGHTS) of vertex ``slot``, then its BN's scale and shift if affine;
        ``slot=None``: the output projection's."""
        if slot is None:
            return [self.output_projection, self.output_projection_bn] if self.bn_affine else [self.output_projection]
        used = [getattr(self, name)[slot - 1]]
        return used + [getattr(self, f"{name}_bn")[slot - 1]] if self.bn_affine else used

    def _conv(self, x: torch.Tensor, name: str, slot: int | None, channels: int) -> torch.Tensor:
        weight, *affine = self.weights(name, slot)
        return _conv_bn_relu(x, weight, channels, *affine)

    def plan(self, arch: Arch) -> CellPlan:
        plan = self._plans.get(arch)
        if plan is None:
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[arch] = CellPlan(arch, self.in_channels, self.out_channels)
        return plan

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        plan = self.plan(arch)
        values: dict[int, torch.Tensor] = {}
        concatenated = []
        for slot, op, channels, inputs, from_input, to_output in plan.vertices:
            # NB101 truncates wider predecessors to this vertex's channels; its rule makes them at least as wide.
            fan_in = [values[u][:, :channels] for u in inputs]
            if from_input:
                fan_in.append(self._conv(x, "input_projection", slot, channels))
            h = fan_in[0] if len(fan_in) == 1 else sum(fan_in)
            if op in CONV_OPS:
                h = self._conv(h, CONV_OPS[op], slot, channels)
            else:
                h = F.max_pool2d(h, 3, stride=1, padding=1)
            values[slot] = h
            if to_output:
                concatenated.append(h)
        if not concatenated:  # input -> output only
            return self._conv(x, "output_projection", None, self.out_channels)
        out = torch.cat(concatenated, 1) if len(concatenated) > 1 else concatenated[0]
        if plan.input_to_output:
            out = out + self._conv(x, "output_projection", None, self.out_channels)
        return out

    def path_parameters(self, arch: Arch) -> list[nn.Parameter]:
        plan, used = self.plan(arch), []
        for slot, op, _, _, from_input, _ in plan.vertices:
            if op in CONV_OPS:
                used += self.weights(CONV_OPS[op], slot)
            if from_input:
                used += self.weights("input_projection", slot)
        if plan.input_to_output or not plan.vertices:
            used += self.weights("output_projection")
        return used


class NB101SuperNet(nn.Module):
    """Super-net over NB101 cells; ``forward(x, arch)`` runs ``arch`` (one cell spec shared by all cells).

    ``bn_affine``: every BN (stem included) has a scale and shift, as in the authors' super-net (module docstring).
    """

    def __init__(self, C: int = 128, N: int = 3, num_classes: int = 10, channels_last: bool = True,
                 amp: bool = False, bn_affine: bool = False):
        super().__init__()
        self.amp = amp
        self.stem = nn.Conv2d(3, C, 3, padding=1, bias=False)
        self.stem_bn = _bn_affine(C) if bn_affine else None
        self.cells = nn.ModuleList()
        in_channels = C
        for stack in range(3):
            out_channels = C * 2**stack
            for _ in range(N):
                self.cells.append(NB101Cell(in_channels, out_channels, bn_affine))
                in_channels = out_channels
        self.downsample_before = {N, 2 * N}  # cell indices that start stacks 2 and 3
        self.classifier = nn.Linear(in_channels, num_classes)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.amp):
            x = F.relu(_batch_norm(self.stem(x), self.stem_bn))
            for index, cell in enumerate(self.cells):
                if index in self.downsample_before:
                    x = F.max_pool2d(x, 2, stride=2)
                x = cell(x, arch)
            return self.classifier(x.mean((2, 3))).float()

    def path_parameters(self, arch: Arch) -> list[nn.Parameter]:
        """Parameters ``arch`` uses (whole tensors: its slices get gradients, the rest zeros)."""
        used = [p for cell in self.cells for p in cell.path_parameters(arch)]
        stem = [*self.stem.parameters(), *([self.stem_bn] if self.stem_bn is not None else [])]
        return [*stem, *used, *self.classifier.parameters()]

    def parameter_count(self, arch: Arch) -> int:
        """Elements of the parameters ``arch`` uses, whole tensors (those that get a gradient), BN's included."""
        return sum(p.numel() for p in self.path_parameters(arch))
