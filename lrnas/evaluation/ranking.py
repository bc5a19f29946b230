"""Score a fixed sample of architectures through the super-net and compare with ground truth.

Every Kendall tau is reported with its sample size and beside the tau of the free parameter-count
baseline on the same sample: a super-net that does not beat that baseline ranks no better than counting weights.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .metrics import kendall_tau, ranking_metrics


@dataclass(frozen=True)
class EvalSample:
    """Architectures (official strings) with their ground truth and parameter counts, fixed for a run."""

    archs: list[str]
    ground_truth: np.ndarray
    params: np.ndarray


def draw_eval_sample(benchmark, num_archs: int, seed: int, exclude: set[str], metric: str) -> EvalSample:
    """A seeded uniform sample of ``num_archs`` from ``benchmark.eval_pool``, never one in ``exclude`` (landmarks).

    The pool is every NB201 cell, and NB101's uniformly sampled ``full`` subset (so tau is unbiased). It is shuffled by
    ``seed`` and the first ``num_archs`` not excluded are taken, so landmarks chosen outside the plain sample leave it
    unchanged: runs with and without landmarks are scored on the same archs.
    """
    order = list(benchmark.eval_pool)
    random.Random(seed).shuffle(order)
    archs = [arch for arch in order if arch not in exclude][:num_archs]
    if not 2 <= num_archs <= len(archs):
        pool = len(order) - len(exclude)
        raise ValueError(f"eval.num_archs={num_archs} must be between 2 and the {pool} non-landmark architectures")
    return EvalSample(archs, benchmark.accuracies(archs, metric), benchmark.params(archs))


@torch.inference_mode()
def supernet_accuracies(super_net, archs, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                        progress: bool = True) -> np.ndarray:
    """Top-1 (%) of each single-path architecture on ``images`` (already normalised, on the model's device).

    BatchNorm keeps batch statistics in eval mode (no running stats), so the batch size matters: keep it large.
    """
    super_net.eval()
    correct = torch.zeros(len(archs), device=images.device, dtype=torch.long)
    for i, arch in enumerate(tqdm(archs, desc="scoring archs", unit="arch", leave=False, disable=not progress)):
        for start in range(0, len(images), batch_size):
            logits = super_net(images[start : start + batch_size], arch)
            correct[i] += (logits.argmax(1) == labels[start : start + batch_size]).sum()
    return 100.0 * correct.cpu().numpy() / len(images)


def evaluate_ranking(super_net, space, sample: EvalSample, images, labels, batch_size: int, top_k: int,
                     landmarks=()) -> dict:
    """Ranking metrics of the super-net on ``sample`` plus the parameter-count baseline on the same sample, and,
    when there are landmarks, Kendall tau on the landmarks themselves (how well the regularizer fits them)."""
    accuracies = supernet_accuracies(super_net, [space.parse_arch(a) for a in sample.archs], images, labels, batch_size)
    metrics = ranking_metrics(accuracies, sample.ground_truth, top_k=top_k)
    metrics["param_count_kendall_tau"] = kendall_tau(sample.params, sample.ground_truth)
    metrics["mean_supernet_accuracy"] = float(accuracies.mean())
    if landmarks:
        fitted = supernet_accuracies(super_net, [space.parse_arch(lm.arch) for lm in landmarks], images, labels,
                                     batch_size)
        metrics["landmark_kendall_tau"] = kendall_tau(fitted, [lm.accuracy for lm in landmarks])
        metrics["num_landmarks"] = len(landmarks)
    return {"metrics": metrics, "supernet_accuracy": accuracies}
