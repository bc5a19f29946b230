"""The super-net training step and epoch: algorithm loss, landmark term, then clip and one optimizer step.

Used by ``lrnas.train``; a step reads like the paper's Algorithm 1. An epoch's position (its data order, the steps
done, the running sums) lives in ``EpochProgress``, so a checkpoint taken mid-epoch resumes it exactly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from .config_rules import flag, fraction, integer, non_negative, one_of, optional, positive, text

TRAINER_RULES = {  # trainer.* (lrnas.config_rules)
    "epochs": integer(1),
    "batch_size": integer(1),
    "lr": positive(),
    "min_lr": non_negative(),
    "momentum": fraction(),
    "weight_decay": non_negative(),
    "nesterov": flag(),
    "grad_clip": positive(),
    "set_grads_to_none": flag(),
    "amp": flag(),
    "train_images": optional(integer(1)),
    "checkpoint_every_steps": optional(integer(1)),
    "lr_step": one_of(("step", "epoch")),
    "drop_last": flag(),
    "schedule_epochs": optional(integer(1)),  # >= epochs: lrnas.validation
    "init_from": optional(text()),  # lrnas.run.warm_start.check_init_from
}
# Host syncs (``.item()``) only every this many steps: progress bar and the non-finite-loss check.
PROGRESS_EVERY = 10
SUM_KEYS = ("loss", "correct", "seen", "penalty", "violated", "pairs")


class NonFiniteLossError(FloatingPointError):
    """A step produced a NaN/inf loss; the message names the epoch, step and architecture."""


def build_optimizer(super_net: torch.nn.Module, trainer_cfg, schedule_steps: int):
    """SGD with momentum and a cosine schedule from ``lr`` to ``min_lr`` over ``schedule_steps`` scheduler steps
    (the run's optimizer steps, or its epochs with ``trainer.lr_step=epoch``)."""
    optimizer = torch.optim.SGD(
        super_net.parameters(),
        lr=trainer_cfg.lr,
        momentum=trainer_cfg.momentum,
        weight_decay=trainer_cfg.weight_decay,
        nesterov=trainer_cfg.nesterov,
        foreach=True,
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, schedule_steps), eta_min=trainer_cfg.min_lr
    )
    return optimizer, scheduler


@dataclass
class EpochProgress:
    """Where an epoch stands: its data order, the steps done, and running sums kept on the device."""

    epoch: int
    order: torch.Tensor
    step: int = 0
    sums: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def start(cls, epoch: int, order: torch.Tensor) -> EpochProgress:
        return cls(epoch, order, 0, {key: torch.zeros((), device=order.device) for key in SUM_KEYS})

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "order": self.order.cpu(), "step": self.step,
                "sums": {k: v.cpu() for k, v in self.sums.items()}}

    @classmethod
    def from_state_dict(cls, state: dict, device) -> EpochProgress:
        return cls(state["epoch"], state["order"].to(device), state["step"],
                   {k: v.to(device) for k, v in state["sums"].items()})


