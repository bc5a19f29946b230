"""GDAS (Dong & Yang, CVPR 2019): one op per edge sampled by Gumbel-softmax, trained straight-through.

Each forward draws Gumbel noise g and picks ``k = argmax(log_softmax(alpha) + g)`` per edge; only op k runs, scaled
by the hard one-hot ``h = onehot(k) - p.detach() + p`` with ``p = softmax((log_softmax(alpha) + g) / tau)``, so the
forward is a discrete path and the gradient still reaches alpha. ``tau`` falls linearly from ``algorithm.tau_max`` to
``algorithm.tau_min`` over the epochs (10 -> 0.1 in the paper). Picking the op needs the noisy logits on the host:
one small device-to-host copy per forward. See ``differentiable.py`` for the bilevel step and the discrete forwards
used by landmarks and ranking.

    lrnas train algorithm=gdas experiment=smoke
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .differentiable import Differentiable


class GDAS(Differentiable):
    def __init__(self, space, rng, cfg, device, generator):
        super().__init__(space, rng, cfg, device, generator)
        self.build_arch_optimizer()
        self.tau = cfg.tau_max
        self.updates_arch = True

    def start_epoch(self, epoch: int, epochs: int) -> None:
        progress = (epoch - 1) / (epochs - 1) if epochs > 1 else 1.0
        self.tau = self.cfg.tau_max - (self.cfg.tau_max - self.cfg.tau_min) * progress

    def hard_weights(self, alpha: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        """Straight-through one-hot weights and the op index each edge runs."""
        gumbel = -torch.empty_like(alpha).exponential_(generator=self.generator).log()
        noisy = F.log_softmax(alpha, dim=-1) + gumbel
        soft = F.softmax(noisy / self.tau, dim=-1)
        selected = noisy.argmax(-1)
        hard = F.one_hot(selected, alpha.shape[-1]).to(soft.dtype) - soft.detach() + soft
        return hard, selected.tolist()

    def mixed_logits(self, super_net, images, train_arch: bool):
        hard, selected = self.hard_weights(self.alpha if train_arch else self.alpha.detach())
        return super_net.forward_mixed(images, hard, selected=selected)

    def describe(self) -> dict:
        return {**super().describe(), "gumbel_tau": self.tau}
