"""An algorithm of the user's own: each step trains a uniformly sampled path, or, every ``every_k`` steps, the path
with every edge on the same op, the ops in turn; it counts those steps."""
from __future__ import annotations

import torch.nn.functional as F

from lrnas.algorithms import Algorithm, StepResult
from lrnas.config_rules import integer


class Alternate(Algorithm):
    config_rules = {"every_k": integer(1)}  # algorithm.every_k: checked before any run starts, as lrnas's own keys
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = self.uniform_steps = 0

    def backward(self, super_net, images, labels) -> StepResult:
        self.steps += 1
        if self.steps % self.cfg.every_k:
            arch = self.space.sample_arch(self.rng)
        else:
            self.uniform_steps += 1
            arch = (self.space.OPS[self.uniform_steps % len(self.space.OPS)],) * self.space.NUM_EDGES
        logits = super_net(images, arch)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        return StepResult(loss.detach(), (logits.argmax(1) == labels).sum(), len(labels), (arch,))

    def describe(self) -> dict:
        return {"uniform_steps": self.uniform_steps}

    def state_dict(self) -> dict:
        return {"steps": self.steps, "uniform_steps": self.uniform_steps}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.uniform_steps = state["steps"], state["uniform_steps"]


ALGORITHM = Alternate
