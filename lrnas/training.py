"""The super-net training step and epoch: algorithm loss, landmark term, then clip and one optimizer step.

Used by ``lrnas.train``; a step reads like the paper's Algorithm 1.
"""
from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

# Host syncs (``.item()``) only every this many steps, to refresh the progress bar.
PROGRESS_EVERY = 10


def build_optimizer(super_net: torch.nn.Module, trainer_cfg, steps_total: int):
    """SGD with momentum and a per-step cosine schedule from ``lr`` to ``min_lr``."""
    optimizer = torch.optim.SGD(
        super_net.parameters(),
        lr=trainer_cfg.lr,
        momentum=trainer_cfg.momentum,
        weight_decay=trainer_cfg.weight_decay,
        nesterov=trainer_cfg.nesterov,
        foreach=True,
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, steps_total), eta_min=trainer_cfg.min_lr
    )
    return optimizer, scheduler


class SuperNetTrainer:
    """Runs epochs of ``algorithm`` steps, with the landmark ``regularizer`` (or None) on ``held_out`` batches."""

    def __init__(self, super_net, algorithm, optimizer, scheduler, grad_clip: float, regularizer=None, held_out=None,
                 held_out_generator=None):
        self.super_net = super_net
        self.algorithm = algorithm
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.grad_clip = grad_clip
        self.regularizer = regularizer
        self.held_out = held_out
        self.held_out_generator = held_out_generator
        self.parameters = [p for p in super_net.parameters() if p.requires_grad]

    def train_epoch(self, batches, batch_size: int, generator: torch.Generator, epoch: int, epochs: int) -> dict:
        """One pass over ``batches`` (a DeviceBatches of the weights half); returns the epoch's means."""
        self.super_net.train()
        device = batches.labels.device
        loss_sum = torch.zeros((), device=device)
        correct_sum = torch.zeros((), device=device, dtype=torch.long)
        penalty_sum, violated_sum, pairs_seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
        lam = self.regularizer.coefficient(epoch - 1) if self.regularizer else 0.0  # its schedule counts from 0
        seen = 0
        bar = tqdm(total=batches.num_batches(batch_size), desc=f"epoch {epoch}/{epochs}", unit="step", leave=False)
        for step, (images, labels) in enumerate(batches.iterate(batch_size, generator), start=1):
            self.optimizer.zero_grad(set_to_none=True)
            result = self.algorithm.backward(self.super_net, images, labels)
            if lam > 0 and step % self.regularizer.reg.every_k_steps == 0:
                held_images, held_labels = self.held_out.sample(
                    self.regularizer.reg.landmark_batch_size or batch_size, self.held_out_generator
                )
                stats = self.regularizer.backward(self.super_net, held_images, held_labels, lam)
                penalty_sum += stats["penalty"]
                violated_sum += stats["violated"]
                pairs_seen += stats["pairs"]
            grad_norm = torch.nn.utils.clip_grad_norm_(self.parameters, self.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            loss_sum += result.loss * result.count
            correct_sum += result.correct
            seen += result.count
            if step % PROGRESS_EVERY == 0:
                self._check_finite(grad_norm, epoch, step)
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{100 * correct_sum.item() / seen:.1f}%")
            bar.update(1)
        bar.close()
        if seen == 0:
            raise ValueError(f"trainer.batch_size={batch_size} is larger than the {len(batches)} training images")
        row = {
            "train_loss": loss_sum.item() / seen,
            "train_accuracy": 100 * correct_sum.item() / seen,
            "lr": self.scheduler.get_last_lr()[0],
        }
        if self.regularizer:
            row["landmark_lambda"] = lam
            row["landmark_penalty"] = penalty_sum.item() / max(1, pairs_seen)
            row["landmark_violation_rate"] = violated_sum.item() / max(1, pairs_seen)
        return row

    @staticmethod
    def _check_finite(grad_norm: torch.Tensor, epoch: int, step: int) -> None:
        value = grad_norm.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"non-finite gradient norm {value} at epoch {epoch}, step {step}")
