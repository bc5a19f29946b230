"""FairNAS with strict fairness (Chu et al., ICCV 2021): every op on every edge trains exactly once per step.

Each step draws one random permutation of the ops per edge; path m takes the m-th op of every permutation, so
``len(OPS)`` paths cover each (edge, op) exactly once. Their gradients on the same batch accumulate before the single
optimizer step, so no op gets ahead of another. A step costs ``len(OPS)`` single-path forward/backward passes.

    lrnas train algorithm=fairnas experiment=smoke
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Algorithm, StepResult


class FairNAS(Algorithm):
    def fair_paths(self) -> list[tuple[str, ...]]:
        """``len(OPS)`` architectures that together use every op on every edge exactly once."""
        ops = self.space.OPS
        permutations = [self.rng.sample(ops, len(ops)) for _ in range(self.space.NUM_EDGES)]
        return [tuple(permutation[m] for permutation in permutations) for m in range(len(ops))]

    def backward(self, super_net, images: torch.Tensor, labels: torch.Tensor) -> StepResult:
        paths = self.fair_paths()
        loss_sum, correct = 0.0, 0
        for arch in paths:
            logits = super_net(images, arch)
            loss = F.cross_entropy(logits, labels)
            loss.backward()  # accumulates: the trainer steps once after all paths
            loss_sum = loss_sum + loss.detach()
            correct = correct + (logits.argmax(1) == labels).sum()
        return StepResult(loss_sum / len(paths), correct, len(labels) * len(paths), tuple(paths))
