"""PC-DARTS's channel shuffle as an index, shared by the partial-channel cells of the NB201 and DARTS super-nets."""
from __future__ import annotations

import torch


def shuffle_index(channels: int, groups: int) -> torch.Tensor:
    """The channel order of PC-DARTS's ``channel_shuffle(x, groups)`` (also the authors' NB201 copy, kcyu2014/
    nas-landmarkreg nasws/cnn/search_space/nasbench201/lib/models/cell_searchs/search_cells.py:14-28): output channel
    ``i * groups + g`` is input channel ``g * channels // groups + i``. As an index it works in any memory format."""
    per_group = channels // groups
    return torch.arange(channels).view(groups, per_group).t().reshape(-1)
