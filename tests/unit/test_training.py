"""The training step itself: a non-finite loss stops the run naming epoch, step and architecture."""
import math
import random

import pytest
import torch
from omegaconf import OmegaConf

from lrnas.algorithms import SPOS
from lrnas.spaces import build_supernet, nb201
from lrnas.training import NonFiniteLossError, SuperNetTrainer, build_optimizer


class PoisonedBatches:
    """Stands in for DeviceBatches: 4 finite batches, then one full of NaN."""

    labels = torch.zeros(8, dtype=torch.long)

    def __len__(self):
        return 40

    def num_batches(self, batch_size, drop_last=True):
        return 5

    def epoch_order(self, generator):
        return torch.arange(40)

    def batch(self, idx, generator, augment=True):
        images = torch.randn(len(idx), 3, 32, 32)
        if idx[0] >= 32:
            images[:] = float("nan")
        return images.contiguous(memory_format=torch.channels_last), torch.zeros(len(idx), dtype=torch.long)


def test_non_finite_loss_names_epoch_step_and_architecture():
    torch.manual_seed(0)
    net = build_supernet("nb201", C=4, N=1)
    cfg = OmegaConf.create({"lr": 0.01, "min_lr": 0.0, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False})
    optimizer, scheduler = build_optimizer(net, cfg, 5)
    algorithm = SPOS(nb201, random.Random(0))
    trainer = SuperNetTrainer(net, algorithm, optimizer, scheduler, grad_clip=5.0)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss nan at epoch 3, step 5, architecture \|") as info:
        trainer.train_epoch(PoisonedBatches(), 8, torch.Generator(), epoch=3, epochs=4)
    assert "\n" not in str(info.value)
    rng = random.Random(0)
    fifth = [nb201.format_arch(nb201.sample_arch(rng)) for _ in range(5)][-1]
    assert str(info.value).endswith(fifth)  # the fifth sampled path met the NaN batch


class RandomBatches(PoisonedBatches):
    def batch(self, idx, generator, augment=True):
        return torch.randn(len(idx), 3, 32, 32).contiguous(memory_format=torch.channels_last), idx % 10


class ScriptedSpace:
    """NB201 whose "uniform samples" follow a script, to know which ops each step touched."""

    format_arch = staticmethod(nb201.format_arch)

    def __init__(self, archs):
        self.archs = iter(archs)

    def sample_arch(self, rng):
        return next(self.archs)


@pytest.mark.parametrize("set_grads_to_none", [True, False])
def test_ops_off_the_path_are_frozen_only_when_gradients_are_set_to_none(set_grads_to_none):
    torch.manual_seed(0)
    net = build_supernet("nb201", C=4, N=1)
    cfg = OmegaConf.create({"lr": 0.1, "min_lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": False})
    optimizer, scheduler = build_optimizer(net, cfg, 5)
    conv_path, skip_path = ("nor_conv_3x3",) * 6, ("skip_connect",) * 6
    algorithm = SPOS(ScriptedSpace([conv_path, skip_path]), random.Random(0))
    trainer = SuperNetTrainer(net, algorithm, optimizer, scheduler, 5.0, set_grads_to_none=set_grads_to_none)
    conv = net.layers[0].ops[0]["nor_conv_3x3"][1].weight  # edge 1<-0's 3x3 conv: used in step 1 only
    batches = RandomBatches()
    batches.num_batches = lambda batch_size, drop_last=True: 1
    trainer.train_epoch(batches, 8, torch.Generator(), 1, 2)  # step 1: the conv path
    after_first = conv.detach().clone()
    trainer.train_epoch(batches, 8, torch.Generator(), 2, 2)  # step 2: the skip path only
    assert torch.equal(conv, after_first) == set_grads_to_none


