"""NB101 super-net: NB101's channel rule, live vertices, shared sliced weights, and one training step per algorithm."""
import random

import pytest
import torch
import torch.nn.functional as F

from lrnas.spaces import build_supernet, nb101
from lrnas.spaces.nb101.supernet import CellPlan, NB101Cell, NB101SuperNet, live_vertices, vertex_channels

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


# --- The fast forward against a plain one: NB101's model_builder run on the pruned cell -----------------------------

def plain_batch_norm(x, affine):
    """Batch-statistics BN written out; ``affine``: the (2, full width) scale/shift, or None."""
    y = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    if affine is None:
        return y
    channels = x.shape[1]
    return y * affine[0, :channels].view(1, -1, 1, 1) + affine[1, :channels].view(1, -1, 1, 1)


def plain_conv_bn_relu(x, weight, affine, channels):
    weight = weight[:channels, : x.shape[1]]
    return torch.relu(plain_batch_norm(F.conv2d(x, weight, padding=weight.shape[-1] // 2), affine))


def nb101_vertex_channels(in_channels, out_channels, matrix):
    """nasbench/lib/model_builder.py compute_vertex_channels, transcribed."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = in_channels, out_channels
    if n == 2:
        return channels
    in_degree = sum(matrix[v][n - 1] for v in range(1, n))
    interior, correction = out_channels // in_degree, out_channels % in_degree
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = interior + (1 if correction else 0)
            correction -= 1 if correction else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for w in range(v + 1, n - 1):
                if matrix[v][w]:
                    channels[v] = max(channels[v], channels[w])
        assert channels[v] > 0
    return channels


def plain_cell(cell, x, arch):
    """Prune (keeping each vertex's original slot), then run every vertex of the pruned cell as model_builder does."""
    matrix, ops = arch
    n = len(matrix)
    reached, useful = {0}, {n - 1}
    for v in range(1, n):
        reached |= {v} if any(matrix[u][v] for u in reached) else set()
    for u in range(n - 2, -1, -1):
        useful |= {u} if any(matrix[u][w] for w in useful) else set()
    keep = sorted(reached & useful)
    m = [[matrix[u][v] for v in keep] for u in keep]
    k = len(keep)
    channels = nb101_vertex_channels(cell.in_channels, cell.out_channels, m)
    bn = (lambda name, slot: getattr(cell, f"{name}_bn")[slot - 1]) if cell.bn_affine else (lambda *_: None)
    out_bn = cell.output_projection_bn if cell.bn_affine else None
    tensors = [x]
    for t in range(1, k - 1):
        slot, c = keep[t], channels[t]
        fan_in = [tensors[s][:, :c] for s in range(1, t) if m[s][t]]
        if m[0][t]:
            fan_in.append(plain_conv_bn_relu(x, cell.input_projection[slot - 1], bn("input_projection", slot), c))
        assert fan_in  # every vertex of a pruned cell has an input
        h = sum(fan_in)
        op = ops[slot - 1]
        if op == "maxpool3x3":
            tensors.append(F.max_pool2d(h, 3, stride=1, padding=1))
        else:
            name = "conv3x3" if op == "conv3x3-bn-relu" else "conv1x1"
            tensors.append(plain_conv_bn_relu(h, getattr(cell, name)[slot - 1], bn(name, slot), c))
    outputs = [tensors[t] for t in range(1, k - 1) if m[t][k - 1]]
    projection = plain_conv_bn_relu(x, cell.output_projection, out_bn, cell.out_channels) if m[0][k - 1] else 0
    return torch.cat(outputs, 1) + projection if outputs else projection


def plain_supernet(net, x, arch):
    x = torch.relu(plain_batch_norm(F.conv2d(x, net.stem.weight, padding=1), net.stem_bn))
    for index, cell in enumerate(net.cells):
        if index in net.downsample_before:
            x = F.max_pool2d(x, 2, stride=2)
        x = plain_cell(cell, x, arch)
    return net.classifier(x.mean((2, 3))).float()  # logits in float32, as the super-net returns them


def random_unpruned_cell(rng):
    """A 7-vertex spec with dead vertices (vertices fed only by dead ones included) that prunes to a valid cell."""
    while True:
        matrix = [[int(u < v and rng.random() < 0.3) for v in range(7)] for u in range(7)]
        arch = nb101.as_arch((matrix, [rng.choice(nb101.OPS) for _ in range(5)]))
        if nb101.is_valid(arch) and nb101.prune(arch) != arch:
            return arch


@pytest.fixture
def one_thread():
    """Hundreds of tiny float64 forwards: one thread is ~10x faster than several on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("bn_affine", [False, True])
def test_fast_forward_equals_the_plain_pruned_cell(bn_affine, one_thread):
    torch.manual_seed(0)
    # float64 and the default memory format (float64 channels_last convs are very slow on CPU)
    net = NB101SuperNet(C=4, N=1, channels_last=False, bn_affine=bn_affine).double()
    with torch.no_grad():  # BN scales and shifts away from 1 and 0, so a wrong slice shows
        for name, p in net.named_parameters():
            if name.endswith("_bn") or "_bn." in name:
                p.copy_(torch.randn_like(p))
    params = list(net.parameters())
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rng = random.Random(0)
    archs = [nb101.sample_arch(rng) for _ in range(150)] + [random_unpruned_cell(rng) for _ in range(50)]
    archs += [nb101.parse_arch("0100:"), nb101.parse_arch("011001000:conv3x3-bn-relu")]
    for arch in archs:
        weights = torch.randn(4, 10, dtype=torch.float64)
        fast, plain = net(x, arch), plain_supernet(net, x, arch)
        assert torch.allclose(fast, plain, rtol=1e-6, atol=1e-7), nb101.format_arch(arch)
        fast_grads = torch.autograd.grad((fast * weights).sum(), params, allow_unused=True)
        plain_grads = torch.autograd.grad((plain * weights).sum(), params, allow_unused=True)
        used = {id(p) for p in net.path_parameters(arch)}
        for p, fast_grad, plain_grad in zip(params, fast_grads, plain_grads, strict=True):
            assert (fast_grad is not None) == (id(p) in used)  # path_parameters lists exactly what gets a gradient
            fast_grad = torch.zeros_like(p) if fast_grad is None else fast_grad
            plain_grad = torch.zeros_like(p) if plain_grad is None else plain_grad
            assert torch.allclose(fast_grad, plain_grad, rtol=1e-6, atol=1e-7), nb101.format_arch(arch)


def test_affine_bn_parameters_are_per_slot_and_counted():
    plain, affine = NB101Cell(4, 10), NB101Cell(4, 10, bn_affine=True)
    extra = sum(p.numel() for p in affine.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == (3 * 5 + 1) * 2 * 10  # scale and shift per conv weight of the 5 slots, and the output projection
    used = {id(p) for p in affine.path_parameters(CELL)}
    assert used == {id(p) for p in (affine.conv3x3[0], affine.conv3x3_bn[0], affine.input_projection[0],
                                    affine.input_projection_bn[0], affine.output_projection,
                                    affine.output_projection_bn)}
    net, base = build_supernet("nb101", C=4, N=1, bn_affine=True), build_supernet("nb101", C=4, N=1)
    # 3 cells of widths 4, 8, 16 use 3 BNs each on CELL (conv3x3, input projection, output projection), plus the stem
    assert net.parameter_count(CELL) - base.parameter_count(CELL) == 2 * 3 * (4 + 8 + 16) + 2 * 4
    with_grad = {id(p) for p in net.path_parameters(CELL)}
    F.cross_entropy(net(images(), CELL), torch.arange(4)).backward()
    assert {id(p) for p in net.parameters() if p.grad is not None} == with_grad
    assert net.cells[0].conv3x3_bn[0].grad[:, 5:].abs().sum() == 0  # only the vertex's 5 channels learn
    assert net.cells[0].conv3x3_bn[0].grad[:, :5].abs().sum() > 0
