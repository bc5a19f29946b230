"""DARTS's evaluation network and the stand-alone trainer's generic recipe keys (cutout, auxiliary loss, grad clip,
start_epoch, params_m), with a tiny DARTS landmark build on synthetic data."""
import json
import random
import signal

import numpy as np
import pytest
import torch
from conftest import compose_config
from omegaconf import OmegaConf

from lrnas.data import DeviceBatches, to_float_normalized
from lrnas.data.augment import cutout
from lrnas.resume import Interrupted
from lrnas.spaces.darts.network import DARTSNetwork, drop_path
from lrnas.standalone.training import parameter_count, train_standalone

# DARTS_V2 (quark0/darts cnn/genotypes.py:75), written out in lrnas's (normal, reduce) notation by hand.
DARTS_V2 = (
    (("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
     ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)),
    (("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
     ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)),
)
# Every op once, and a stride-2 skip_connect (FactorizedReduce) and sep/dil convs in the reduction cell.
MIXED = (
    (("max_pool_3x3", 0), ("avg_pool_3x3", 1), ("skip_connect", 2), ("sep_conv_3x3", 0),
     ("sep_conv_5x5", 3), ("dil_conv_3x3", 1), ("dil_conv_5x5", 4), ("skip_connect", 1)),
    (("skip_connect", 0), ("sep_conv_5x5", 1), ("dil_conv_5x5", 2), ("avg_pool_3x3", 0),
     ("dil_conv_3x3", 1), ("sep_conv_3x3", 3), ("max_pool_3x3", 4), ("skip_connect", 2)),
)


def tiny(arch=MIXED, **kwargs):
    return DARTSNetwork(arch, **{"C": 4, "layers": 5, **kwargs})


def test_forward_is_a_pair_in_training_with_the_auxiliary_head_and_logits_otherwise():
    torch.manual_seed(0)
    images = torch.randn(3, 3, 32, 32)
    net = tiny()
    logits, aux = net(images)
    assert logits.shape == aux.shape == (3, 10)
    net.eval()
    assert net(images).shape == (3, 10)
    plain = tiny(auxiliary=False)
    assert plain(images).shape == (3, 10) and plain.auxiliary_head is None
    # Reductions at layers // 3 and 2 * layers // 3 (1 and 3 of 5): 32 -> 16 -> 8; channels 4 -> 8 -> 16, x4 nodes.
    widths = [cell.preprocess1[1].out_channels for cell in net.cells]
    assert widths == [4, 8, 8, 16, 16] and net.classifier.in_features == 4 * 16


def test_drop_path_ramps_by_epoch_and_acts_only_in_training():
    net = tiny(drop_path_prob=0.3)
    assert net.drop_path_prob == 0.0
    for epoch in range(4):
        net.start_epoch(epoch, 4)
        assert net.drop_path_prob == pytest.approx(0.3 * epoch / 4)  # DARTS train.py:100
    x = torch.ones(1000, 2, 3, 3)
    torch.manual_seed(0)
    dropped = drop_path(x, 0.25)
    per_sample = dropped.flatten(1)
    assert per_sample.unique().tolist() == [0.0, pytest.approx(1 / 0.75)]  # samples kept (scaled) or zeroed
    assert (per_sample.amax(1) == per_sample.amin(1)).all()
    assert 0.2 < (per_sample[:, 0] == 0).float().mean() < 0.3
    torch.manual_seed(1)
    images = torch.randn(4, 3, 32, 32)
    net.start_epoch(3, 4)
    net.train()
    assert not torch.equal(net(images)[0], net(images)[0])  # a fresh mask per forward
    net.eval()
    assert torch.equal(net(images), net(images))


