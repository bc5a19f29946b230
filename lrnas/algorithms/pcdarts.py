"""PC-DARTS (Xu et al., ICLR 2020): DARTS with partial-channel connections and edge normalisation.

Every edge mixes all ops with ``softmax(alpha[e])`` on 1/K of its input channels (K = ``algorithm.partial_channels``)
and passes the rest through; node j sums its incoming edges weighted by ``softmax(beta)`` over those edges. Which
channels is the space's super-net's choice: on DARTS (``lrnas/spaces/darts/supernet.py``) and NB201's
``space.supernet.cell_type=partial_channel`` (the authors' cell, ``lrnas/spaces/nb201/cells_partial.py``) the first
C/K followed by a channel shuffle, as PC-DARTS; NB201's other cells a random C/K per edge and step. Weights train on
the training half; alpha and beta train first-order with Adam on the held-out half, after a weights-only warm-up
(``algorithm.warmup_fraction`` of the epochs; 15 of 50 in the paper). ``algorithm.edge_normalization=false`` drops
beta (the authors' NB201 landmark code has none). The search derives architectures with the space's
``most_probable``, weighing edges by beta. See ``differentiable.py`` for the phases and for how landmarks and ranking
use discrete forwards.

    lrnas train algorithm=pcdarts experiment=smoke
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config_rules import flag, fraction, integer, invalid
from .differentiable import ARCH_INIT_SCALE, Differentiable, seeded_generator


class PCDARTS(Differentiable):
    config_rules = {**Differentiable.config_rules, "partial_channels": integer(1), "warmup_fraction": fraction(),
                    "edge_normalization": flag()}

    @classmethod
    def check_config(cls, values: dict) -> None:
        super().check_config(values)
        partial, channels = values["algorithm"]["partial_channels"], values["space"]["channels"]
        if channels % partial:
            raise invalid("algorithm.partial_channels", partial,
                          f"a divisor of space.channels={channels} (each edge runs its ops on 1/K of them)")

    def __init__(self, space, rng, cfg, device, generator):
        super().__init__(space, rng, cfg, device, generator)
        self.beta = None  # edge normalisation's parameters; none without it (the authors' NB201 cell)
        if cfg.get("edge_normalization", True):
            self.beta = torch.nn.Parameter(ARCH_INIT_SCALE * torch.randn(len(space.RELAXED_EDGES),
                                                                         generator=seeded_generator(rng)).to(device))
            self.arch_parameters.append(self.beta)
        self.build_arch_optimizer()
        # Edges grouped by target node: edge normalisation is a softmax over each node's incoming edges.
        targets = [target for target, _ in space.RELAXED_EDGES]
        self.node_edges = [[e for e, t in enumerate(targets) if t == node] for node in dict.fromkeys(targets)]

    def first_arch_epoch(self, epochs: int) -> int:
        return max(self.warmup_epochs, round(self.cfg.warmup_fraction * epochs)) + 1

    def edge_weights(self, beta: torch.Tensor) -> torch.Tensor:
        weights = torch.empty_like(beta)
        for edges in self.node_edges:
            weights[edges] = F.softmax(beta[edges], dim=0)
        return weights

    def edge_strengths(self):
        return None if self.beta is None else self.edge_weights(self.beta.detach().float()).cpu().numpy()

    def mixed_logits(self, super_net, images, train_arch: bool):
        as_used = (lambda p: p) if train_arch else torch.Tensor.detach  # frozen: constants in the weights' step
        edge_weights = None if self.beta is None else self.edge_weights(as_used(self.beta))
        return super_net.forward_mixed(images, F.softmax(as_used(self.alpha), dim=-1), edge_weights=edge_weights,
                                       partial_channels=self.cfg.partial_channels, generator=self.generator)


ALGORITHM = PCDARTS  # algorithm=pcdarts (lrnas.algorithms finds it by this name)
