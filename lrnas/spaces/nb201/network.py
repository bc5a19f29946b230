"""The NAS-Bench-201 stand-alone network of one cell, as NB201 trained it for its ground truth.

Stem (3x3 conv C, BN), three stages of N copies of the cell at C, 2C, 4C channels with a residual reduction block
between stages, BN-ReLU, global pooling, linear classifier (xautodl's ``TinyNetwork``, models/cell_infers/
tiny_network.py, and its ``InferCell``, ResNet ``ResNetBasicblock`` and ``OPS``, models/cell_operations.py). Every BN
has a scale and shift and tracks running statistics for test time, as a normally trained network does. Nothing here is
shared with the super-nets, so a landmark trained here is not the super-net by accident. Its parameter count equals
the shipped NB201 table's ``params_m`` for 15,421 of the 15,625 cells; the other 204 all contain a skip_connect and
differ by 0.009 to 0.16 M in the table (taken from the NASWOT export, lrnas/benchmarks/data/PROVENANCE.md), which is
where the error most likely lies: the count here follows the network, op by op
(tests/unit/standalone/test_standalone.py).

    >>> from lrnas.spaces.nb201.network import NB201Network
    >>> net = NB201Network(("nor_conv_3x3",) * 6, C=16, N=5)
    >>> round(sum(p.numel() for p in net.parameters()) / 1e6, 6)   # the table's params_m for that cell
    1.531546
"""
from __future__ import annotations

import torch
from torch import nn

from lrnas.spaces.nb201.arch import EDGES, Arch


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out))


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    """One NB201 op at stride 1 and equal input and output channels (the only case inside a cell)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return relu_conv_bn(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return relu_conv_bn(channels, channels, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"{name!r} is not an NB201 op")


class Cell(nn.Module):
    """Node j sums op(node i) over its incoming edges; the cell's output is node 3."""

    def __init__(self, arch: Arch, channels: int):
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, channels) for op in arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            nodes.append(sum(op(nodes[source]) for op, (to, source) in zip(self.edges, EDGES, strict=True)
                             if to == target))
        return nodes[3]


class Reduction(nn.Module):
    """Residual block halving the resolution and doubling the channels: two ReLU-conv-BN, plus avg-pool + 1x1 conv."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    def __init__(self, arch: Arch, C: int = 16, N: int = 5, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        for stage, channels in enumerate((C, 2 * C, 4 * C)):
            if stage:
                layers.append(Reduction(channels // 2, channels))
            layers += [Cell(arch, channels) for _ in range(N)]
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=False), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(4 * C, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)))
