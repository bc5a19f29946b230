"""BatchNorm at evaluation (``eval.bn``): each evaluation batch's own statistics, or statistics recalibrated per
architecture on training images, as the SPOS authors score their super-net (Guo et al., ECCV 2020, Sec. 3.3).

lrnas's super-nets keep no running statistics, so by default an architecture is normalised with the statistics of
the test batch it is scoring (``eval.bn=batch``, as the landmark paper's authors). With ``eval.bn=recalibrate`` every
BatchNorm module of the super-net gets running statistics for the duration of the scoring; for each architecture they
are reset, averaged over ``eval.bn_batches`` training batches of the weights half forwarded through that architecture
alone (train mode, no gradient), and the test images are then scored in eval mode with them.

    >>> import random, torch
    >>> from lrnas.spaces import build_supernet, nb201
    >>> net, arch = build_supernet("nb201", C=4, N=1), nb201.sample_arch(random.Random(0))
    >>> with torch.inference_mode(), running_statistics(net) as norms:
    ...     recalibrate(net, arch, [torch.randn(32, 3, 32, 32)], norms)
    ...     int(norms[0].num_batches_tracked)
    1
    >>> norms[0].running_mean is None  # the super-net keeps no running statistics afterwards
    True
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

BN_MODES = ("batch", "recalibrate")


def batch_norms(super_net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm modules recalibration resets; a one-line ValueError for a super-net without any."""
    norms = [module for module in super_net.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise ValueError("eval.bn=recalibrate needs BatchNorm modules to recalibrate, and this super-net normalises "
                         "functionally (NB101's): use eval.bn=batch")
    return norms


@contextmanager
def running_statistics(super_net: nn.Module) -> Iterator[list[nn.modules.batchnorm._BatchNorm]]:
    """Every BatchNorm of ``super_net`` keeps a cumulative average of its statistics inside the block (used in eval
    mode), and none after it, as before."""
    norms = batch_norms(super_net)
    saved = [(norm.track_running_stats, norm.momentum) for norm in norms]
    for norm in norms:
        device = (norm.weight if norm.affine else next(super_net.parameters())).device
        norm.running_mean = torch.zeros(norm.num_features, device=device)
        norm.running_var = torch.ones(norm.num_features, device=device)
        norm.num_batches_tracked = torch.zeros((), dtype=torch.long, device=device)
        norm.track_running_stats, norm.momentum = True, None  # momentum None: a plain average over the batches
    try:
        yield norms
    finally:
        for norm, (track, momentum) in zip(norms, saved, strict=True):
            norm.running_mean = norm.running_var = norm.num_batches_tracked = None
            norm.track_running_stats, norm.momentum = track, momentum


def recalibrate(super_net: nn.Module, arch, batches: Sequence[torch.Tensor], norms) -> None:
    """Statistics of ``arch`` alone on ``batches`` (normalised training images), then eval mode to score with them."""
    for norm in norms:
        norm.reset_running_stats()
    super_net.train()
    for images in batches:
        super_net(images, arch)
    super_net.eval()
