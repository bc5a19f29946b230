"""NB101 super-net: NB101's channel rule, live vertices, shared sliced weights, and one training step per algorithm."""
import random

import pytest
import torch
import torch.nn.functional as F

from lrnas.spaces import nb101
from lrnas.supernets import build_supernet
from lrnas.supernets.nb101 import CellPlan, NB101Cell, live_vertices, vertex_channels

# input -> 1 (conv3x3) -> 2 (maxpool) -> output, 1 -> output, input -> output
CELL = nb101.parse_arch("0101001100010000:conv3x3-bn-relu,maxpool3x3")


def images(batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last)


def test_channel_rule_matches_nb101():
    # Two vertices feed the output: 10 channels split 5/5; a 3-way split of 10 gives the remainder to the first.
    assert vertex_channels(4, 10, CELL[0]) == [4, 5, 5, 10]
    three = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(4, 10, three) == [4, 4, 3, 3, 10]
    # A vertex that feeds only another vertex takes its successor's width.
    chain = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert vertex_channels(4, 10, chain) == [4, 10, 10, 10]


def test_dead_vertices_are_skipped_and_output_channels_add_up():
    # Vertex 2 has no input: dead, so its op never runs and the cell equals its pruned form.
    spec = ((0, 1, 0, 1), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)), ("conv1x1-bn-relu", "conv3x3-bn-relu")
    assert live_vertices(spec[0]) == [0, 1, 3]
    plan = CellPlan(spec, 4, 10)
    assert [(slot, op, channels) for slot, op, channels, *_ in plan.vertices] == [(1, "conv1x1-bn-relu", 10)]
    cell = NB101Cell(4, 10)
    x = torch.randn(2, 4, 8, 8)
    pruned = nb101.prune(spec)
    assert torch.allclose(cell(x, spec), cell(x, pruned))
    assert cell(x, CELL).shape == (2, 10, 8, 8)
    with pytest.raises(ValueError, match="does not reach the output"):
        CellPlan((((0, 0), (0, 0)), ()), 4, 10)


def test_every_vertex_op_and_projection_is_a_slice_of_one_shared_weight():
    cell = NB101Cell(4, 10)
    x = torch.randn(2, 4, 8, 8)
    cell(x, CELL).sum().backward()
    conv = cell.conv3x3[0].grad  # vertex 1 ran a 3x3 conv on 5 channels: only that corner learns
    assert conv[:5, :5].abs().sum() > 0 and conv[5:].abs().sum() == 0 and conv[:, 5:].abs().sum() == 0
    assert cell.conv1x1[0].grad is None  # ops the cell did not use get no gradient
    used = {id(p) for p in cell.path_parameters(CELL)}
    assert used == {id(cell.conv3x3[0]), id(cell.input_projection[0]), id(cell.output_projection)}


def test_supernet_shapes_and_path_parameters_cover_the_gradient():
    torch.manual_seed(0)
    net = build_supernet("nb101", C=8, N=1)
    arch = nb101.sample_arch(random.Random(1))
    F.cross_entropy(net(images(), arch), torch.arange(4)).backward()
    with_grad = {id(p) for p in net.parameters() if p.grad is not None}
    assert with_grad == {id(p) for p in net.path_parameters(arch)}
    assert net(images(), nb101.parse_arch("0100:")).shape == (4, 10)  # input -> output only


def test_fair_paths_train_every_op_on_every_vertex():
    torch.manual_seed(0)
    net = build_supernet("nb101", C=8, N=1)
    for arch in nb101.fair_paths(random.Random(0)):
        F.cross_entropy(net(images(), arch), torch.arange(4)).backward()
    cell = net.cells[0]
    for slot in range(5):  # 3 paths on a 7-vertex graph: each slot ran conv3x3 once and conv1x1 once
        assert cell.conv3x3[slot].grad.abs().sum() > 0 and cell.conv1x1[slot].grad.abs().sum() > 0
