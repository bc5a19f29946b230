"""The landmark term inside a training step: gradient direction, accumulation, skipped zero hinges, exclusion."""
import random

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from lrnas.evaluation.ranking import draw_eval_sample
from lrnas.landmarks import Landmark, LandmarkRegularizer
from lrnas.landmarks.refinement import refinement_epochs
from lrnas.spaces import build_supernet, nb201
from lrnas.spaces.nb201.benchmark import load_nb201

ARCH_A = ("nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "avg_pool_3x3")
ARCH_B = nb201.parse_arch("|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|")


def regularizer_cfg(**overrides):
    base = dict(lam=10.0, schedule="constant", reach_nominal=False, warmup_epochs=0, ramp_epochs=0, penalty="hinge",
                beta=1.0, margin=1.0, gap_weighted=False, pair_procedure="random_pairs", num_pairs=1, adjacent_step=1,
                every_k_steps=1, landmark_batch_size=None)
    return OmegaConf.create({**base, **overrides})


def setup(seed=0):
    torch.manual_seed(seed)
    net = build_supernet("nb201", C=4, N=1)
    images = torch.randn(16, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (16,))
    return net, images, labels


def losses(net, images, labels):
    with torch.no_grad():
        return tuple(F.cross_entropy(net(images, arch), labels).item() for arch in (ARCH_A, ARCH_B))


def regularizer_for(better, **cfg):
    """Two landmarks; ``better`` names the one with the higher ground truth."""
    worse = ARCH_B if better is ARCH_A else ARCH_A
    landmarks = [Landmark(nb201.format_arch(worse), 80.0), Landmark(nb201.format_arch(better), 90.0)]
    return LandmarkRegularizer(landmarks, [worse, better], regularizer_cfg(**cfg), 10, random.Random(0))


def flat_grad(net):
    return torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])


def test_one_step_on_a_violated_pair_shrinks_the_loss_gap():
    net, images, labels = setup()
    loss_a, loss_b = losses(net, images, labels)
    better = ARCH_A if loss_a > loss_b else ARCH_B  # declare the higher-loss arch better: the pair is violated
    regularizer = regularizer_for(better)
    stats = regularizer.backward(net, images, labels, lam=10.0)
    assert stats["violated"].item() == 1 and stats["penalty"].item() == pytest.approx(abs(loss_a - loss_b), rel=1e-4)
    gap_before = abs(loss_a - loss_b)
    torch.optim.SGD(net.parameters(), lr=0.001).step()
    new_a, new_b = losses(net, images, labels)
    gap_after = (new_a - new_b) if better is ARCH_A else (new_b - new_a)
    assert gap_after < gap_before


def test_swapping_the_ground_truth_order_flips_the_gradient():
    net, images, labels = setup()
    # A margin larger than any loss gap keeps both orders active, so the two gradients are exact opposites.
    regularizer_for(ARCH_A, penalty="margin_hinge", margin=100.0).backward(net, images, labels, 1.0)
    grad_a_better = flat_grad(net).clone()
    net.zero_grad(set_to_none=True)
    regularizer_for(ARCH_B, penalty="margin_hinge", margin=100.0).backward(net, images, labels, 1.0)
    grad_b_better = flat_grad(net)
    assert grad_a_better.norm() > 0
    torch.testing.assert_close(grad_a_better, -grad_b_better, rtol=1e-4, atol=1e-6)


def test_landmark_gradient_accumulates_onto_the_algorithm_gradient():
    net, images, labels = setup()
    loss_a, loss_b = losses(net, images, labels)
    better = ARCH_A if loss_a > loss_b else ARCH_B
    F.cross_entropy(net(images, ARCH_A), labels).backward()
    algorithm_grad = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in net.parameters()]
    regularizer_for(better).backward(net, images, labels, lam=10.0)
    total = [p.grad if p.grad is not None else torch.zeros_like(p) for p in net.parameters()]
    net.zero_grad(set_to_none=True)
    regularizer_for(better).backward(net, images, labels, lam=10.0)
    alone = [p.grad if p.grad is not None else torch.zeros_like(p) for p in net.parameters()]
    for t, a, g in zip(total, algorithm_grad, alone, strict=True):
        torch.testing.assert_close(t, a + g)


