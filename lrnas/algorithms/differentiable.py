"""Shared machinery of the differentiable algorithms (PC-DARTS, GDAS): architecture parameters and their optimizer.

First-order bilevel optimisation: ``arch_step`` updates the architecture parameters with Adam on a held-out batch
(gradients reach only them, never the super-net weights), then ``backward`` trains the weights on a training batch
with the architecture parameters held fixed.

The landmark term and the ranking evaluation use *discrete* single-path forwards of each architecture through the
same op weights (``super_net(x, arch)``), exactly as for SPOS: a landmark or evaluated architecture is scored as what
it is, not through the relaxation, and every algorithm is ranked by the same protocol.

Phases, all derived from the (1-based) epoch, so a resumed run is in the same phase as the one it continues:

- ``warmup``: epochs ``1..algorithm.supernet_warmup_epochs`` train SPOS single paths (one uniformly sampled
  architecture per step, as ``spos.py``); 0 by default. The authors' landmark runs of GDAS and PC-DARTS start so
  (kcyu2014/nas-landmarkreg nasws/cnn/search_space/supernet.py:32-34, 53-60).
- ``weights``: the weights train through the relaxed forward with the architecture parameters frozen.
- ``search``: from ``algorithm.arch_start_epoch`` on, each step first updates the architecture parameters on a
  held-out batch. ``arch_start_epoch: null`` keeps lrnas's rule (GDAS: right after the SPOS warm-up; PC-DARTS: after
  ``warmup_fraction`` of the epochs).

    lrnas train experiment=paper_nb201_gdas_landmark data.root=PATH    # 100 SPOS, 300 frozen-alpha, 50 search epochs
"""
from __future__ import annotations

import random

import numpy as np
import torch
import torch.nn.functional as F

from ..config_rules import Rule, integer, invalid, non_negative, optional, positive
from .base import Algorithm, StepResult

ARCH_INIT_SCALE = 1e-3  # DARTS initialises alpha at 1e-3 * N(0, 1): near-uniform op weights


