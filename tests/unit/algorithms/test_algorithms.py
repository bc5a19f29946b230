"""FairNAS, PC-DARTS and GDAS: fairness, the direction alpha moves, one-hot samples, and the relaxed forwards."""
import random

import pytest
import torch
import torch.nn.functional as F
from lrnas.conf import CONFIG_DIR
from omegaconf import OmegaConf

from lrnas.algorithms import ALGORITHMS, build_algorithm
from lrnas.spaces import nb201
from lrnas.spaces.nb201.cells import SearchCell
from lrnas.spaces.nb201.supernet import NB201SuperNet

ARCH = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "none", "nor_conv_3x3")


def algorithm_cfg(name: str, **overrides):
    return OmegaConf.merge(OmegaConf.load(CONFIG_DIR / "algorithm" / f"{name}.yaml"), overrides)


def build(name: str, seed: int = 0, **overrides):
    return build_algorithm(algorithm_cfg(name, **overrides), nb201, random.Random(seed), torch.device("cpu"),
                           torch.Generator().manual_seed(seed))


def tiny_net(seed: int = 0) -> NB201SuperNet:
    torch.manual_seed(seed)
    return NB201SuperNet(C=4, N=1)


def batch(seed: int = 1, size: int = 16):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(size, 3, 8, 8, generator=g).contiguous(memory_format=torch.channels_last)
    return images, torch.randint(0, 10, (size,), generator=g)


def test_every_config_option_is_an_algorithm():
    assert sorted(p.stem for p in (CONFIG_DIR / "algorithm").glob("*.yaml")) == sorted(ALGORITHMS)


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_is_built_alike_and_holds_its_config(name):
    """A sampling algorithm gets its config group too, so its own keys reach it as a differentiable one's do."""
    cfg = algorithm_cfg(name)
    generator = torch.Generator().manual_seed(0)
    algorithm = build_algorithm(cfg, nb201, random.Random(0), torch.device("cpu"), generator)
    assert algorithm.cfg is cfg and algorithm.generator is generator and algorithm.space is nb201