def test_skipped_zero_hinge_leaves_exactly_the_gradients_a_backward_pass_would():
    net, images, labels = setup()
    loss_a, loss_b = losses(net, images, labels)
    better = ARCH_A if loss_a < loss_b else ARCH_B  # already ordered: zero hinge, zero gradient
    # margin_hinge with margin 0 is the same function but always back-propagates: the reference.
    regularizer_for(better, penalty="margin_hinge", margin=0.0).backward(net, images, labels, lam=10.0)
    reference = {name: p.grad for name, p in net.named_parameters()}
    net.zero_grad(set_to_none=True)
    stats = regularizer_for(better).backward(net, images, labels, lam=10.0)
    assert stats["violated"].item() == 0 and stats["penalty"].item() == 0
    assert any(g is not None for g in reference.values())
    for name, p in net.named_parameters():  # same parameters touched (weight decay and momentum see them) ...
        assert (p.grad is None) == (reference[name] is None), name
        if p.grad is not None:  # ... with the same, zero, gradient
            assert torch.equal(p.grad, reference[name]) and not p.grad.any()


def test_refinement_grows_the_set_sorted_worst_to_best():
    net, images, labels = setup()
    regularizer = regularizer_for(ARCH_A)
    middle = nb201.sample_arch(random.Random(5))
    regularizer.add_landmarks([Landmark(nb201.format_arch(middle), 85.0)], [middle])
    assert [lm.accuracy for lm in regularizer.landmarks] == [80.0, 85.0, 90.0]
    assert regularizer.archs[1] == middle and regularizer.archs[2] == ARCH_A


def test_refinement_epochs_are_evenly_spaced_and_never_the_last():
    assert refinement_epochs(12, 2) == {4, 8}
    assert refinement_epochs(10, 1) == {5}
    assert refinement_epochs(10, 0) == set()


def test_eval_sample_never_holds_a_landmark_and_is_unchanged_by_outside_landmarks():
    benchmark = load_nb201()
    plain = draw_eval_sample(benchmark, 200, 0, set(), "cifar10_test")
    outside = set(random.Random(1).sample([a for a in benchmark.archs if a not in set(plain.archs)], 30))
    assert draw_eval_sample(benchmark, 200, 0, outside, "cifar10_test").archs == plain.archs
    inside = set(plain.archs[:10])  # e.g. user landmarks from a file that overlap the sample
    excluded = draw_eval_sample(benchmark, 200, 0, inside, "cifar10_test")
    assert len(excluded.archs) == 200 and not inside & set(excluded.archs)


# ---------------------------------------------------------------- the landmark term inside SuperNetTrainer

WEIGHTS_IMAGES = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(1)).contiguous(
    memory_format=torch.channels_last)
HELD_OUT_IMAGES = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(2)).contiguous(
    memory_format=torch.channels_last)
STEP_LABELS = torch.arange(8) % 10


class WeightsHalf:
    """Stands in for the weights half: one batch, always ``WEIGHTS_IMAGES`` (its ``sample`` too)."""

    def __len__(self):
        return 8

    def num_batches(self, batch_size, drop_last=True):
        return 1

    def epoch_order(self, generator):
        return torch.arange(8)

    def batch(self, idx, generator, augment=True):
        return WEIGHTS_IMAGES.clone(), STEP_LABELS.clone()

    def sample(self, batch_size, generator, augment=True):
        return WEIGHTS_IMAGES[:batch_size].clone(), STEP_LABELS[:batch_size].clone()


class HeldOutHalf(WeightsHalf):
    """The held-out half: every batch is ``HELD_OUT_IMAGES``; the regularizer's input tells which half it used."""

    def batch(self, idx, generator, augment=True):
        return HELD_OUT_IMAGES.clone(), STEP_LABELS.clone()

    def sample(self, batch_size, generator, augment=True):
        return HELD_OUT_IMAGES[:batch_size].clone(), STEP_LABELS[:batch_size].clone()