class Differentiable(Algorithm):
    differentiable = True
    config_rules = {
        "arch_lr": positive(),
        "arch_betas": Rule("a list [beta1, beta2] of numbers in [0, 1)", lambda v: isinstance(v, list) and len(v) == 2
                           and all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in v)),
        "arch_weight_decay": non_negative(),
        "supernet_warmup_epochs": integer(0),  # < trainer.epochs: check_config
        "arch_start_epoch": optional(integer(1)),  # after the warm-up, <= trainer.epochs
    }

    @classmethod
    def check_config(cls, values: dict) -> None:
        """The SPOS warm-up and the alpha start fit in the run."""
        algorithm, epochs = values["algorithm"], values["trainer"]["epochs"]
        warmup = algorithm["supernet_warmup_epochs"]
        if warmup >= epochs:
            raise invalid("algorithm.supernet_warmup_epochs", warmup,
                          f"an integer in 0..{epochs - 1} (trainer.epochs={epochs}; a run of only warm-up is SPOS: use "
                          "algorithm=spos)")
        start = algorithm["arch_start_epoch"]
        if start is not None and not warmup < start <= epochs:
            raise invalid("algorithm.arch_start_epoch", start,
                          f"null or an integer in {warmup + 1}..{epochs} (after algorithm.supernet_warmup_epochs="
                          f"{warmup}, within trainer.epochs={epochs})")

    def __init__(self, space, rng: random.Random, cfg, device: torch.device, generator: torch.Generator):
        super().__init__(space, rng, cfg, device, generator)  # generator: device-side draws (channel subsets)
        # One row per edge of the space's relaxation, one column per op (``none`` included where the space has it).
        initial = ARCH_INIT_SCALE * torch.randn(len(space.RELAXED_EDGES), len(space.RELAXED_OPS),
                                                generator=seeded_generator(rng))
        self.alpha = torch.nn.Parameter(initial.to(device))
        self.arch_parameters = [self.alpha]
        self.phase = "search"  # set from the epoch by start_epoch

    def first_arch_epoch(self, epochs: int) -> int:
        """The first epoch that updates the architecture parameters when ``arch_start_epoch`` is null."""
        return self.warmup_epochs + 1

    @property
    def warmup_epochs(self) -> int:
        return self.cfg.get("supernet_warmup_epochs", 0)

    def arch_start(self, epochs: int) -> int:
        start = self.cfg.get("arch_start_epoch")
        return self.first_arch_epoch(epochs) if start is None else start

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """The phase of ``epoch`` (1-based): SPOS warm-up, frozen-alpha weight training, or the alpha search."""
        if epoch <= self.warmup_epochs:
            self.phase = "warmup"
        elif epoch < self.arch_start(epochs):
            self.phase = "weights"
        else:
            self.phase = "search"
        self.updates_arch = self.phase == "search"

    def build_arch_optimizer(self) -> None:
        """Adam on the architecture parameters (call once subclasses have added theirs)."""
        self.arch_optimizer = torch.optim.Adam(self.arch_parameters, lr=self.cfg.arch_lr,
                                               betas=tuple(self.cfg.arch_betas),
                                               weight_decay=self.cfg.arch_weight_decay)

    def mixed_logits(self, super_net, images: torch.Tensor, train_arch: bool) -> torch.Tensor:
        """Logits of the relaxed super-net; with ``train_arch=False`` the architecture parameters are constants."""
        raise NotImplementedError

    def arch_step(self, super_net, images: torch.Tensor, labels: torch.Tensor) -> None:
        loss = F.cross_entropy(self.mixed_logits(super_net, images, train_arch=True), labels)
        grads = torch.autograd.grad(loss, self.arch_parameters)  # the weights' .grad stay untouched
        for parameter, grad in zip(self.arch_parameters, grads, strict=True):
            parameter.grad = grad
        self.arch_optimizer.step()

    def backward(self, super_net, images: torch.Tensor, labels: torch.Tensor) -> StepResult:
        if self.phase == "warmup":  # SPOS: one uniformly sampled path
            arch = self.space.sample_arch(self.rng)
            logits = super_net(images, arch)
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            return StepResult(loss.detach(), (logits.argmax(1) == labels).sum(), len(labels), (arch,))
        logits = self.mixed_logits(super_net, images, train_arch=False)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        # The argmax stays on the device: reading it every step would cost a host sync.
        argmax = self.alpha.detach().argmax(-1)
        return StepResult(loss.detach(), (logits.argmax(1) == labels).sum(), len(labels), (argmax,))

    def name_path(self, path) -> str:
        if not isinstance(path, torch.Tensor):  # a SPOS warm-up step's sampled architecture
            return self.space.format_arch(path)
        arch = self.most_probable(1)[0][0]  # the step's path is the relaxation; name what it derives to now
        return f"{self.space.format_arch(arch)} (derived from the relaxed super-net)"

    def op_probabilities(self) -> np.ndarray:
        """One row per relaxed edge, one column per relaxed op: the softmax of alpha the search derives from."""
        return F.softmax(self.alpha.detach().float(), dim=-1).cpu().numpy()

    def edge_strengths(self) -> np.ndarray | None:
        """Per relaxed edge, the weight that scales its output (PC-DARTS's edge normalisation); None: all 1."""
        return None

    def most_probable(self, k: int) -> list[tuple[tuple, float]]:
        """The ``k`` best architectures the space derives from the learned weights (NB201: per-edge argmax first;
        DARTS: its two strongest inputs per node), each with its score."""
        return self.space.most_probable(self.op_probabilities(), k, self.edge_strengths())

    def describe(self) -> dict:
        arch, score = self.most_probable(1)[0]
        return {"argmax_arch": self.space.format_arch(arch), "argmax_probability": score, "phase": self.phase}

    def state_dict(self) -> dict:
        return {"arch_parameters": [p.detach().cpu() for p in self.arch_parameters],
                "arch_optimizer": self.arch_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            for parameter, saved in zip(self.arch_parameters, state["arch_parameters"], strict=True):
                parameter.copy_(saved)
        self.arch_optimizer.load_state_dict(state["arch_optimizer"])


def seeded_generator(rng: random.Random) -> torch.Generator:
    """A CPU generator seeded from the algorithm's RNG: the initial alpha depends on the run's seed only."""
    return torch.Generator().manual_seed(rng.getrandbits(63))
