"""FairNAS with strict fairness (Chu et al., ICCV 2021): every op on every edge trains exactly once per step.

Each step the space draws ``space.fair_paths(rng)``: paths that together use every op at every choice point (NB201:
each edge; NB101: each vertex, over one shared random graph) exactly once. Their gradients on the same batch
accumulate before the single optimizer step, so no op gets ahead of another. A step costs one single-path
forward/backward per op (5 on NB201, 3 on NB101).

    lrnas train algorithm=fairnas experiment=smoke
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Algorithm, StepResult


class FairNAS(Algorithm):
    def backward(self, super_net, images: torch.Tensor, labels: torch.Tensor) -> StepResult:
        paths = self.space.fair_paths(self.rng)
        loss_sum, correct = 0.0, 0
        for arch in paths:
            logits = super_net(images, arch)
            loss = F.cross_entropy(logits, labels)
            loss.backward()  # accumulates: the trainer steps once after all paths
            loss_sum = loss_sum + loss.detach()
            correct = correct + (logits.argmax(1) == labels).sum()
        return StepResult(loss_sum / len(paths), correct, len(labels) * len(paths), tuple(paths))


ALGORITHM = FairNAS  # algorithm=fairnas (lrnas.algorithms finds it by this name)
