"""SPOS, single-path one-shot (Guo et al., ECCV 2020): each step trains one uniformly sampled path.

    lrnas train algorithm=spos experiment=smoke
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class StepResult:
    """What one algorithm step reports; tensors stay on the device so the step needs no host sync."""

    loss: torch.Tensor
    correct: torch.Tensor
    count: int
    arch: tuple  # the path trained; formatted only if an error must name it


class SPOS:
    def __init__(self, space, rng: random.Random):
        self.space = space
        self.rng = rng

    def backward(self, super_net, images: torch.Tensor, labels: torch.Tensor) -> StepResult:
        """Sample a path, back-propagate its cross-entropy; the trainer clips and steps."""
        arch = self.space.sample_arch(self.rng)
        logits = super_net(images, arch)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        return StepResult(loss.detach(), (logits.argmax(1) == labels).sum(), len(labels), arch)
