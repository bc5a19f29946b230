"""What every NAS algorithm gives the trainer, and the default no-ops of the sampling-based ones.

One training step (``lrnas.training.SuperNetTrainer``) is: ``arch_step`` on a held-out batch if ``updates_arch``
(differentiable algorithms only), then ``backward`` on a training batch, then the landmark term, clip and one SGD
step on the super-net weights.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch


@dataclass
class StepResult:
    """What one algorithm step reports; tensors stay on the device so the step needs no host sync."""

    loss: torch.Tensor  # mean cross-entropy over the paths trained
    correct: torch.Tensor
    count: int  # predictions made: batch size x paths
    archs: tuple  # the paths trained, in the algorithm's encoding; ``Algorithm.name_path`` formats one on an error


class Algorithm:
    """Base of all algorithms: a search space, a python RNG (checkpointed by the run), and no architecture state.

    Every algorithm is built alike, ``Algorithm(space, rng, cfg, device, generator)``: ``cfg`` is its ``algorithm``
    config group (conf/algorithm/NAME.yaml), so an algorithm of either kind reads its own keys from ``self.cfg``;
    ``generator`` draws on ``device`` and is checkpointed with the run's generators."""

    differentiable = False
    updates_arch = False  # True while a differentiable algorithm updates its architecture parameters
    # Rules of this algorithm's keys in conf/algorithm/NAME.yaml (relative to algorithm.*; lrnas.config_rules), all
    # required; a subclass extends its base's. Cross-key checks: check_config.
    config_rules: dict = {}

    @classmethod
    def check_config(cls, values: dict) -> None:
        """Refuse (lrnas.config_rules.ConfigError) what depends on other keys; ``values``: the resolved config."""

    def __init__(self, space, rng: random.Random, cfg=None, device: torch.device | None = None,
                 generator: torch.Generator | None = None):
        self.space = space
        self.rng = rng
        self.cfg = cfg
        self.generator = generator

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Called before each epoch (1-based), also when a run resumes mid-epoch."""

    def backward(self, super_net, images: torch.Tensor, labels: torch.Tensor) -> StepResult:
        raise NotImplementedError

    def name_path(self, path) -> str:
        """One entry of ``StepResult.archs`` as an architecture string (only called when an error names it)."""
        return self.space.format_arch(path)

    def describe(self) -> dict:
        """Per-epoch figures for the log and metrics.json (e.g. the current argmax architecture)."""
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
