"""NB201 super-net variants (weight sharing x BN affine): the fast single-path forward, which skips edges, must equal
a plain full forward that runs every edge (``none`` as zeros), in outputs and in every gradient."""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from lrnas.spaces import nb201
from lrnas.spaces.nb201 import EDGES
from lrnas.spaces.nb201.cells import OpOnNodeSearchCell, SearchCell, active_edges
from lrnas.spaces.nb201.supernet import CELL_TYPES, NB201SuperNet

VARIANTS = [(cell_type, affine) for cell_type in ("per_edge", "op_on_node") for affine in (False, True)]
NUM_ARCHS = 200


def full_cell_forward(cell: SearchCell, x: torch.Tensor, arch) -> torch.Tensor:
    """Every edge runs on its source node, whatever it holds; ``none`` multiplies by zero, as the authors' Zero op."""
    nodes = [x]
    for target in range(1, 4):
        total = 0
        for e, (t, source) in enumerate(EDGES):
            if t == target:
                op = arch[e]
                total = total + (nodes[source] * 0.0 if op == "none" else cell.edge_ops(e)[op](nodes[source]))
        nodes.append(total)
    return nodes[3]


def full_forward(net: NB201SuperNet, x: torch.Tensor, arch) -> torch.Tensor:
    return net._run(x, lambda cell, h: full_cell_forward(cell, h, arch))


def _randomised(net: NB201SuperNet) -> NB201SuperNet:
    """Non-trivial BN scales and biases (fresh ones are 1 and 0, which would hide a skipped bias)."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d) and module.affine:
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return net


def _grads(net: NB201SuperNet) -> dict[str, torch.Tensor]:
    return {name: torch.zeros_like(p) if p.grad is None else p.grad.clone() for name, p in net.named_parameters()}


@pytest.mark.parametrize(("cell_type", "bn_affine"), VARIANTS)
def test_fast_forward_equals_full_forward_outputs_and_gradients(cell_type, bn_affine):
    torch.manual_seed(0)
    net = _randomised(NB201SuperNet(C=4, N=1, cell_type=cell_type, bn_affine=bn_affine, channels_last=False))
    x = torch.randn(4, 3, 8, 8)
    labels = torch.arange(4)
    rng = random.Random(1)
    # Random archs, plus the ones whose zero nodes feed convs (where an affine BN's bias matters).
    archs = [nb201.sample_arch(rng) for _ in range(NUM_ARCHS)]
    archs += [("none", "none", "nor_conv_3x3", "none", "nor_conv_1x1", "nor_conv_3x3"),
              ("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_3x3", "nor_conv_1x1"),
              ("none",) * 5 + ("nor_conv_3x3",)]
    for arch in archs:
        net.zero_grad(set_to_none=True)
        fast = net(x, arch)
        F.cross_entropy(fast, labels).backward()
        fast_grads = _grads(net)
        net.zero_grad(set_to_none=True)
        full = full_forward(net, x, arch)
        F.cross_entropy(full, labels).backward()
        assert torch.allclose(fast, full, atol=1e-6, rtol=1e-5), arch
        for name, grad in _grads(net).items():
            assert torch.allclose(fast_grads[name], grad, atol=1e-6, rtol=1e-5), (arch, name)


def test_affine_bn_bias_flows_out_of_a_zero_node():
    """Node 1 is zero (1<-0 is none); with affine BN the conv on 2<-1 outputs BN's bias, so the cell is not zero."""
    arch = ("none", "none", "nor_conv_3x3", "none", "none", "skip_connect")
    assert active_edges(arch, bn_affine=False) == ()
    assert [e for e, *_ in active_edges(arch, bn_affine=True)] == [2, 5]
    cell = SearchCell(4, bn_affine=True)
    with torch.no_grad():
        cell.edge_ops(2)["nor_conv_3x3"][2].bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.4]))
    out = cell(torch.randn(2, 4, 5, 5), arch)
    assert torch.allclose(out, torch.tensor([0.1, -0.2, 0.3, 0.4]).view(1, 4, 1, 1).expand_as(out))
    assert torch.equal(SearchCell(4, bn_affine=False)(torch.randn(2, 4, 5, 5), arch), torch.zeros(2, 4, 5, 5))


def test_op_on_node_shares_edge_3_2_with_3_1_only():
    cell = OpOnNodeSearchCell(4)
    assert len(cell.ops) == 5 and len(SearchCell(4).ops) == 6
    assert cell.edge_ops(5) is cell.edge_ops(4)
    assert len({id(cell.edge_ops(e)) for e in range(5)}) == 5
    # The shared module counts once on a path that uses it on both edges.
    net = NB201SuperNet(C=4, N=1, cell_type="op_on_node")
    both = ("skip_connect",) * 4 + ("nor_conv_3x3", "nor_conv_3x3")
    per_edge = NB201SuperNet(C=4, N=1)
    conv = sum(p.numel() for p in SearchCell(4).edge_ops(0)["nor_conv_3x3"].parameters())
    # One 3x3 conv fewer per stage, at widths C, 2C, 4C.
    assert per_edge.parameter_count(both) - net.parameter_count(both) == conv * (1 + 4 + 16)


def test_variant_parameters_and_unknown_cell_type():
    plain, affine = NB201SuperNet(C=4, N=1), NB201SuperNet(C=4, N=1, bn_affine=True)
    arch = ("nor_conv_3x3",) * 6
    assert affine.parameter_count(arch) - plain.parameter_count(arch) == 6 * 2 * (4 + 8 + 16)
    assert set(CELL_TYPES) >= {"per_edge", "op_on_node"}
    with pytest.raises(ValueError, match="unknown NB201 cell_type 'x'; known: per_edge, op_on_node"):
        NB201SuperNet(C=4, N=1, cell_type="x")


@pytest.mark.parametrize("bn_affine", [False, True])
def test_partial_channel_slice_matches_the_module_on_its_channels(bn_affine):
    """PC-DARTS's sliced op equals the full-width op restricted to the sampled channels (affine BN sliced too)."""
    from lrnas.spaces.nb201.cells import _sliced_op
    torch.manual_seed(0)
    module = _randomised_module(SearchCell(8, bn_affine=bn_affine).edge_ops(0)["nor_conv_3x3"])
    index = torch.tensor([1, 4, 6, 7])
    x = torch.randn(3, 4, 6, 6)
    conv = module[1]
    sub = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Conv2d(4, 4, 3, padding=1, bias=False),
                              torch.nn.BatchNorm2d(4, affine=bn_affine, track_running_stats=False))
    with torch.no_grad():
        sub[1].weight.copy_(conv.weight[index][:, index])
        if bn_affine:
            sub[2].weight.copy_(module[2].weight[index])
            sub[2].bias.copy_(module[2].bias[index])
    assert torch.allclose(_sliced_op(module, x, index), sub(x), atol=1e-6)


def _randomised_module(module):
    bn = module[2]
    if bn.affine:
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    return module

