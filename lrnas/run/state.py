"""The state of one training run: every piece ``build_run`` wires, and exactly what a checkpoint needs to resume it."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import ModuleType

import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from ..config_rules import ConfigError
from ..data import DeviceBatches
from ..evaluation.ranking import EvalSample
from ..landmarks import Landmark
from ..records import save_checkpoint
from ..resume import capture_rng, restore_rng
from ..training import EpochProgress, SuperNetTrainer
from .folder import RunFolder


@dataclass
class Run:
    """Everything one training run holds; ``state_dict`` is exactly what a checkpoint needs to resume it."""

    cfg: DictConfig
    folder: RunFolder
    space: ModuleType
    benchmark: object
    sample: EvalSample
    landmarks: list[Landmark]
    super_net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    trainer: SuperNetTrainer
    train_batches: DeviceBatches
    held_out: DeviceBatches
    test_images: torch.Tensor
    test_labels: torch.Tensor
    generators: dict[str, torch.Generator]
    archs_table: pd.DataFrame
    recalibration: list[torch.Tensor] | None = None  # eval.bn=recalibrate: the training batches BN statistics come from
    history: list[dict] = field(default_factory=list)
    oracle_queries: list[dict] = field(default_factory=list)
    landmark_scores: list[dict] = field(default_factory=list)  # each evaluation's super-net accuracy of every landmark
    search: dict | None = None  # the search phase's report, once training is done
    eval_pool: list[str] = field(default_factory=list)  # eval.pool=alpha_refresh: the authors' pool, best first
    eval_pool_scores: list[dict] = field(default_factory=list)  # and its scores at each evaluation
    epochs_done: int = 0
    elapsed_s: float = 0.0

    @property
    def regularizer(self):
        return self.trainer.regularizer

    @property
    def current_landmarks(self) -> list[Landmark]:
        """The landmark set now: refinement grows the regularizer's copy of the initial set."""
        return self.regularizer.landmarks if self.regularizer else self.landmarks

    def python_rngs(self) -> dict[str, random.Random]:
        rngs = {"algorithm": self.trainer.algorithm.rng}
        if self.regularizer:
            rngs["regularizer"] = self.regularizer.rng
        return rngs

    def state_dict(self, progress: EpochProgress | None) -> dict:
        return {
            "config": OmegaConf.to_container(self.cfg, resolve=True),
            "device_type": self.test_labels.device.type,
            "epochs_done": self.epochs_done,
            "epoch_progress": progress.state_dict() if progress else None,
            "super_net": self.super_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "algorithm": self.trainer.algorithm.state_dict(),  # architecture parameters and their optimizer
            "landmarks": [(lm.arch, lm.accuracy) for lm in self.current_landmarks],
            "rng": capture_rng(self.python_rngs(), self.generators),
            "history": self.history,
            "oracle_queries": self.oracle_queries,
            "landmark_scores": self.landmark_scores,
            "eval_pool": self.eval_pool,
            "eval_pool_scores": self.eval_pool_scores,
            "archs_table": self.archs_table.to_dict(orient="list"),
            "elapsed_s": self.elapsed_s,
        }

    def load_training_state(self, state: dict) -> None:
        """The training state of a checkpoint: weights, optimizer, lr schedule, algorithm, random streams, epochs done
        (a warm start takes only this from another run; lrnas.run.warm_start)."""
        self.super_net.load_state_dict(state["super_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.trainer.algorithm.load_state_dict(state["algorithm"])
        # A stream the checkpoint lacks (a warm start's regularizer, when the source had none) keeps its fresh seed.
        python_rngs = {name: rng for name, rng in self.python_rngs().items() if name in state["rng"]["python_rngs"]}
        restore_rng(state["rng"], python_rngs, self.generators)
        self.epochs_done = state["epochs_done"]

    def warm_start(self, state: dict, source: str) -> None:
        """Continue another run's training (``trainer.init_from=source``) under this run's config; its lr schedule
        must be this run's, so the cosine goes on where the source left it."""
        built = {key: self.scheduler.state_dict()[key] for key in ("T_max", "eta_min", "base_lrs")}
        loaded = {key: state["scheduler"][key] for key in built}
        if built != loaded:
            raise ConfigError(f"trainer.init_from={source!r}: its lr schedule {loaded} is not this run's {built}; give "
                              "the source run trainer.schedule_epochs (and lr, min_lr, lr_step) equal to this run's")
        self.load_training_state(state)

    def load_state_dict(self, state: dict) -> EpochProgress | None:
        self.load_training_state(state)
        if self.regularizer:  # refinement may have grown the set since the start
            landmarks = [Landmark(arch, accuracy) for arch, accuracy in state["landmarks"]]
            self.regularizer.set_landmarks(landmarks, [self.space.parse_arch(lm.arch) for lm in landmarks])
        self.history, self.oracle_queries = state["history"], state["oracle_queries"]
        self.landmark_scores = state.get("landmark_scores", [])  # checkpoints from before it was recorded
        self.eval_pool = state.get("eval_pool", self.eval_pool)
        self.eval_pool_scores = state.get("eval_pool_scores", [])
        self.archs_table = pd.DataFrame(state["archs_table"])
        self.elapsed_s = state["elapsed_s"]
        progress = state["epoch_progress"]
        return EpochProgress.from_state_dict(progress, self.test_labels.device) if progress else None

    def save_checkpoint(self, progress: EpochProgress | None = None) -> None:
        save_checkpoint(self.folder.checkpoint, self.state_dict(progress))