class RecordingNet(torch.nn.Module):
    """A super-net stand-in that records the paths it runs; its loss depends on a real parameter."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(10))
        self.paths = []

    def forward(self, images, arch):
        self.paths.append(arch)
        return self.weight.expand(len(images), 10)


def test_fairnas_trains_every_op_on_every_edge_exactly_once_per_step():
    algorithm, net = build("fairnas"), RecordingNet()
    images, labels = batch()
    for _ in range(20):
        net.paths.clear()
        net.weight.grad = None
        result = algorithm.backward(net, images, labels)
        assert len(net.paths) == len(nb201.OPS) and list(result.archs) == net.paths
        for edge in range(nb201.NUM_EDGES):
            assert sorted(path[edge] for path in net.paths) == sorted(nb201.OPS)
        # All paths' gradients accumulate before the one optimizer step: 5 identical paths here give 5x one.
        single = torch.autograd.grad(F.cross_entropy(net.weight.expand(len(images), 10), labels), net.weight)[0]
        assert torch.allclose(net.weight.grad, len(nb201.OPS) * single)
        assert result.count == len(labels) * len(nb201.OPS)
    firsts = {tuple(path[0] for path in nb201.fair_paths(algorithm.rng)) for _ in range(50)}
    assert len(firsts) > 1  # the permutations are random, not a fixed rotation


class ToyMixedNet(torch.nn.Module):
    """Held-out loss falls as edge weight moves onto op `nor_conv_1x1`: logits favour the label by that weight."""

    good = nb201.OPS.index("nor_conv_1x1")

    def forward_mixed(self, images, op_weights, edge_weights=None, **_):
        strength = (op_weights[:, self.good] * (1 if edge_weights is None else edge_weights)).sum()
        return 4 * strength * torch.eye(10)[self.labels]


@pytest.mark.parametrize("name", ["pcdarts", "gdas"])
def test_arch_step_moves_alpha_toward_the_op_that_lowers_the_held_out_loss(name):
    algorithm = build(name, warmup_fraction=0.0) if name == "pcdarts" else build(name)
    algorithm.start_epoch(1, 10)
    assert algorithm.updates_arch
    net = ToyMixedNet()
    images, net.labels = batch()
    before = algorithm.op_probabilities()[:, ToyMixedNet.good].copy()
    for _ in range(30):
        algorithm.arch_step(net, images, net.labels)
    after = algorithm.op_probabilities()
    assert (after[:, ToyMixedNet.good] > before + 1e-3).all()
    assert (after.argmax(1) == ToyMixedNet.good).all()


def test_pcdarts_waits_for_its_warmup_and_arch_step_leaves_the_weights_alone():
    algorithm, net = build("pcdarts", warmup_fraction=0.3), tiny_net()
    algorithm.start_epoch(3, 10)
    assert not algorithm.updates_arch
    algorithm.start_epoch(4, 10)
    assert algorithm.updates_arch
    alpha, beta = algorithm.alpha.detach().clone(), algorithm.beta.detach().clone()
    algorithm.arch_step(net, *batch())
    assert not torch.equal(alpha, algorithm.alpha) and not torch.equal(beta, algorithm.beta)
    assert all(p.grad is None for p in net.parameters())
    grad_before = algorithm.alpha.grad.clone()
    algorithm.backward(net, *batch(2))  # the weights step: architecture parameters held fixed
    assert net.stem[0].weight.grad is not None
    assert torch.equal(algorithm.alpha.grad, grad_before)


def test_gdas_samples_are_one_hot_and_gradients_reach_every_alpha():
    algorithm = build("gdas")
    algorithm.start_epoch(1, 10)
    assert algorithm.tau == 10.0
    alpha = algorithm.alpha.detach().clone().requires_grad_(True)
    hard, selected = algorithm.hard_weights(alpha)
    assert torch.allclose(hard, F.one_hot(torch.tensor(selected), len(nb201.OPS)).float())
    net = tiny_net()
    loss = F.cross_entropy(net.forward_mixed(batch()[0], hard, selected=selected), batch()[1])
    (grad,) = torch.autograd.grad(loss, alpha)
    assert (grad != 0).all()  # unselected ops too, through the straight-through estimator
    algorithm.start_epoch(10, 10)
    assert algorithm.tau == pytest.approx(0.1)


def test_gdas_forward_is_the_sampled_discrete_path():
    net, images = tiny_net(), batch()[0]
    selected = [nb201.OPS.index(op) for op in ARCH]
    one_hot = F.one_hot(torch.tensor(selected), len(nb201.OPS)).float()
    assert torch.allclose(net.forward_mixed(images, one_hot, selected=selected), net(images, ARCH), atol=1e-5)


def test_one_hot_mixed_forward_equals_the_discrete_forward():
    net, images = tiny_net(), batch()[0]
    one_hot = F.one_hot(torch.tensor([nb201.OPS.index(op) for op in ARCH]), len(nb201.OPS)).float()
    assert torch.allclose(net.forward_mixed(images, one_hot), net(images, ARCH), atol=1e-5)


def test_partial_channels_mix_a_random_quarter_and_pass_the_rest_through():
    torch.manual_seed(0)
    cell, x = SearchCell(8), torch.randn(4, 8, 6, 6)
    weights = F.softmax(torch.randn(len(nb201.OPS)), dim=0)
    out = cell._partial_mixed_op(0, x, weights, 4, torch.Generator().manual_seed(5))
    index = torch.randperm(8, generator=torch.Generator().manual_seed(5))[:2]
    rest = [c for c in range(8) if c not in index.tolist()]
    assert torch.equal(out[:, rest], x[:, rest])
    part = x[:, index]
    conv = cell.ops[0]["nor_conv_3x3"][1]
    expected_conv = F.batch_norm(F.conv2d(F.relu(part), conv.weight[index][:, index], padding=1), None, None,
                                 training=True)
    pooled = F.avg_pool2d(part, 3, 1, 1, count_include_pad=False)
    conv1 = cell.ops[0]["nor_conv_1x1"][1]
    expected_1x1 = F.batch_norm(F.conv2d(F.relu(part), conv1.weight[index][:, index]), None, None, training=True)
    ops = dict(zip(nb201.OPS, weights, strict=True))
    expected = (ops["skip_connect"] * part + ops["nor_conv_1x1"] * expected_1x1 + ops["nor_conv_3x3"] * expected_conv
                + ops["avg_pool_3x3"] * pooled)
    assert torch.allclose(out[:, index], expected, atol=1e-5)


def test_pcdarts_edge_weights_are_a_softmax_over_each_nodes_incoming_edges():
    algorithm = build("pcdarts")
    beta = torch.randn(nb201.NUM_EDGES)
    weights = algorithm.edge_weights(beta)
    for node in (1, 2, 3):
        edges = [e for e, (t, _) in enumerate(nb201.EDGES) if t == node]
        assert torch.allclose(weights[edges], F.softmax(beta[edges], dim=0))


@pytest.mark.parametrize("name", ["pcdarts", "gdas"])
def test_architecture_state_round_trips(name):
    algorithm = build(name, warmup_fraction=0.0) if name == "pcdarts" else build(name)
    algorithm.start_epoch(1, 4)
    net = tiny_net()
    algorithm.arch_step(net, *batch())
    state = algorithm.state_dict()
    other = build(name, seed=1)
    other.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(algorithm.arch_parameters, other.arch_parameters, strict=True))
    assert other.arch_optimizer.state_dict()["state"][0]["step"] == 1


def pcdarts_favouring(arch):
    """PC-DARTS whose α puts most weight on ``arch``'s op on every edge."""
    algorithm = build("pcdarts")
    with torch.no_grad():
        algorithm.alpha.zero_()
        for edge, op in enumerate(arch):
            algorithm.alpha[edge, nb201.OPS.index(op)] = 3.0
    return algorithm


def test_differentiable_algorithms_report_their_argmax_architecture():
    algorithm = pcdarts_favouring(ARCH)
    assert algorithm.most_probable(1)[0][0] == ARCH
    assert algorithm.describe()["argmax_arch"] == nb201.format_arch(ARCH)


def test_differentiable_step_keeps_the_argmax_on_the_device_and_names_it_on_error():
    algorithm = pcdarts_favouring(ARCH)
    (path,) = algorithm.backward(tiny_net(), *batch()).archs
    assert isinstance(path, torch.Tensor)  # no .cpu()/.tolist() in the step
    assert algorithm.name_path(path) == f"{nb201.format_arch(ARCH)} (derived from the relaxed super-net)"
