"""The NAS-Bench-101 stand-alone network of one cell: ``nasbench_pytorch``'s port of NB101's network (stem 128 channels,
3 stacks of 3 cells, max-pool between stacks, global pooling, linear classifier), with NB101's BN momentum 0.997
(TensorFlow's sense: the running statistics keep 0.997 of their value at each step).

Its parameter count equals the NB101 table's ``params`` (NB101's TensorFlow count) for every cell sampled (300 checked
by hand, 12 in tests/unit/standalone/test_standalone.py), once the port's ``Placeholder`` modules are left out: each
holds one unused scalar parameter (5 to 7 per cell), which is not part of the network NB101 trained.

    >>> from lrnas.spaces.nb101.network import NB101Network, parameter_count
    >>> from lrnas.spaces import nb101
    >>> bits = "0100000001000000010000000100000001000000010000000"
    >>> chain = nb101.parse_arch(bits + ":" + ",".join(["conv3x3-bn-relu"] * 5))
    >>> parameter_count(NB101Network(chain))    # a chain of five 3x3 convs; the network is pruned as NB101 prunes
    47358090
"""
from __future__ import annotations

import numpy as np
import torch
from nasbench_pytorch.model import Network
from nasbench_pytorch.model.model import Placeholder

from lrnas.spaces.nb101.arch import Arch, validate

NB101_BN_MOMENTUM = 0.997  # NB101's base_ops.py BN_MOMENTUM (TensorFlow convention)


class NB101Network(Network):
    def __init__(self, arch: Arch, num_classes: int = 10, stem_channels: int = 128, num_stacks: int = 3,
                 cells_per_stack: int = 3, bn_momentum: float = 1 - NB101_BN_MOMENTUM):
        matrix, ops = validate(arch)
        super().__init__((np.array(matrix), ["input", *ops, "output"]), num_labels=num_classes,
                         stem_out_channels=stem_channels, num_stacks=num_stacks,
                         num_modules_per_stack=cells_per_stack)
        for module in self.modules():
            if isinstance(module, Placeholder):  # the port's unused placeholder scalars: no part of NB101's network
                module.a.requires_grad_(False)
            if isinstance(module, torch.nn.BatchNorm2d):
                # NB101's TensorFlow momentum 0.997 keeps 0.997 of the running average; PyTorch's momentum is the
                # weight of the new batch, and the port passes 0.997 (or leaves 0.1) unchanged.
                module.momentum = bn_momentum


def parameter_count(net: torch.nn.Module) -> int:
    """Trainable parameters: NB101's count (the frozen placeholders are not trained)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