class SuperNetTrainer:
    """Runs epochs of ``algorithm`` steps, with the landmark ``regularizer`` (or None) on ``held_out`` batches."""

    def __init__(self, super_net, algorithm, optimizer, scheduler, grad_clip: float, regularizer=None, held_out=None,
                 held_out_generator=None, set_grads_to_none: bool = True, arch_generator=None,
                 lr_per_epoch: bool = False, drop_last: bool = True):
        self.set_grads_to_none = set_grads_to_none
        self.lr_per_epoch = lr_per_epoch
        self.drop_last = drop_last  # false: the epoch's last, partial batch is a step too, as a DataLoader's default
        self.arch_generator = arch_generator  # held-out batches of the architecture step: its own data order
        self.super_net = super_net
        self.algorithm = algorithm
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.grad_clip = grad_clip
        self.regularizer = regularizer
        self.held_out = held_out
        self.held_out_generator = held_out_generator
        self.parameters = [p for p in super_net.parameters() if p.requires_grad]

    def train_epoch(self, batches, batch_size: int, generator: torch.Generator, epoch: int, epochs: int,
                    progress: EpochProgress | None = None,
                    after_step: Callable[[EpochProgress, Callable[[], None]], None] | None = None) -> dict:
        """Train one pass over ``batches`` (the weights half), from ``progress`` when resuming mid-epoch.

        ``after_step(progress, verify)`` runs after every optimizer step (step checkpoints, interruption); it calls
        ``verify()`` before saving, so a non-finite step is never checkpointed. Returns the epoch's means.
        """
        num_batches = batches.num_batches(batch_size, self.drop_last)
        if num_batches == 0:
            raise ValueError(f"trainer.batch_size={batch_size} is larger than the {len(batches)} training images")
        self.super_net.train()
        progress = progress or EpochProgress.start(epoch, batches.epoch_order(generator))
        sums = progress.sums
        lam = self.regularizer.coefficient(epoch - 1) if self.regularizer else 0.0  # its schedule counts from 0
        self.algorithm.start_epoch(epoch, epochs)
        recent: list[tuple[int, tuple, torch.Tensor]] = []  # (step, archs, loss) since the last host sync

        def verify() -> None:
            check_finite(recent, epoch, self.algorithm.name_path)
            recent.clear()
        bar = tqdm(total=num_batches, initial=progress.step, desc=f"epoch {epoch}/{epochs}", unit="step", leave=False)
        for step in range(progress.step + 1, num_batches + 1):
            images, labels = batches.batch(progress.order[(step - 1) * batch_size : step * batch_size], generator)
            if self.algorithm.updates_arch:
                self.algorithm.arch_step(self.super_net, *self.held_out.sample(batch_size, self.arch_generator))
            self.optimizer.zero_grad(set_to_none=self.set_grads_to_none)
            result = self.algorithm.backward(self.super_net, images, labels)
            if lam > 0 and step % self.regularizer.reg.every_k_steps == 0:
                held_images, held_labels = self.held_out.sample(
                    self.regularizer.reg.landmark_batch_size or batch_size, self.held_out_generator
                )
                stats = self.regularizer.backward(self.super_net, held_images, held_labels, lam)
                sums["penalty"] += stats["penalty"]
                sums["violated"] += stats["violated"]
                sums["pairs"] += stats["pairs"]
            torch.nn.utils.clip_grad_norm_(self.parameters, self.grad_clip)
            self.optimizer.step()
            if not self.lr_per_epoch:
                self.scheduler.step()
            sums["loss"] += result.loss * result.count
            sums["correct"] += result.correct
            sums["seen"] += result.count
            progress.step = step
            recent.append((step, result.archs, result.loss))
            if step % PROGRESS_EVERY == 0 or step == num_batches:
                verify()
                seen = sums["seen"].item()
                bar.set_postfix(loss=f"{sums['loss'].item() / seen:.3f}",
                                acc=f"{100 * sums['correct'].item() / seen:.1f}%")
            bar.update(1)
            if after_step:
                after_step(progress, verify)
        bar.close()
        if self.lr_per_epoch:
            self.scheduler.step()
        seen, pairs = sums["seen"].item(), sums["pairs"].item()
        row = {"train_loss": sums["loss"].item() / seen, "train_accuracy": 100 * sums["correct"].item() / seen,
               "lr": self.scheduler.get_last_lr()[0], **self.algorithm.describe()}
        if self.regularizer:  # no pairs during warm-up: no penalty or violation rate to report
            row["landmark_lambda"] = lam
            row["landmark_penalty"] = sums["penalty"].item() / pairs if pairs else None
            row["landmark_violation_rate"] = sums["violated"].item() / pairs if pairs else None
        return row


def check_finite(recent: list[tuple[int, tuple, torch.Tensor]], epoch: int, format_arch) -> None:
    """Raise on the first non-finite loss among the steps since the last check (one host sync for all of them)."""
    if not recent:
        return
    finite = torch.isfinite(torch.stack([loss for _, _, loss in recent])).tolist()
    if all(finite):
        return
    step, archs, loss = recent[finite.index(False)]
    named = "architecture" if len(archs) == 1 else f"one of the {len(archs)} architectures"
    raise NonFiniteLossError(
        f"non-finite loss {loss.item()} at epoch {epoch}, step {step}, {named} {'; '.join(map(format_arch, archs))}"
    )
