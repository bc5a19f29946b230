"""GDAS (Dong & Yang, CVPR 2019): one op per edge sampled by Gumbel-softmax, trained straight-through.

Each forward draws Gumbel noise g and picks ``k = argmax(log_softmax(alpha) + g)`` per edge; only op k runs, scaled
by the hard one-hot ``h = onehot(k) - p.detach() + p`` with ``p = softmax((log_softmax(alpha) + g) / tau)``, so the
forward is a discrete path and the gradient still reaches alpha. ``tau`` falls linearly from ``algorithm.tau_max`` to
``algorithm.tau_min`` over the epochs that update alpha (10 -> 0.1 over the search in the GDAS paper) and is
``tau_max`` before them; with lrnas's default phases alpha trains from epoch 1, so that is every epoch. The authors'
landmark code instead anneals over a fixed 35 epochs counted from epoch 0 (kcyu2014/nas-landmarkreg
nasws/cnn/policy/gdas_policy/gdas_search_policy.py:9-12 with configs.py:4), so tau is negative from epoch 35 on,
through their whole frozen-alpha phase and search; lrnas does not reproduce that defect.
Picking the op needs the noisy logits on the host: one small device-to-host copy per forward. See
``differentiable.py`` for the phases, the bilevel step and the discrete forwards used by landmarks and ranking.

    lrnas train algorithm=gdas experiment=smoke
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config_rules import invalid, positive
from .differentiable import Differentiable


class GDAS(Differentiable):
    config_rules = {**Differentiable.config_rules, "tau_max": positive(), "tau_min": positive()}

    @classmethod
    def check_config(cls, values: dict) -> None:
        super().check_config(values)
        algorithm = values["algorithm"]
        if algorithm["tau_min"] > algorithm["tau_max"]:
            raise invalid("algorithm.tau_min", algorithm["tau_min"],
                          f"a number in (0, {algorithm['tau_max']}] (algorithm.tau_max: the temperature only falls)")

    def __init__(self, space, rng, cfg, device, generator):
        super().__init__(space, rng, cfg, device, generator)
        self.build_arch_optimizer()
        self.tau = cfg.tau_max
        self.updates_arch = True

    def start_epoch(self, epoch: int, epochs: int) -> None:
        super().start_epoch(epoch, epochs)
        self.tau = gumbel_temperature(epoch, self.arch_start(epochs), epochs, self.cfg.tau_max, self.cfg.tau_min)

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


def gumbel_temperature(epoch: int, first: int, last: int, tau_max: float, tau_min: float) -> float:
    """tau for the 1-based ``epoch``: ``tau_max`` before and at epoch ``first`` (the first that updates alpha), then
    linear to ``tau_min`` at epoch ``last``; a search of one epoch runs at ``tau_min``. Never below ``tau_min``."""
    if epoch < first:
        return tau_max
    if last <= first:
        return tau_min
    return tau_min + (tau_max - tau_min) * max(0.0, 1 - (epoch - first) / (last - first))  # exact at both ends


ALGORITHM = GDAS  # algorithm=gdas (lrnas.algorithms finds it by this name)
