"""Weight-sharing super-nets by search-space name.

    >>> from lrnas.supernets import build_supernet
    >>> net = build_supernet("nb201", C=4, N=1)
    >>> net.parameter_count(("nor_conv_3x3",) * 6) < sum(p.numel() for p in net.parameters())
    True
"""
from __future__ import annotations

from torch import nn

from lrnas.supernets.nb101 import NB101SuperNet
from lrnas.supernets.nb201 import NB201SuperNet

SUPERNETS = {"nb101": NB101SuperNet, "nb201": NB201SuperNet}


def build_supernet(name: str = "nb201", C: int = 16, N: int = 5, num_classes: int = 10, amp: bool = False,
                   **options) -> nn.Module:
    """Super-net for space ``name`` with stem width C, N cells per stage and ``num_classes`` outputs; ``amp``: bf16
    autocast forwards. ``options`` are the space's own super-net variants (its config's ``space.supernet``), passed to
    its constructor as they are."""
    if name not in SUPERNETS:
        raise ValueError(f"unknown super-net {name!r}; known: {', '.join(SUPERNETS)}")
    return SUPERNETS[name](C=C, N=N, num_classes=num_classes, amp=amp, **options)
