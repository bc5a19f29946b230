"""Weight-sharing super-nets by search-space name: each space names its own (``SUPERNET`` in lrnas/spaces/NAME.py).

    >>> from lrnas.supernets import build_supernet
    >>> net = build_supernet("nb201", C=4, N=1)
    >>> net.parameter_count(("nor_conv_3x3",) * 6) < sum(p.numel() for p in net.parameters())
    True
"""
from __future__ import annotations

import torch
from torch import nn

from lrnas.spaces import get_space, resolve


def build_supernet(name: str = "nb201", C: int = 16, N: int = 5, num_classes: int = 10, amp: bool = False,
                   **options) -> nn.Module:
    """Super-net for space ``name`` with stem width C, N cells per stage and ``num_classes`` outputs; ``amp``: bf16
    autocast forwards. ``options`` are the space's own super-net variants (its config's ``space.supernet``), passed to
    its constructor as they are."""
    return resolve(get_space(name).SUPERNET)(C=C, N=N, num_classes=num_classes, amp=amp, **options)


def shuffle_index(channels: int, groups: int) -> torch.Tensor:
    """The channel order of PC-DARTS's ``channel_shuffle(x, groups)`` (also the authors' NB201 copy, kcyu2014/
    nas-landmarkreg nasws/cnn/search_space/nasbench201/lib/models/cell_searchs/search_cells.py:14-28): output channel
    ``i * groups + g`` is input channel ``g * channels // groups + i``. As an index it works in any memory format."""
    per_group = channels // groups
    return torch.arange(channels).view(groups, per_group).t().reshape(-1)
