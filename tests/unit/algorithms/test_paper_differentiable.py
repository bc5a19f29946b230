"""The authors' GDAS / PC-DARTS protocol: SPOS warm-up, frozen-alpha weight training and alpha search switching at
the configured epochs, the GDAS temperature over the search only, the partial-channel cell, and the paper presets."""
import random

import pytest
import torch
import torch.nn.functional as F
from conftest import compose_config
from lrnas.conf import CONFIG_DIR
from omegaconf import OmegaConf

from lrnas.algorithms import build_algorithm
from lrnas.algorithms.gdas import gumbel_temperature
from lrnas.spaces import nb201
from lrnas.spaces.nb201 import EDGES
from lrnas.spaces.nb201.cells_partial import PartialChannelSearchCell
from lrnas.spaces.nb201.supernet import NB201SuperNet
from lrnas.validation import validate_config

ARCH = ("nor_conv_3x3", "none", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3")
PHASED = {"supernet_warmup_epochs": 2, "arch_start_epoch": 4}  # epochs 1-2 SPOS, 3 frozen alpha, 4-6 search


def build(name: str, seed: int = 0, **overrides):
    cfg = OmegaConf.merge(OmegaConf.load(CONFIG_DIR / "algorithm" / f"{name}.yaml"), overrides)
    return build_algorithm(cfg, nb201, random.Random(seed), torch.device("cpu"), torch.Generator().manual_seed(seed))


def net(cell_type: str = "per_edge", C: int = 4) -> NB201SuperNet:
    torch.manual_seed(0)
    return NB201SuperNet(C=C, N=1, cell_type=cell_type, bn_affine=True)


def batch(seed: int = 1, size: int = 8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(size, 3, 8, 8, generator=g), torch.randint(0, 10, (size,), generator=g)


def with_grad(model) -> set:
    return {id(p) for p in model.parameters() if p.grad is not None}


@pytest.mark.parametrize("name", ["gdas", "pcdarts"])
def test_phases_switch_at_the_configured_epochs_and_follow_from_the_epoch_alone(name):
    algorithm = build(name, **PHASED)
    phases = []
    for epoch in range(1, 7):
        algorithm.start_epoch(epoch, 6)
        phases.append((algorithm.phase, algorithm.updates_arch))
    assert phases == [("warmup", False)] * 2 + [("weights", False)] + [("search", True)] * 3
    resumed = build(name, **PHASED)  # a run resumed in epoch 3 gets epoch 3's phase, whatever came before
    resumed.start_epoch(3, 6)
    assert (resumed.phase, resumed.updates_arch) == ("weights", False)


@pytest.mark.parametrize(("name", "cell_type"), [("gdas", "per_edge"), ("pcdarts", "per_edge"),
                                                 ("pcdarts", "partial_channel")])
def test_warmup_trains_one_sampled_path_only(name, cell_type):
    algorithm, model = build(name, **PHASED), net(cell_type)
    algorithm.start_epoch(1, 6)
    alpha = algorithm.alpha.detach().clone()
    result = algorithm.backward(model, *batch())
    (arch,) = result.archs
    assert isinstance(arch, tuple) and algorithm.name_path(arch) == nb201.format_arch(arch)
    assert with_grad(model) == {id(p) for p in model.path_parameters(arch)}
    assert algorithm.alpha.grad is None and torch.equal(algorithm.alpha, alpha)


@pytest.mark.parametrize(("name", "cell_type"), [("gdas", "per_edge"), ("pcdarts", "partial_channel")])
def test_alpha_stays_frozen_while_the_weights_train_through_the_relaxed_forward(name, cell_type):
    algorithm, model = build(name, **PHASED), net(cell_type)
    algorithm.start_epoch(3, 6)
    assert not algorithm.updates_arch  # the trainer skips arch_step
    alpha = algorithm.alpha.detach().clone()
    weights = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for seed in range(3):
        optimizer.zero_grad()
        (path,) = algorithm.backward(model, *batch(seed)).archs
        optimizer.step()
    assert isinstance(path, torch.Tensor)  # the relaxed step, not a sampled single path
    assert algorithm.alpha.grad is None and torch.equal(algorithm.alpha, alpha)
    assert any(not torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    if name == "pcdarts":  # the mixed forward reaches every op's weights, not one path's
        assert with_grad(model) == {id(p) for p in model.parameters()}


@pytest.mark.parametrize(("name", "cell_type"), [("gdas", "per_edge"), ("pcdarts", "partial_channel")])
def test_alpha_moves_in_the_search_phase(name, cell_type):
    algorithm, model = build(name, **PHASED), net(cell_type)
    algorithm.start_epoch(4, 6)
    assert algorithm.updates_arch
    alpha = algorithm.alpha.detach().clone()
    algorithm.arch_step(model, *batch())
    assert not torch.equal(algorithm.alpha, alpha)


def test_pcdarts_without_edge_normalization_trains_alpha_only():
    algorithm = build("pcdarts", edge_normalization=False, warmup_fraction=0.0)
    assert algorithm.arch_parameters == [algorithm.alpha]
    algorithm.start_epoch(1, 4)
    model, (x, labels) = net("partial_channel"), batch()
    algorithm.arch_step(model, x, labels)  # no beta in the graph, none asked for
    plain = model.forward_mixed(x, F.softmax(algorithm.alpha.detach(), dim=-1))  # nodes sum their edges unweighted
    assert torch.allclose(algorithm.mixed_logits(model, x, train_arch=False), plain)


def test_default_phases_are_lrnas_own():
    gdas, pcdarts = build("gdas"), build("pcdarts")
    gdas.start_epoch(1, 10)
    assert gdas.updates_arch and gdas.tau == 10.0  # alpha from epoch 1, tau over every epoch
    pcdarts.start_epoch(3, 10)
    assert not pcdarts.updates_arch and pcdarts.phase == "weights"  # weights-only warm-up, 30%
    pcdarts.start_epoch(4, 10)
    assert pcdarts.updates_arch


def test_gdas_tau_runs_over_the_search_epochs_only_and_is_never_negative():
    algorithm = build("gdas", supernet_warmup_epochs=100, arch_start_epoch=401)
    taus = []
    for epoch in range(1, 451):
        algorithm.start_epoch(epoch, 450)
        taus.append(algorithm.tau)
    assert taus[:401] == [10.0] * 401  # warm-up and frozen-alpha phase: the schedule has not started
    assert all(a >= b for a, b in zip(taus, taus[1:], strict=False)) and min(taus) >= 0.1
    assert taus[-1] == pytest.approx(0.1) and taus[425] == pytest.approx(10 - 9.9 * 25 / 49)
    assert gumbel_temperature(5, 5, 5, 10.0, 0.1) == 0.1  # one search epoch runs at tau_min


def authors_channel_shuffle(x, groups):
    """search_cells.py:14-28, verbatim in effect."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)


def hand_op(cell, edge, op, x):
    """One op of the partial cell on a C/K-channel input, written out with functional calls."""
    if op == "none":
        return torch.zeros_like(x)
    if op == "skip_connect":
        return x
    if op == "avg_pool_3x3":
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    conv, bn = cell.ops[edge][op][1], cell.ops[edge][op][2]
    y = F.conv2d(F.relu(x), conv.weight, padding=conv.padding)
    return F.batch_norm(y, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)


def hand_cell(cell, x, weights):
    """The authors' SearchCellPCDarts.forward (search_cells.py:338-372) with per-edge op weights."""
    k = 4
    nodes = [x]
    for target in (1, 2, 3):
        total = 0
        for e, (t, source) in enumerate(EDGES):
            if t == target:
                h = nodes[source]
                part, rest = h[:, : h.shape[1] // k], h[:, h.shape[1] // k :]
                mixed = sum(w * hand_op(cell, e, op, part) for w, op in zip(weights[e], nb201.OPS, strict=True))
                total = total + authors_channel_shuffle(torch.cat([mixed, rest], 1), k)
        nodes.append(total)
    return nodes[3]


def partial_cell():
    torch.manual_seed(0)
    cell = PartialChannelSearchCell(8, bn_affine=True)
    with torch.no_grad():
        for module in cell.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return cell, torch.randn(4, 8, 6, 6)


def test_partial_cell_one_hot_forward_equals_the_hand_computation():
    cell, x = partial_cell()
    assert all(m[1].weight.shape[:2] == (2, 2) for ops in cell.ops for n, m in ops.items() if n.startswith("nor"))
    one_hot = F.one_hot(torch.tensor([nb201.OPS.index(op) for op in ARCH]), len(nb201.OPS)).float()
    expected = hand_cell(cell, x, one_hot)
    assert torch.allclose(cell(x, ARCH), expected, atol=1e-6)
    assert torch.allclose(cell(x.contiguous(memory_format=torch.channels_last), ARCH), expected, atol=1e-6)
    # A `none` edge still passes its last C - C/K channels on: every node is non-zero.
    assert cell(x, ("none",) * 6).abs().sum() > 0


def test_partial_cell_relaxed_forward_equals_the_hand_computation_without_edge_normalisation():
    cell, x = partial_cell()
    weights = F.softmax(torch.randn(nb201.NUM_EDGES, len(nb201.OPS)), dim=-1)
    assert torch.allclose(cell.forward_mixed(x, weights), hand_cell(cell, x, weights), atol=1e-6)


def test_partial_cell_path_parameters_are_the_ones_its_discrete_forward_trains():
    model = net("partial_channel", C=8)
    x, labels = batch()
    F.cross_entropy(model(x, ARCH), labels).backward()
    assert with_grad(model) == {id(p) for p in model.path_parameters(ARCH)}


def compose_preset(name):
    return compose_config(f"experiment={name}")


@pytest.mark.parametrize(("preset", "algorithm", "channels", "cell_type", "warmup", "arch_start", "epochs"), [
    ("paper_nb201_gdas", "gdas", 36, "per_edge", 100, 411, 460),  # gdas.sh SUB_EXP 0: epochs=410 (:163)
    ("paper_nb201_pcdarts", "pcdarts", 16, "partial_channel", 150, 401, 435),
])
@pytest.mark.parametrize("landmark", [False, True])
def test_paper_presets_compose_the_authors_protocol(preset, algorithm, channels, cell_type, warmup, arch_start, epochs,
                                                    landmark):
    cfg = compose_preset(preset + ("_landmark" if landmark else ""))
    validate_config(cfg)
    assert cfg.algorithm.name == algorithm
    assert (cfg.space.channels, cfg.space.cells_per_stage) == (channels, 5)
    assert (cfg.space.supernet.cell_type, cfg.space.supernet.bn_affine) == (cell_type, True)
    assert (cfg.algorithm.supernet_warmup_epochs, cfg.algorithm.arch_start_epoch) == (warmup, arch_start)
    assert cfg.trainer.epochs == epochs and not cfg.trainer.set_grads_to_none
    assert (cfg.trainer.batch_size, cfg.trainer.lr, cfg.trainer.weight_decay) == (256, 0.025, 5e-4)
    if algorithm == "pcdarts":
        assert not cfg.algorithm.edge_normalization and cfg.algorithm.partial_channels == 4
        assert cfg.algorithm.arch_lr == 6e-4
    else:
        assert (cfg.algorithm.tau_max, cfg.algorithm.tau_min, cfg.algorithm.arch_lr) == (10.0, 0.1, 3e-4)
    if landmark:
        reg = cfg.regularizer
        assert (cfg.landmarks.method, cfg.landmarks.num_landmarks) == ("random", 30)
        assert (reg.name, reg.lam, reg.schedule, reg.penalty, reg.num_pairs) == ("landmark", 10.0, "cosine_increase",
                                                                                 "hinge", 1)
        assert reg.warmup_epochs == warmup
    else:
        assert cfg.regularizer.name == "none"
