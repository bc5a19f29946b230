"""Score a fixed sample of architectures through the super-net and compare with ground truth.

Every Kendall tau is reported with its sample size and beside the tau of the free parameter-count
baseline on the same sample: a super-net that does not beat that baseline ranks no better than counting weights.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..config_rules import Rule, flag, integer, one_of, seed, text
from ..seeding import stream_seed
from .alpha_pool import POOLS
from .bn_recalibration import BN_MODES, recalibrate, running_statistics
from .metrics import kendall_tau, ranking_metrics, sparse_kendall_tau, spearman_rho, tie_reason
from .proxies import PROXIES

CONFIG_RULES = {  # eval.* (lrnas.config_rules); batch sizes below MIN_EVAL_BATCH: lrnas.validation
    "num_archs": Rule("an integer >= 2, or all",
                      lambda v: v == "all" or (isinstance(v, int) and not isinstance(v, bool) and v >= 2)),
    "unique": flag(),
    "sample_seed": seed(),
    "num_test_images": integer(1),
    "batch_size": integer(1),
    "at_epochs": Rule("a list of epochs, e.g. [100, 200]",
                      lambda v: isinstance(v, list) and all(isinstance(e, int) and not isinstance(e, bool) for e in v)),
    "top_k": integer(1),
    "proxies": Rule(f"a list of zero-cost proxies from {', '.join(PROXIES)}",
                    lambda v: isinstance(v, list) and all(name in PROXIES for name in v)),
    "proxy_recipe": text(),  # that it has a network is checked when eval.proxies asks for one (lrnas.validation)
    "pool": one_of(POOLS),  # alpha_refresh needs a differentiable algorithm (lrnas.validation)
    "bn": one_of(BN_MODES),
    "bn_batches": integer(1),
}


@dataclass(frozen=True)
class EvalSample:
    """Architectures (official strings) with their ground truth and parameter counts, fixed for a run."""

    archs: list[str]
    ground_truth: np.ndarray
    params: np.ndarray
    pool_ground_truth: np.ndarray | None = None  # of the whole pool the sample is drawn from: P>random's ranks
    proxies: dict[str, np.ndarray] = field(default_factory=dict)  # eval.proxies: each zero-cost proxy's scores


def draw_eval_sample(benchmark, num_archs: int | str, seed: int, exclude: set[str], metric: str,
                     unique: bool = False) -> EvalSample:
    """A seeded uniform sample of ``num_archs`` (or ``"all"``) from ``benchmark.eval_pool``, never one in ``exclude``
    (landmarks); with ``unique``, one architecture per isomorphism class, none of a landmark's class.

    The pool is every NB201 cell, and NB101's uniformly sampled ``full`` subset (so tau is unbiased). It is shuffled by
    the evaluation-sample stream of ``seed`` (``eval.sample_seed``) and the first ``num_archs`` not excluded are taken,
    so landmarks chosen outside the plain sample leave it unchanged: runs with and without landmarks are scored on the
    same archs. A class's representative is its first member in that order.
    """
    order = list(benchmark.eval_pool)
    random.Random(stream_seed(seed, "eval_sample")).shuffle(order)
    if unique:  # each class's first member in the shuffled order; no class of an excluded arch
        classes = dict(zip(order, benchmark.isomorphism_classes(order), strict=True))
        taken = {classes[arch] for arch in exclude if arch in classes}
        representatives = []
        for arch in order:
            if classes[arch] not in taken:
                taken.add(classes[arch])
                representatives.append(arch)
        order = representatives
    archs = [arch for arch in order if arch not in exclude]
    archs = archs if num_archs == "all" else archs[:num_archs]
    if len(archs) < 2 or (num_archs != "all" and num_archs > len(archs)):
        raise ValueError(f"eval.num_archs={num_archs} must be between 2 and the {len(archs)} non-landmark "
                         f"architectures{' (isomorphism classes)' if unique else ''}")
    return EvalSample(archs, benchmark.accuracies(archs, metric), benchmark.params(archs),
                      benchmark.accuracies(order, metric))


# BatchNorm scores with the statistics of each evaluation batch (track_running_stats=False, as the authors), so a
# batch must hold enough images for them. Both super-nets classify 8x8 maps (32x32 inputs, downsampled twice): one
# image is normalised only against itself, BN becomes instance norm and removes each channel's per-image level, and
# every arch predicts (nearly) one class (batch 1 gave all 20 smoke archs the same 10.2%, tau NaN). A few images still
# leave each one scored relative to its batch-mates. Measured (C=16 super-net, 12 archs, 256 CIFAR-10 test images):
# Kendall tau between the archs' accuracies at batch b and at batch 256 is 0.36, 0.43, 0.68 for b = 2, 4, 8 and
# 0.78, 0.84, 0.78 for b = 16, 32, 64, the level set by batch composition alone; so 16 is the smallest batch whose
# statistics no longer change the ranking (BN's error also rises steeply below 16: Wu & He, Group Normalization, 2018).
MIN_EVAL_BATCH = 16


def evaluation_batches(count: int, batch_size: int) -> list[slice]:
    """``count`` images in batches of ``batch_size``; a last batch under MIN_EVAL_BATCH joins the one before it."""
    if count < MIN_EVAL_BATCH:
        raise ValueError(f"cannot score archs on {count} images: BatchNorm's batch statistics need >= "
                         f"{MIN_EVAL_BATCH} per batch (raise eval.num_test_images, search.num_images or "
                         "data.synthetic)")
    starts = list(range(0, count, batch_size))
    if count - starts[-1] < MIN_EVAL_BATCH:
        starts = starts[:-1] or [0]
    return [slice(start, end) for start, end in zip(starts, [*starts[1:], count], strict=True)]


@torch.inference_mode()
def supernet_accuracies(super_net, archs, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                        progress: bool = True, recalibration: Sequence[torch.Tensor] | None = None) -> np.ndarray:
    """Top-1 (%) of each single-path architecture on ``images`` (already normalised, on the model's device).

    BatchNorm keeps batch statistics in eval mode (no running stats), so the batch size matters: keep it large.
    ``recalibration`` (eval.bn=recalibrate): training batches whose statistics each architecture is scored with
    instead (lrnas.evaluation.bn_recalibration).
    """
    super_net.eval()
    correct = torch.zeros(len(archs), device=images.device, dtype=torch.long)
    batches = evaluation_batches(len(images), batch_size)
    with running_statistics(super_net) if recalibration else nullcontext() as norms:
        for i, arch in enumerate(tqdm(archs, desc="scoring archs", unit="arch", leave=False, disable=not progress)):
            if recalibration:
                recalibrate(super_net, arch, recalibration, norms)
            for batch in batches:
                correct[i] += (super_net(images[batch], arch).argmax(1) == labels[batch]).sum()
    return 100.0 * correct.cpu().numpy() / len(images)


def evaluate_ranking(super_net, space, sample: EvalSample, images, labels, batch_size: int, top_k: int,
                     landmarks=(), recalibration: Sequence[torch.Tensor] | None = None) -> dict:
    """Ranking metrics of the super-net on ``sample`` plus the parameter-count baseline on the same sample, and,
    when there are landmarks, Kendall tau on the landmarks themselves (how well the regularizer fits them);
    ``recalibration``: see supernet_accuracies."""
    accuracies = supernet_accuracies(super_net, [space.parse_arch(a) for a in sample.archs], images, labels, batch_size,
                                     recalibration=recalibration)
    metrics = ranking_metrics(accuracies, sample.ground_truth, top_k, sample.pool_ground_truth)
    metrics["param_count_kendall_tau"] = kendall_tau(sample.params, sample.ground_truth)
    metrics["param_count_sparse_kendall_tau"] = sparse_kendall_tau(sample.params, sample.ground_truth)
    metrics["param_count_spearman_rho"] = spearman_rho(sample.params, sample.ground_truth)
    for name, scores in sample.proxies.items():  # free rankings on the same sample, beside the parameter count
        metrics[f"{name}_kendall_tau"] = kendall_tau(scores, sample.ground_truth)
        metrics[f"{name}_sparse_kendall_tau"] = sparse_kendall_tau(scores, sample.ground_truth)
        metrics[f"{name}_spearman_rho"] = spearman_rho(scores, sample.ground_truth)
    metrics["mean_supernet_accuracy"] = float(accuracies.mean())
    if landmarks:
        fitted = supernet_accuracies(super_net, [space.parse_arch(lm.arch) for lm in landmarks], images, labels,
                                     batch_size, recalibration=recalibration)
        truth = [lm.accuracy for lm in landmarks]
        reason = tie_reason(fitted, truth, "landmark ")
        metrics["landmark_kendall_tau"] = None if reason else kendall_tau(fitted, truth)
        if reason:
            metrics["landmark_kendall_tau_undefined"] = reason
        metrics["num_landmarks"] = len(landmarks)
    return {"metrics": metrics, "supernet_accuracy": accuracies,
            "landmark_accuracy": fitted if landmarks else np.array([])}
