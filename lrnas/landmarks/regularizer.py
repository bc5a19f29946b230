"""Landmark ranking regularizer: pair sampling, the penalty f, and the coefficient schedule.

Landmarks are sorted worst (index 0) to best, so in a pair ``(a, b)`` with ``a < b`` landmark ``b`` is the better
one and the super-net is penalised when its loss ``L_b`` exceeds ``L_a``: ``lam_t * f(L_b - L_a)``. One training
step, after the algorithm's own loss has been back-propagated (gradients accumulate), as in the authors'
``darts_train_model_with_landmark_regularization`` (kcyu2014/nas-landmarkreg,
nasws/cnn/procedures/landmark_procedures.py)::

    lam_t = lambda_at("cosine_increase", epoch, total_epochs=400, warmup_epochs=150)
    for a, b in sample_pairs("random_pairs", len(landmarks), rng):
        (lam_t * ranking_penalty(loss_of(landmarks[b]), loss_of(landmarks[a]))).backward()
    clip_grad_norm_(params, 5.0); optimizer.step()

    >>> import random
    >>> sample_pairs("all_pairs", 3, random.Random(0))
    [(0, 1), (0, 2), (1, 2)]
    >>> round(lambda_at("cosine_increase", epoch=399, total_epochs=400, warmup_epochs=150, lam=10.0), 2)
    6.91
    >>> lambda_at("cosine_increase", epoch=399, total_epochs=400, warmup_epochs=150, lam=10.0, reach_nominal=True)
    10.0
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..config_rules import flag, integer, non_negative, one_of, optional, positive

PAIR_PROCEDURES = ("random_pairs", "all_pairs", "adjacent_pairs", "random_triplet")
PENALTIES = ("hinge", "softplus", "logistic", "margin_hinge")
SCHEDULES = ("constant", "cosine_increase", "cosine_decrease", "linear_step_increase", "linear_step_decrease")
# regularizer.* of each option, conf/regularizer/NAME.yaml (lrnas.config_rules); lrnas.train dispatches on the name.
REGULARIZER_RULES = {
    "none": {},
    "landmark": {
        "lam": non_negative(),
        "schedule": one_of(SCHEDULES),
        "reach_nominal": flag(),
        "warmup_epochs": integer(0),
        "schedule_epochs": optional(integer(1)),  # warm-up < it <= trainer.epochs: lrnas.validation
        "ramp_epochs": integer(0),
        "penalty": one_of(PENALTIES),
        "beta": positive(),
        "margin": non_negative(),
        "gap_weighted": flag(),
        "pair_procedure": one_of(PAIR_PROCEDURES),
        "num_pairs": integer(1),
        "adjacent_step": integer(1),
        "every_k_steps": integer(1),
        "landmark_batch_size": optional(integer(1)),
    },
}


def sample_pairs(
    procedure: str, num_landmarks: int, rng: random.Random, num_pairs: int = 1, step: int = 1
) -> list[tuple[int, int]]:
    """Landmark index pairs ``(a, b)`` with ``a < b`` (``b`` better), per the authors' procedures.

    - ``random_pairs``: ``num_pairs`` independent draws ``a = randint(0, M-2); b = randint(a+1, M-1)`` (inclusive
      randint, exactly the authors' ``random_pairwise_loss_step``), so P(a) = 1/(M-1) and P(b | a) = 1/(M-1-a).
    - ``all_pairs``: every ``a < b`` in order (0,1), (0,2), ..., (M-2, M-1); ``pairwise_loss`` without adjacency.
    - ``adjacent_pairs``: every pair at most ``step`` ranks apart, ``(i, j)`` for ``i < j <= i + step``, in the same
      order; the authors' ``landmark_loss_adjacent`` with ``landmark_loss_adjacent_step`` (step 1 = neighbours).
    - ``random_triplet``: ``num_pairs`` draws of three distinct sorted indices ``i < j < k``, each giving
      ``(i, j)`` and ``(j, k)`` (the authors' ``random_three_pairwise_loss_step``; ``(i, k)`` is not used).
    """
    if procedure not in PAIR_PROCEDURES:
        raise ValueError(f"regularizer.pair_procedure={procedure!r} is unknown; valid: {', '.join(PAIR_PROCEDURES)}")
    need = 3 if procedure == "random_triplet" else 2
    if num_landmarks < need:
        raise ValueError(f"regularizer.pair_procedure={procedure!r} needs >= {need} landmarks, got {num_landmarks}")
    if num_pairs < 1 or step < 1:
        raise ValueError(f"regularizer.num_pairs={num_pairs} and regularizer.adjacent_step={step} must be >= 1")
    m = num_landmarks
    if procedure == "random_pairs":
        pairs = []
        for _ in range(num_pairs):
            a = rng.randint(0, m - 2)
            pairs.append((a, rng.randint(a + 1, m - 1)))
        return pairs
    if procedure == "random_triplet":
        pairs = []
        for _ in range(num_pairs):
            i, j, k = sorted(rng.sample(range(m), 3))
            pairs += [(i, j), (j, k)]
        return pairs
    reach = step if procedure == "adjacent_pairs" else m
    return [(a, b) for a in range(m - 1) for b in range(a + 1, min(a + 1 + reach, m))]


def ranking_penalty(
    loss_better: torch.Tensor,
    loss_worse: torch.Tensor,
    kind: str = "hinge",
    beta: float = 1.0,
    margin: float = 1.0,
    gap_weight: float | None = None,
) -> torch.Tensor:
    """``f(L_b - L_a)``: zero (hinge) or small when the better landmark already has the lower loss.

    - ``hinge``: ``relu(x)``, the authors' default ``mae_relu``.
    - ``softplus``: ``(1/beta) * log(1 + exp(beta * x))`` (torch softplus); the authors use beta 1, 3, 5, 7.
    - ``logistic``: ``-log(1 - sigmoid(x)) = log(1 + exp(x))``, the authors' ``crossentropy`` loss; it equals
      softplus with beta 1 and is computed that way for numerical stability.
    - ``margin_hinge``: ``relu(x + margin)``; the authors' ``hinge_sign_infinite`` is this with margin 1.
    - ``gap_weight`` (see :func:`normalised_gap`) multiplies the result, the authors' ``landmark_loss_weighted=embed``.
    """
    x = loss_better - loss_worse
    if kind == "hinge":
        out = F.relu(x)
    elif kind == "softplus":
        out = F.softplus(x, beta=beta)
    elif kind == "logistic":
        out = F.softplus(x)
    elif kind == "margin_hinge":
        out = F.relu(x + margin)
    else:
        raise ValueError(f"regularizer.penalty={kind!r} is unknown; valid: {', '.join(PENALTIES)}")
    return out if gap_weight is None else gap_weight * out


def normalised_gap(accuracies: Sequence[float], a: int, b: int) -> float:
    """``|acc_b - acc_a| / (max - min)`` over the landmark set: the authors min-max normalise the landmarks'
    ground truth to [0, 1] and weight a pair by the absolute difference (``CNNSearchSpace.landmark_weights``)."""
    span = max(accuracies) - min(accuracies)
    if span <= 0:
        raise ValueError("regularizer.gap_weighted needs landmarks with different accuracies; all are equal")
    return abs(accuracies[b] - accuracies[a]) / span


def lambda_at(
    schedule: str,
    epoch: float,
    total_epochs: int,
    warmup_epochs: int,
    lam: float = 10.0,
    reach_nominal: bool = False,
    ramp_epochs: int = 0,
) -> float:
    """The regularizer coefficient while training ``epoch`` (0-based, as the authors' ``range(epochs)`` loop).

    Zero before ``warmup_epochs``. With ``t = epoch - warmup_epochs`` and ``T = total_epochs - warmup_epochs``
    (the authors' ``adjust_landmark_coef``, called once per epoch with its default ``batch_idx=1``, hence ``t + 1``):

    - ``constant``: ``lam``.
    - ``cosine_increase`` (paper): ``lam * (1 - cos(pi * (t + 1) / total_epochs)) / 2``. Dividing by all epochs rather
      than ``T`` means it never reaches ``lam``: 0.691 lam at the last epoch (399) of 400 with 150 warm-up.
      ``reach_nominal=True`` divides by ``T`` instead, so the last epoch gets exactly ``lam``.
    - ``cosine_decrease``: ``lam * (1 + cos(pi * (t + 1) / T)) / 2``, already over ``T`` (0 at the last epoch);
      ``reach_nominal`` does not change it.
    - ``linear_step_increase`` / ``linear_step_decrease``: ``lam`` times 0, 0.01, 0.1, 1 / 1, 0.1, 0.01, 0.001 over
      the quarters ``t < T//4``, ``t < T//2``, ``t < (T//4)*3``, rest.
    - ``ramp_epochs`` (the authors' ``landmark_warmup_epoch``; 0 = off, their NB201 ablation script used 10): for the
      schedules without "increase" in the name, the first ``ramp_epochs`` regularised epochs get
      ``lam * (t + 2) / (ramp_epochs + 1)`` and the schedule then runs over the remaining ``T - ramp_epochs``.
    - Epochs past ``total_epochs`` (``regularizer.schedule_epochs`` shorter than the run) keep the schedule's last
      value.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"regularizer.schedule={schedule!r} is unknown; valid: {', '.join(SCHEDULES)}")
    if epoch < warmup_epochs:
        return 0.0
    t, span = epoch - warmup_epochs, total_epochs - warmup_epochs
    if "increase" not in schedule and ramp_epochs > 0:
        if t < ramp_epochs:
            return lam * (t + 2) / (ramp_epochs + 1)
        t, span = t - ramp_epochs, span - ramp_epochs
    if schedule == "constant":
        factor = 1.0
    elif schedule == "cosine_increase":
        factor = (1 - math.cos(math.pi * min(1.0, (t + 1) / (span if reach_nominal else total_epochs)))) / 2
    elif schedule == "cosine_decrease":
        factor = (1 + math.cos(math.pi * min(1.0, (t + 1) / span))) / 2
    else:
        levels = (0.0, 0.01, 0.1, 1.0) if schedule == "linear_step_increase" else (1.0, 0.1, 0.01, 0.001)
        bounds = (span // 4, span // 2, span // 4 * 3)  # the authors' if/elif chain, quirks of tiny T included
        factor = levels[next((i for i, bound in enumerate(bounds) if t < bound), 3)]
    return lam * factor


def schedule_epochs(reg, run_epochs: int) -> int:
    """The epochs λ's schedule spans: ``regularizer.schedule_epochs``, or the whole run (null, the default)."""
    return reg.get("schedule_epochs") or run_epochs


class LandmarkRegularizer:
    """Applies ``lam_t * f(L_b - L_a)`` for sampled landmark pairs on one held-out batch, inside a training step.

    ``landmarks`` are sorted worst to best; ``archs`` are the same landmarks parsed for the super-net.
    ``reg`` is the ``regularizer`` config group (see conf/regularizer/landmark.yaml for every key).
    """

    # Penalties that are exactly zero (with exactly zero gradient) for a correctly ordered pair.
    ZERO_WHEN_ORDERED = ("hinge",)

    def __init__(self, landmarks, archs, reg, total_epochs: int, rng: random.Random):
        self.reg, self.total_epochs, self.rng = reg, schedule_epochs(reg, total_epochs), rng
        self.set_landmarks(landmarks, archs)

    def add_landmarks(self, landmarks, archs) -> None:
        """Iterative refinement: grow the set and keep it sorted worst to best."""
        self.set_landmarks(self.landmarks + list(landmarks), self.archs + list(archs))

    def set_landmarks(self, landmarks, archs) -> None:
        merged = sorted(zip(landmarks, archs, strict=True), key=lambda pair: (pair[0].accuracy, pair[0].arch))
        self.landmarks, self.archs = [lm for lm, _ in merged], [arch for _, arch in merged]
        self.accuracies = [landmark.accuracy for landmark in self.landmarks]

    def coefficient(self, epoch: int) -> float:
        """lam_t for the 0-based ``epoch``."""
        reg = self.reg
        return lambda_at(reg.schedule, epoch, self.total_epochs, reg.warmup_epochs, reg.lam,
                         reach_nominal=reg.reach_nominal, ramp_epochs=reg.ramp_epochs)

    def backward(self, super_net, images: torch.Tensor, labels: torch.Tensor, lam: float) -> dict[str, torch.Tensor]:
        """Back-propagate ``lam * sum f(L_b - L_a)``, accumulating onto the algorithm's gradients; return stats."""
        reg = self.reg
        pairs = sample_pairs(reg.pair_procedure, len(self.archs), self.rng, reg.num_pairs, reg.adjacent_step)
        # Each landmark's loss is computed once per step, on the same batch, even if it is in several pairs.
        losses = {i: F.cross_entropy(super_net(images, self.archs[i]), labels) for i in sorted({*sum(pairs, ())})}
        penalty = sum(
            ranking_penalty(
                losses[b], losses[a], reg.penalty, reg.beta, reg.margin,
                normalised_gap(self.accuracies, a, b) if reg.gap_weighted else None,
            )
            for a, b in pairs
        )
        violated = sum((losses[b] > losses[a]).float() for a, b in pairs)
        # A zero hinge has an exactly zero gradient, so on CPU its backward pass is skipped and the landmark paths'
        # parameters just get the zero gradients it would have left (so weight decay and momentum see the same
        # update): about a third less work per step once the super-net orders most pairs. On CUDA the check would
        # cost a host sync per step, more than the skipped backward of these small nets.
        skippable = reg.penalty in self.ZERO_WHEN_ORDERED and images.device.type == "cpu"
        if skippable and not bool(violated):
            for i in losses:
                for p in super_net.path_parameters(self.archs[i]):
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
        else:
            (lam * penalty).backward()
        return {"penalty": penalty.detach(), "violated": violated.detach(), "pairs": len(pairs)}
