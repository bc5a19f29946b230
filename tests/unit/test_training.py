"""The training step itself: a non-finite loss stops the run naming epoch, step and architecture."""
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

    def num_batches(self, batch_size):
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
    batches.num_batches = lambda batch_size: 1
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
    batches.num_batches = lambda batch_size: 4
    row = trainer.train_epoch(batches, 8, torch.Generator(), 1, 1)
    assert sizes == [4, 4]  # steps 2 and 4 only, on 4-image held-out batches
    assert row["landmark_lambda"] == 10.0 and row["landmark_penalty"] > 0  # softplus is never exactly zero
