"""Zero-cost proxies: free rankings of architectures from their stand-alone networks at initialisation.

Each proxy scores one freshly initialised network from one minibatch (higher = predicted better), as its paper defines:

    params     trainable parameters (millions)
    flops      multiply-accumulates of every conv and linear layer for one 32x32 image (millions; NB201's "flops")
    naswot     log|K| of the binary ReLU-code kernel K = C C^T + (1-C)(1-C)^T over the batch (Mellor et al. 2021,
               "NAS without training", v2; BayesWatch/nas-without-training score_networks.py: batch 128)
    synflow    sum |theta * dR/dtheta| with R the summed output for an all-ones input, every weight replaced by its
               absolute value, BatchNorm as identity and float64 (Tanaka et al. 2020; Abdelfattah et al. 2021)
    grad_norm  sum over conv/linear layers of ||dL/dW||_2 for the cross-entropy of one batch (Abdelfattah et al. 2021)
    snip       sum |W * dL/dW| over conv/linear weights (Lee et al. 2019, as Abdelfattah et al. 2021)
    jacob_cov  -sum(log(v + k) + 1/(v + k)), v the eigenvalues of the correlation matrix of the input Jacobians of
               the summed output, k = 1e-5 (Mellor et al. 2021 v1, as Abdelfattah et al. 2021)

Abdelfattah et al.'s proxies (zero-cost-nas) use a batch of 64; NASWOT uses 128 (``BATCH_SIZE``). Written here
rather than taken from a package: each is a few lines, and the packages that bundle them (alethiometer, the
zero-cost-nas and NASLib code) pin old torch versions or pull in their own search spaces.

    >>> import torch
    >>> from lrnas.spaces import get_space
    >>> from lrnas.spaces.nb201.network import NB201Network
    >>> space = get_space("nb201")
    >>> net = NB201Network(space.parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
    ...                                     "nor_conv_3x3~1|nor_conv_3x3~2|"), C=4, N=1)
    >>> images, labels = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
    >>> scores = score_network(net, ("params", "flops", "naswot", "synflow"), images, labels)
    >>> sorted(scores), scores["params"] > 0, scores["flops"] > 0
    (['flops', 'naswot', 'params', 'synflow'], True, True)
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# The minibatch each paper used: NASWOT's score_networks.py --batch_size 128; zero-cost-nas's --batch_size 64.
BATCH_SIZE = {"params": 0, "flops": 0, "naswot": 128, "synflow": 0, "grad_norm": 64, "snip": 64, "jacob_cov": 64}
PROXIES = tuple(BATCH_SIZE)
WEIGHTED = (nn.Conv2d, nn.Linear)


def params(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6


def flops(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    total = 0

    def count(module: nn.Module, inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kernel = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output[0].numel() * kernel
        else:
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, WEIGHTED)]
    try:
        with torch.no_grad():
            net(images[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return total / 1e6


def naswot(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    kernel = torch.zeros(len(images), len(images), dtype=torch.float64, device=images.device)

    def add_codes(module: nn.Module, inputs, output: torch.Tensor) -> None:
        # 0/1 codes: float32 products are exact up to 2^24 units per layer (NB201's largest has 16,384); the
        # float64 kernel sums the layers
        codes = (inputs[0].detach().flatten(1) > 0).float()
        kernel.add_((codes @ codes.T + (1 - codes) @ (1 - codes).T).double())

    hooks = [m.register_forward_hook(add_codes) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(images)
    finally:
        for hook in hooks:
            hook.remove()
    return torch.linalg.slogdet(kernel)[1].item()


def synflow(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    net = copy.deepcopy(net).double().eval()  # eval: BatchNorm at init is the identity (running mean 0, var 1)
    with torch.no_grad():
        for p in net.state_dict().values():
            p.abs_()
    net.zero_grad()
    ones = torch.ones(1, *images.shape[1:], dtype=torch.float64, device=images.device)
    net(ones).sum().backward()
    return sum((m.weight * m.weight.grad).abs().sum().item() for m in net.modules()
               if isinstance(m, WEIGHTED) and m.weight.grad is not None)


def _loss_gradients(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[nn.Module]:
    net.zero_grad()
    F.cross_entropy(net(images), labels).backward()
    return [m for m in net.modules() if isinstance(m, WEIGHTED) and m.weight.grad is not None]


def grad_norm(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return sum(m.weight.grad.norm().item() for m in _loss_gradients(net, images, labels))


def snip(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return sum((m.weight.grad * m.weight).abs().sum().item() for m in _loss_gradients(net, images, labels))


def jacob_cov(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    images = images.clone().requires_grad_(True)
    net.zero_grad()
    net(images).sum().backward()
    jacobians = images.grad.flatten(1).double().cpu().numpy()
    # A correlation matrix is positive semi-definite: clip rounding below zero; a constant Jacobian row has none (0).
    eigenvalues = np.clip(np.linalg.eigvalsh(np.nan_to_num(np.corrcoef(jacobians))), 0, None)
    k = 1e-5
    return float(-np.sum(np.log(eigenvalues + k) + 1.0 / (eigenvalues + k)))


SCORERS: dict[str, Callable[[nn.Module, torch.Tensor, torch.Tensor], float]] = {
    "params": params, "flops": flops, "naswot": naswot, "synflow": synflow, "grad_norm": grad_norm, "snip": snip,
    "jacob_cov": jacob_cov}


def check_proxies(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in SCORERS]
    if unknown:
        raise ValueError(f"unknown proxy {unknown[0]!r}; valid: {', '.join(PROXIES)}")


def score_network(net: nn.Module, names: Sequence[str], images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Each proxy in ``names`` for ``net`` (train mode, as the papers), each on the first BATCH_SIZE[name] images."""
    check_proxies(names)
    net.train()
    scores = {}
    for name in names:
        size = BATCH_SIZE[name] or len(images)
        scores[name] = SCORERS[name](net, images[:size], labels[:size])
    return scores