def test_darts_v2_has_the_parameter_count_darts_reports():
    """DARTS reports 3.3M parameters for DARTS (second order) on CIFAR-10 (Liu et al. 2019, table 1), counted
    without the auxiliary head (cnn/utils.py:82-83); exactly 3,349,342 here."""
    net = DARTSNetwork(DARTS_V2, C=36, layers=20)
    assert net.eval_parameter_count() == parameter_count(net) == 3_349_342
    assert net.eval_parameter_count() / 1e6 == pytest.approx(3.3, abs=0.05)
    assert sum(p.numel() for p in net.parameters()) - 3_349_342 == sum(
        p.numel() for p in net.auxiliary_head.parameters())


def test_darts_v2_in_darts_notation_is_the_same_network():
    darts = pytest.importorskip("lrnas.spaces.darts")
    arch = darts.parse_arch(darts.EXAMPLE)  # DARTS_V2's Genotype string (each node's pairs may be reordered)
    assert [sorted(cell) for cell in arch] == [sorted(cell) for cell in DARTS_V2]
    assert DARTSNetwork(arch).eval_parameter_count() == 3_349_342


def batches(n=64, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return DeviceBatches(images, rng.integers(0, 10, n), device="cpu")


def test_cutout_zeroes_the_square_darts_cuts_and_follows_the_generator():
    images = torch.ones(200, 3, 32, 32)
    cut = cutout(images.clone(), torch.Generator().manual_seed(5), 16)
    again = cutout(images.clone(), torch.Generator().manual_seed(5), 16)
    other = cutout(images.clone(), torch.Generator().manual_seed(6), 16)
    assert torch.equal(cut, again) and not torch.equal(cut, other)
    # DARTS's Cutout (cnn/utils.py:40-59) with the same centres, drawn as cutout draws them
    generator = torch.Generator().manual_seed(5)
    ys, xs = torch.randint(32, (200, 1), generator=generator), torch.randint(32, (200, 1), generator=generator)
    for image, y, x in zip(cut, ys.flatten().tolist(), xs.flatten().tolist(), strict=True):
        mask = np.ones((32, 32), np.float32)
        mask[np.clip(y - 8, 0, 32):np.clip(y + 8, 0, 32), np.clip(x - 8, 0, 32):np.clip(x + 8, 0, 32)] = 0.0
        assert torch.equal(image, torch.from_numpy(mask).expand(3, 32, 32))
    areas = (cut[:, 0] == 0).sum((1, 2))
    assert areas.min() >= 64 and areas.max() == 256  # a corner keeps 8 x 8; away from the border 16 x 16


def test_batches_with_cutout_differ_from_plain_ones_only_in_the_cut_squares():
    train = batches()
    idx = torch.arange(32)
    plain, labels = train.batch(idx, torch.Generator().manual_seed(1))
    cut, cut_labels = train.batch(idx, torch.Generator().manual_seed(1), cutout_length=16)
    assert torch.equal(labels, cut_labels)
    changed = plain != cut
    assert changed.any() and (cut[changed] == 0).all()  # the same crops and flips, then the squares
    assert changed.flatten(1).sum(1).min() > 0  # every image loses a square
    # without cutout, a batch draws exactly what it drew before (NB201/NB101 builds are unchanged)
    generator = torch.Generator().manual_seed(1)
    assert torch.equal(train.batch(idx, generator, cutout_length=None)[0], plain)
    assert torch.equal(train.batch(idx, torch.Generator().manual_seed(1), augment=False)[0],
                       to_float_normalized(train.images[:32]))


class AuxToyNet(torch.nn.Module):
    """Returns (logits, aux_logits) in training; aux_logits are all-zero at initialisation (loss log 10 there)."""

    calls: list = []

    def __init__(self, arch=None):
        super().__init__()
        self.body = torch.nn.Linear(3 * 32 * 32, 10)
        self.aux_bias = torch.nn.Parameter(torch.zeros(10))

    def start_epoch(self, epoch, epochs):
        AuxToyNet.calls.append((epoch, epochs))

    def eval_parameter_count(self):
        return self.body.weight.numel() + self.body.bias.numel()

    def forward(self, x):
        logits = self.body(x.flatten(1))
        if self.training:
            return logits, torch.zeros_like(logits) + self.aux_bias
        return logits


def toy_recipe(**keys):
    return OmegaConf.create({"network": {"_target_": f"{__name__}.AuxToyNet"},
                             "optimizer": {"_target_": "torch.optim.SGD", "lr": 0.1}, "min_lr": 0.0,
                             "epochs": 2, "batch_size": 64, "eval_batch_size": 32, **keys})


def train_toy(tmp_path, name, **keys):
    AuxToyNet.calls = []
    test = batches(32, seed=1)
    result = train_standalone(toy_recipe(**keys), None, batches(), test.batch(torch.arange(32), None, False)[0],
                              test.labels, tmp_path / name, 7, {"signal": None}, name, {})
    net = AuxToyNet()
    net.load_state_dict(torch.load(tmp_path / name / "checkpoint.pt", weights_only=False)["net"])
    return result, net


def test_the_trainer_adds_the_weighted_auxiliary_loss_and_calls_start_epoch(tmp_path):
    # one step per epoch (64 images, batch 64): epoch 1's loss is the first step's, from equal weights and batch
    plain, plain_net = train_toy(tmp_path, "plain")
    assert AuxToyNet.calls == [(0, 2), (1, 2)]
    weighted, weighted_net = train_toy(tmp_path, "weighted", auxiliary_weight=0.4)
    first = [r["history"][0]["train_loss"] for r in (plain, weighted)]
    assert first[1] - first[0] == pytest.approx(0.4 * np.log(10), abs=1e-6)
    assert torch.equal(plain_net.aux_bias, torch.zeros(10))  # no auxiliary weight: the head is not trained
    assert not torch.equal(weighted_net.aux_bias, torch.zeros(10))
    assert plain["params_m"] == weighted["params_m"] == 0.03073  # 3072 x 10 + 10: aux_bias excluded
    assert 0 <= plain["accuracy"] <= 100  # eval mode: logits only


def test_grad_clip_bounds_each_step(tmp_path):
    torch.manual_seed(7)
    start = torch.nn.utils.parameters_to_vector(AuxToyNet().body.parameters()).detach()  # the trainer's init seed
    _, free = train_toy(tmp_path, "free")
    _, clipped = train_toy(tmp_path, "clipped", grad_clip=1e-4)

    def moved(net):
        return float((torch.nn.utils.parameters_to_vector(net.body.parameters()).detach() - start).norm())

    assert moved(free) > 1e-2
    assert moved(clipped) <= 2 * 0.1 * 1e-4 * (1 + 1e-4)  # 2 steps of lr x at most the clipped norm


def darts_recipe(**keys):
    return OmegaConf.create({
        "network": {"_target_": "lrnas.spaces.darts.network.DARTSNetwork", "C": 4, "layers": 3, "auxiliary": True,
                    "drop_path_prob": 0.5},
        "optimizer": {"_target_": "torch.optim.SGD", "lr": 0.025, "momentum": 0.9, "weight_decay": 3e-4},
        "min_lr": 0.0, "epochs": 3, "batch_size": 16, "eval_batch_size": 32, "cutout": 16, "auxiliary_weight": 0.4,
        "grad_clip": 5, **keys})


def test_a_darts_training_with_drop_path_and_cutout_resumes_exactly(tmp_path, monkeypatch):
    """The drop-path masks come from torch's global generator: its state is in the checkpoint, so a training stopped
    mid-epoch ends with the same losses and accuracy as one that was not."""
    train, test = batches(48), batches(32, seed=1)
    test_images = test.batch(torch.arange(32), None, False)[0]

    def run(name, stop):
        return train_standalone(darts_recipe(), MIXED, train, test_images, test.labels, tmp_path / name, 3, stop,
                                name, {"arch": "mixed"})

    whole = run("whole", {"signal": None})
    stop = {"signal": None}
    steps = {"n": 0}
    real_step = torch.optim.lr_scheduler.CosineAnnealingLR.step

    def step_then_stop(self, *args, **kwargs):
        real_step(self, *args, **kwargs)
        steps["n"] += 1
        if steps["n"] == 1 + 5:  # built, then 3 steps an epoch: the second step of epoch 2
            stop["signal"] = signal.SIGTERM

    monkeypatch.setattr(torch.optim.lr_scheduler.CosineAnnealingLR, "step", step_then_stop)
    with pytest.raises(Interrupted, match="at epoch 2, step 2"):
        run("stopped", stop)
    monkeypatch.setattr(torch.optim.lr_scheduler.CosineAnnealingLR, "step", real_step)
    resumed = run("stopped", {"signal": None})
    assert resumed["history"] == whole["history"] and resumed["accuracy"] == whole["accuracy"]
    assert resumed["params_m"] == whole["params_m"]


# --- a DARTS landmark build --------------------------------------------------------------------------------------

DARTS_TINY = ["space=darts", "standalone=darts_cpu", "standalone.network.C=4", "standalone.network.layers=3",
              "standalone.epochs=1", "standalone.batch_size=32", "standalone.train_images=64",
              "standalone.test_images=32", "data.synthetic={train:128,test:64}", "landmarks.num_landmarks=2",
              "device=cpu"]


def darts_build_config(out, *overrides):
    base = DARTS_TINY
    if "standalone=benchmark" in overrides:  # a lookup recipe has no network, epochs, ... to override
        base = [o for o in DARTS_TINY if not o.startswith("standalone")]
    return compose_config(*base, f"build.out={out}", *overrides, config="build")


def test_a_darts_build_samples_its_landmarks_and_has_no_tau(tmp_path, isolated_cache):
    from lrnas.landmarks import load_landmarks
    from lrnas.seeding import stream_seed
    from lrnas.spaces import darts
    from lrnas.standalone.build import COLUMNS, build

    out = tmp_path / "darts"
    build(darts_build_config(out))
    with open(out / "landmarks.csv", newline="") as f:
        rows = list(__import__("csv").DictReader(f))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 2
    rng = random.Random(stream_seed(0, "landmarks"))
    drawn = [darts.format_arch(darts.sample_arch(rng)) for _ in range(2)]
    assert sorted(r["arch"] for r in rows) == sorted(drawn)
    assert {r["recipe"] for r in rows} == {"darts_cpu_1ep"}
    for row in rows:  # the network as tested: no auxiliary head
        net = DARTSNetwork(darts.parse_arch(row["arch"]), C=4, layers=3)
        assert float(row["params_m"]) == net.eval_parameter_count() / 1e6
    assert [lm.arch for lm in load_landmarks(out / "landmarks.csv", validate_arch=darts.parse_arch)] == \
        [r["arch"] for r in rows]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ground_truth"] is None and not any("tau" in key for key in summary)


@pytest.mark.parametrize(("overrides", "message"), [
    (["landmarks=fixed"], "landmarks=fixed chooses by ground truth, and space=darts ships none; use landmarks=random"),
    (["landmarks=hamming"], "landmarks=hamming chooses by ground truth, and space=darts ships none"),
    (["standalone=benchmark"], "standalone.column: space=darts ships no ground-truth table to read"),
    (["standalone.cutout=0"], "standalone.cutout=0 is invalid: must be null or an integer >= 1"),
    (["standalone.auxiliary_weight=-1"], "standalone.auxiliary_weight=-1 is invalid: must be null or a number >= 0"),
    (["standalone.grad_clip=0"], "standalone.grad_clip=0 is invalid: must be null or a number > 0"),
])
def test_a_darts_build_says_in_one_line_what_needs_ground_truth(tmp_path, isolated_cache, overrides, message):
    from lrnas.standalone.build import build

    with pytest.raises(ValueError) as error:
        build(darts_build_config(tmp_path / "bad", *overrides))
    assert message in str(error.value) and "\n" not in str(error.value)
