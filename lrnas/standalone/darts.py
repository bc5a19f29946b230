"""The DARTS evaluation network of one genotype: DARTS's ``NetworkCIFAR``, as the DARTS paper trains a cell anew.

Stem (3x3 conv to 3C, BN), ``layers`` cells with a reduction cell (stride 2, channels doubled) at layers // 3 and
2 * layers // 3, an auxiliary classifier after cell 2 * layers // 3 (training only), global pooling, linear classifier.
Each cell preprocesses its two inputs (the outputs of the two previous cells) to C channels, computes nodes 2..5 as
the sum of two ops on earlier states, and concatenates the four nodes. Sources: quark0/darts at commit f276dd3
(cnn/model.py, cnn/operations.py, cnn/utils.py); the landmark authors' copy, kcyu2014/nas-landmarkreg
nasws/cnn/search_space/darts/model.py, is the same network. Every BN has a scale and shift (``OPS[name](C, stride,
True)``, model.py:37) and tracks running statistics for test time. Nothing here is shared with the super-nets.

In training mode the network returns ``(logits, aux_logits)`` when it has the auxiliary head, logits otherwise; in
eval mode it returns logits. ``lrnas.standalone.training`` weighs the auxiliary loss by the recipe's
``auxiliary_weight``, calls :meth:`DARTSNetwork.start_epoch` for the drop-path schedule, and records
:meth:`DARTSNetwork.eval_parameter_count` (DARTS's count, auxiliary head excluded).

    >>> from lrnas.spaces import darts
    >>> net = DARTSNetwork(darts.parse_arch(darts.EXAMPLE))        # DARTS_V2 at C=36, 20 cells
    >>> round(net.eval_parameter_count() / 1e6, 2)                  # DARTS reports 3.3M for it
    3.35
"""
from __future__ import annotations

import torch
from torch import nn

Pair = tuple[str, int]
Arch = tuple[tuple[Pair, ...], tuple[Pair, ...]]  # (normal, reduce), as lrnas.spaces.darts parses it


class ReLUConvBN(nn.Sequential):
    """ReLU, conv, BN (operations.py:22-33)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out))


class SepConv(nn.Sequential):
    """Two stacked ReLU, depthwise conv, pointwise conv, BN; only the first has the stride (operations.py:50-66)."""

    def __init__(self, channels: int, kernel: int, stride: int, padding: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride, padding, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, 1, padding, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels))


class DilConv(nn.Sequential):
    """ReLU, dilated depthwise conv, pointwise conv, BN (operations.py:35-47)."""

    def __init__(self, channels: int, kernel: int, stride: int, padding: int, dilation: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride, padding, dilation=dilation, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels))


class FactorizedReduce(nn.Module):
    """Halve the resolution: ReLU, two stride-2 1x1 convs to C_out/2 each, the second on the input shifted by one
    pixel, concatenated, BN (operations.py:90-104)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(name: str, channels: int, stride: int) -> nn.Module:
    """One DARTS op on ``channels`` channels (operations.py:4-20; affine BN, model.py:37)."""
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip_connect":  # an identity, or at stride 2 a FactorizedReduce (operations.py:8)
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels)
    if name in ("sep_conv_3x3", "sep_conv_5x5"):
        kernel = int(name[-1])
        return SepConv(channels, kernel, stride, kernel // 2)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):  # dilation 2, padding 2 and 4 (operations.py:12-13)
        kernel = int(name[-1])
        return DilConv(channels, kernel, stride, 2 * (kernel // 2), 2)
    raise ValueError(f"{name!r} is not a DARTS op (the discrete cells use max_pool_3x3, avg_pool_3x3, skip_connect, "
                     "sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5)")


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
        self.preprocess0 = (FactorizedReduce(c_prev_prev, channels) if reduction_prev
                            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0))
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0)
        self.sources = [source for _, source in pairs]
        # In a reduction cell only the ops on the cell's inputs (states 0, 1) have stride 2 (model.py:36).
        self.ops = nn.ModuleList(make_op(op, channels, 2 if reduction and source < 2 else 1) for op, source in pairs)
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
