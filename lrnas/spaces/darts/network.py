"""The DARTS evaluation network of one genotype: DARTS's ``NetworkCIFAR``, as the DARTS paper trains a cell anew.

Stem (3x3 conv to 3C, BN), ``layers`` cells with a reduction cell (stride 2, channels doubled) at layers // 3 and
2 * layers // 3, an auxiliary classifier after cell 2 * layers // 3 (training only), global pooling, linear classifier.
Each cell preprocesses its two inputs (the outputs of the two previous cells) to C channels, computes nodes 2..5 as
the sum of two ops on earlier states, and concatenates the four nodes. Sources: quark0/darts at commit f276dd3
(cnn/model.py, cnn/operations.py, cnn/utils.py); the landmark authors' copy, kcyu2014/nas-landmarkreg
nasws/cnn/search_space/darts/model.py, is the same network. Every BN has a scale and shift (``OPS[name](C, stride,
True)``, model.py:37) and tracks running statistics for test time. The ops are the super-net's
(``lrnas.spaces.darts.supernet.make_op`` with ``search=False``), as DARTS's model.py and model_search.py share
operations.py; nothing else is shared with the super-net.

In training mode the network returns ``(logits, aux_logits)`` when it has the auxiliary head, logits otherwise; in
eval mode it returns logits. ``lrnas.standalone.training`` weighs the auxiliary loss by the recipe's
``auxiliary_weight``, calls :meth:`DARTSNetwork.start_epoch` for the drop-path schedule, and records
:meth:`DARTSNetwork.eval_parameter_count` (DARTS's count, auxiliary head excluded).

    >>> from lrnas.spaces.darts import arch as darts
    >>> net = DARTSNetwork(darts.parse_arch(darts.EXAMPLE))        # DARTS_V2 at C=36, 20 cells
    >>> round(net.eval_parameter_count() / 1e6, 2)                  # DARTS reports 3.3M for it
    3.35
"""
from __future__ import annotations

import torch
from torch import nn

from lrnas.spaces.darts.supernet import FactorizedReduce, make_op, relu_conv_bn

Pair = tuple[str, int]
Arch = tuple[tuple[Pair, ...], tuple[Pair, ...]]  # (normal, reduce), as lrnas.spaces.darts parses it


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of an op's output with probability ``drop_prob``, scaling the rest by 1 / keep
    (utils.py:102-108). The mask comes from torch's global generator on x's device, whose state the stand-alone
    trainer saves with each checkpoint, so a resumed training draws the same masks."""
    keep_prob = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep_prob)
    return x.div(keep_prob).mul(mask)


class Cell(nn.Module):
    """One DARTS cell (model.py:8-60): both inputs preprocessed to C channels (FactorizedReduce for the state from
    before a reduction, so both have the same resolution, model.py:14-18), node i = op(state) + op(state), the output
    the concatenation of every node (the DARTS space concatenates nodes 2..5)."""

    def __init__(self, pairs, c_prev_prev: int, c_prev: int, channels: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.preprocess0 = (FactorizedReduce(c_prev_prev, channels, search=False) if reduction_prev
                            else relu_conv_bn(c_prev_prev, channels, search=False))
        self.preprocess1 = relu_conv_bn(c_prev, channels, search=False)
        self.sources = [source for _, source in pairs]
        # In a reduction cell only the ops on the cell's inputs (states 0, 1) have stride 2 (model.py:36).
        self.ops = nn.ModuleList(make_op(op, channels, 2 if reduction and source < 2 else 1, search=False)
                                 for op, source in pairs)
        self.nodes = len(pairs) // 2
        self.multiplier = self.nodes  # channels out = nodes x C (model.py:32, genotype concat = every node)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(self.nodes):
            total = None
            for k in (2 * node, 2 * node + 1):
                op = self.ops[k]
                h = op(states[self.sources[k]])
                # Drop path on every op but the identity, in training only (model.py:53-57).
                if self.training and drop_prob > 0.0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """The auxiliary classifier on the 8x8 output of cell 2 * layers // 3 (model.py:63-83)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            # DARTS's first ReLU is in place (model.py:69) and so rectifies the cell output that the next two cells
            # read; both start with a ReLU (preprocess0/1), so out of place gives the same values.
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True))
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class DARTSNetwork(nn.Module):
    """DARTS's NetworkCIFAR (model.py:111-156) for ``arch = (normal, reduce)``.

    Defaults: DARTS's CIFAR-10 evaluation (cnn/train.py:29-30, 32, 36 and its README's ``train.py --auxiliary
    --cutout``): C=36, 20 cells, auxiliary head, drop-path probability 0.2 (the maximum, reached by the linear ramp
    of :meth:`start_epoch` at the end of training).
    """

    def __init__(self, arch: Arch, C: int = 36, layers: int = 20, auxiliary: bool = True,
                 drop_path_prob: float = 0.2, num_classes: int = 10):
        super().__init__()
        normal, reduce = arch
        if layers < 1:
            raise ValueError(f"layers={layers}: a DARTS network needs at least one cell")
        if not 0.0 <= drop_path_prob < 1.0:
            raise ValueError(f"drop_path_prob={drop_path_prob}: must be in [0, 1)")
        self.layers = layers
        self.max_drop_path_prob = drop_path_prob
        self.drop_path_prob = 0.0  # set per epoch by start_epoch (DARTS: train.py:100), as at DARTS's epoch 0
        self.aux_layer = 2 * layers // 3  # model.py:138, 151
        c_curr = 3 * C  # stem_multiplier 3 (model.py:118-123)
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = None
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)  # model.py:129-133
            if reduction:
                c_curr *= 2
            cell = Cell(reduce if reduction else normal, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == self.aux_layer:
                c_aux = c_prev
        self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Called by the trainer before epoch ``epoch`` (0-based) of ``epochs``: drop-path probability ramps linearly
        from 0 to ``drop_path_prob`` (train.py:100, ``args.drop_path_prob * epoch / args.epochs``)."""
        self.drop_path_prob = self.max_drop_path_prob * epoch / epochs

    def eval_parameter_count(self) -> int:
        """Parameters of the network that is tested: all but the auxiliary head's, as DARTS counts them
        (utils.py:82-83, ``count_parameters_in_MB`` skips names containing "auxiliary")."""
        return sum(p.numel() for name, p in self.named_parameters() if not name.startswith("auxiliary_head."))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_layer and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits if aux is None else (logits, aux)