def test_regularizer_cost_knobs_every_k_steps_and_landmark_batch_size():
    from lrnas.landmarks import Landmark, LandmarkRegularizer

    torch.manual_seed(0)
    net = build_supernet("nb201", C=4, N=1)
    cfg = OmegaConf.create({"lr": 0.01, "min_lr": 0.0, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False})
    optimizer, scheduler = build_optimizer(net, cfg, 4)
    archs = [nb201.sample_arch(random.Random(i)) for i in range(3)]
    landmarks = [Landmark(nb201.format_arch(a), 80.0 + i) for i, a in enumerate(archs)]
    reg = OmegaConf.create({"lam": 10.0, "schedule": "constant", "reach_nominal": False, "warmup_epochs": 0,
                            "ramp_epochs": 0, "penalty": "softplus", "beta": 1.0, "margin": 1.0, "gap_weighted": False,
                            "pair_procedure": "random_pairs", "num_pairs": 1, "adjacent_step": 1, "every_k_steps": 2,
                            "landmark_batch_size": 4})
    sizes = []

    class HeldOut:
        def sample(self, batch_size, generator):
            sizes.append(batch_size)
            return RandomBatches().batch(torch.arange(batch_size), generator)

    regularizer = LandmarkRegularizer(landmarks, archs, reg, 1, random.Random(0))
    trainer = SuperNetTrainer(net, SPOS(nb201, random.Random(0)), optimizer, scheduler, 5.0, regularizer, HeldOut(),
                              torch.Generator())
    batches = RandomBatches()
    batches.num_batches = lambda batch_size, drop_last=True: 4
    row = trainer.train_epoch(batches, 8, torch.Generator(), 1, 1)
    assert sizes == [4, 4]  # steps 2 and 4 only, on 4-image held-out batches
    assert row["landmark_lambda"] == 10.0 and row["landmark_penalty"] > 0  # softplus is never exactly zero


class CountingSPOS(SPOS):
    """SPOS that records each step's batch size and the learning rate it trained with."""

    def __init__(self, optimizer):
        super().__init__(nb201, random.Random(0))
        self.optimizer, self.steps = optimizer, []

    def backward(self, super_net, images, labels):
        self.steps.append((len(labels), self.optimizer.param_groups[0]["lr"]))
        return super().backward(super_net, images, labels)


@pytest.mark.parametrize("lr_step,drop_last", [("step", True), ("epoch", False)])
def test_lr_step_and_drop_last_shape_the_epoch(lr_step, drop_last):
    """trainer.lr_step=epoch keeps one lr through an epoch (the authors' CosineAnnealingLR(T_max=epochs));
    trainer.drop_last=false trains the last, partial batch too (their DataLoader): 20 images, batch 8: 2 or 3 steps."""
    from lrnas.data import DeviceBatches

    torch.manual_seed(0)
    net = build_supernet("nb201", C=4, N=1)
    batches = DeviceBatches(torch.randint(0, 255, (20, 32, 32, 3), dtype=torch.uint8).numpy(),
                            torch.arange(20) % 10, device="cpu")
    epochs, per_epoch = 2, batches.num_batches(8, drop_last)
    cfg = OmegaConf.create({"lr": 0.1, "min_lr": 0.0, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False})
    optimizer, scheduler = build_optimizer(net, cfg, epochs * (1 if lr_step == "epoch" else per_epoch))
    algorithm = CountingSPOS(optimizer)
    trainer = SuperNetTrainer(net, algorithm, optimizer, scheduler, 5.0, lr_per_epoch=lr_step == "epoch",
                              drop_last=drop_last)
    for epoch in range(1, epochs + 1):
        trainer.train_epoch(batches, 8, torch.Generator().manual_seed(epoch), epoch, epochs)
    sizes, lrs = zip(*algorithm.steps, strict=True)
    assert sizes == ((8, 8) * 2 if drop_last else (8, 8, 4) * 2)
    if lr_step == "epoch":  # cosine over 2 epochs: 0.1 for the first, 0.05 for the second
        assert lrs == pytest.approx((0.1,) * 3 + (0.05,) * 3)
    else:  # cosine over 4 steps: 0.1, 0.0854, 0.05, 0.0146
        assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * step / 4)) for step in range(4)])
