"""NAS-Bench-201 weight-sharing super-net, run one path (one cell arch, shared by all cells) per forward.

Layout as in NB201: stem, 3 stages of N search cells at widths C, 2C, 4C with a residual reduction block
between stages, then BN-ReLU, global average pool and a linear classifier. Every cell holds one module per
(edge, op); any arch that picks that op on that edge in that cell trains the same weights.

    >>> import random, torch
    >>> from lrnas.spaces import nb201
    >>> from lrnas.spaces.nb201.supernet import NB201SuperNet
    >>> net = NB201SuperNet(C=4, N=1)
    >>> x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    >>> net(x, nb201.sample_arch(random.Random(0))).shape
    torch.Size([2, 10])
"""
from __future__ import annotations

import torch
from torch import nn

from lrnas.spaces.nb201.arch import Arch
from lrnas.spaces.nb201.cells import OpOnNodeSearchCell, SearchCell, batch_stat_bn, relu_conv_bn
from lrnas.spaces.nb201.cells_partial import PartialChannelSearchCell

CELL_TYPES = {"per_edge": SearchCell, "op_on_node": OpOnNodeSearchCell, "partial_channel": PartialChannelSearchCell}


class ResidualReduction(nn.Module):
    """NB201's reduction block between stages: two ReLU-Conv-BN 3x3 (first stride 2) plus an
    AvgPool-Conv1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, stride=2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201SuperNet(nn.Module):
    """Super-net over the NB201 space. ``forward(x, arch)`` runs only ``arch``'s path in every cell.

    ``cell_type`` chooses how cells share op weights (``CELL_TYPES``) and ``bn_affine`` whether the cell convs' BN
    has a scale and bias; stem, reduction blocks and the last BN are affine in every variant, as in NB201.
    ``channels_last=True`` stores conv weights channels_last to match channels_last inputs (faster on CPU);
    inputs in either memory format give the same result. ``amp=True`` runs forwards under bf16 autocast (CUDA:
    tensor cores, half the activation memory; bf16 needs no loss scaling); logits come back in float32.
    """

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, channels_last: bool = True,
                 amp: bool = False, cell_type: str = "per_edge", bn_affine: bool = False):
        super().__init__()
        if cell_type not in CELL_TYPES:
            raise ValueError(f"unknown NB201 cell_type {cell_type!r}; known: {', '.join(CELL_TYPES)}")
        self.amp = amp
        make_cell = CELL_TYPES[cell_type]
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), batch_stat_bn(C))
        layers: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage:
                layers.append(ResidualReduction(width // 2, width))
            layers += [make_cell(width, bn_affine=bn_affine) for _ in range(N)]
        self.layers = nn.ModuleList(layers)
        self.lastact = nn.Sequential(batch_stat_bn(4 * C), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(4 * C, num_classes)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        arch = tuple(arch)
        return self._run(x, lambda cell, h: cell(h, arch))

    def forward_mixed(self, x: torch.Tensor, op_weights: torch.Tensor, **kwargs) -> torch.Tensor:
        """Every cell runs ``SearchCell.forward_mixed`` with the same ``op_weights`` (NUM_EDGES x len(OPS))."""
        return self._run(x, lambda cell, h: cell.forward_mixed(h, op_weights, **kwargs))

    def _run(self, x: torch.Tensor, run_cell) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.amp):
            x = self.stem(x)
            for layer in self.layers:
                x = run_cell(layer, x) if isinstance(layer, SearchCell) else layer(x)
            x = self.lastact(x).mean((2, 3))
            return self.classifier(x).float()

    def path_parameters(self, arch: Arch) -> list[nn.Parameter]:
        """Parameters on ``arch``'s path: stem, reduction blocks, head, and the cell ops that actually run."""
        arch = tuple(arch)
        modules = [self.stem, self.lastact, self.classifier]
        for layer in self.layers:
            modules += [module for _, _, module in layer.plan(arch)] if isinstance(layer, SearchCell) else [layer]
        # dict.fromkeys: a module shared by two edges (op_on_node) is listed once
        return list(dict.fromkeys(p for module in modules for p in module.parameters()))

    def parameter_count(self, arch: Arch) -> int:
        return sum(p.numel() for p in self.path_parameters(arch))