def one_trainer_step(with_landmarks, grad_clip, lr=1.0):
    """One SPOS step (lr constant, no momentum or decay) from the seed-0 net; returns (update, regularizer inputs)."""
    from lrnas.algorithms import SPOS
    from lrnas.training import SuperNetTrainer, build_optimizer

    net, _, _ = setup()
    before = [p.detach().clone() for p in net.parameters()]
    cfg = OmegaConf.create({"lr": lr, "min_lr": lr, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False})
    optimizer, scheduler = build_optimizer(net, cfg, 1)
    seen = []
    regularizer = None
    if with_landmarks:  # margin_hinge with a huge margin: always active, so the landmark gradient is never zero
        regularizer = regularizer_for(ARCH_A, penalty="margin_hinge", margin=100.0)
        backward = regularizer.backward

        def spy(super_net, images, labels, lam):
            seen.append((images.clone(), labels.clone(), lam))
            return backward(super_net, images, labels, lam)
        regularizer.backward = spy
    trainer = SuperNetTrainer(net, SPOS(nb201, random.Random(0)), optimizer, scheduler, grad_clip, regularizer,
                              HeldOutHalf(), torch.Generator())
    trainer.train_epoch(WeightsHalf(), 8, torch.Generator(), epoch=1, epochs=1)
    return [p.detach() - b for p, b in zip(net.parameters(), before, strict=True)], seen


def landmark_gradient_alone(lam):
    """The landmark term's gradient on the held-out batch, computed directly from the seed-0 net."""
    net, _, _ = setup()
    net.train()
    regularizer_for(ARCH_A, penalty="margin_hinge", margin=100.0).backward(net, HELD_OUT_IMAGES, STEP_LABELS, lam)
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in net.parameters()]


def test_trainer_adds_lambda_times_the_landmark_gradient_from_the_held_out_half():
    plain, _ = one_trainer_step(False, grad_clip=1e9)
    regularized, seen = one_trainer_step(True, grad_clip=1e9)
    assert len(seen) == 1
    images, labels, lam = seen[0]
    assert lam == 10.0  # constant schedule, λ = 10
    assert torch.equal(images, HELD_OUT_IMAGES) and torch.equal(labels, STEP_LABELS)  # the held-out half's batch
    assert not torch.equal(images, WEIGHTS_IMAGES)
    # With lr 1 and no clipping, the regularized update minus the plain one is exactly -λ ∇ f(L_b - L_a).
    expected = landmark_gradient_alone(10.0)
    assert sum(g.norm() for g in expected) > 0
    for r, p, g in zip(regularized, plain, expected, strict=True):
        torch.testing.assert_close(r - p, -g, rtol=1e-3, atol=1e-5)


def test_landmark_gradient_is_added_before_clipping():
    clip = 1e-3
    unclipped, _ = one_trainer_step(True, grad_clip=1e9)  # lr 1: -(algorithm gradient + landmark gradient)
    clipped, _ = one_trainer_step(True, grad_clip=clip, lr=1 / clip)  # lr 1/clip: a unit-norm update if clipped
    total_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(u) for u in unclipped]))
    assert total_norm > 100 * clip
    # The clipped step is the whole (algorithm + landmark) gradient scaled to norm `clip`: the landmark term is
    # inside the clipped norm, not added afterwards.
    for c, u in zip(clipped, unclipped, strict=True):
        torch.testing.assert_close(c, u / total_norm, rtol=1e-3, atol=1e-6)
    clipped_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(c) for c in clipped]))
    assert clipped_norm.item() == pytest.approx(1.0, rel=1e-3)


def test_gap_weighted_backward_scales_the_penalty_and_gradient_by_the_normalised_gap():
    from lrnas.landmarks.regularizer import sample_pairs

    third = nb201.sample_arch(random.Random(3))
    archs, accuracies = [ARCH_A, ARCH_B, third], [70.0, 75.0, 90.0]  # pair weights 0.25, 0.75 and 1
    landmarks = [Landmark(nb201.format_arch(a), acc) for a, acc in zip(archs, accuracies, strict=True)]
    ((a, b),) = sample_pairs("random_pairs", 3, random.Random(0))
    weight = abs(accuracies[b] - accuracies[a]) / (90.0 - 70.0)
    assert weight != 1.0  # the seed's pair must have a weight that shows

    def run(gap_weighted):
        net, images, labels = setup()
        cfg = regularizer_cfg(penalty="margin_hinge", margin=100.0, gap_weighted=gap_weighted)
        stats = LandmarkRegularizer(landmarks, archs, cfg, 10, random.Random(0)).backward(net, images, labels, 1.0)
        return stats["penalty"].item(), [p.grad.clone() for p in net.parameters() if p.grad is not None]

    penalty, grads = run(False)
    weighted_penalty, weighted_grads = run(True)
    assert weighted_penalty == pytest.approx(weight * penalty, rel=1e-5)
    assert sum(g.norm() for g in grads) > 0
    for w, g in zip(weighted_grads, grads, strict=True):
        torch.testing.assert_close(w, weight * g, rtol=1e-4, atol=1e-6)
