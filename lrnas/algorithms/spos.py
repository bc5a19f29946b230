"""SPOS, single-path one-shot (Guo et al., ECCV 2020): each step trains one uniformly sampled path.

    lrnas train algorithm=spos experiment=smoke
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Algorithm, StepResult


class SPOS(Algorithm):
    def backward(self, super_net, images: torch.Tensor, labels: torch.Tensor) -> StepResult:
        """Sample a path, back-propagate its cross-entropy; the trainer clips and steps."""
        arch = self.space.sample_arch(self.rng)
        logits = super_net(images, arch)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        return StepResult(loss.detach(), (logits.argmax(1) == labels).sum(), len(labels), (arch,))


ALGORITHM = SPOS  # algorithm=spos (lrnas.algorithms finds it by this name)
