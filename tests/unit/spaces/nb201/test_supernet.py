"""NB201 super-net: shapes, single-path routing, weight sharing, batch-stat BN, determinism."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lrnas.spaces import build_supernet
from lrnas.spaces.nb201 import OPS, InvalidArch
from lrnas.spaces.nb201.cells import SearchCell, active_edges
from lrnas.spaces.nb201.supernet import NB201SuperNet

NONE = ("none",) * 6
# Between them these use every op, on several edges.
ARCH_A = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "none", "nor_conv_3x3")
ARCH_B = ("nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1")


def _net(seed: int = 0, **kwargs) -> NB201SuperNet:
    torch.manual_seed(seed)
    return NB201SuperNet(C=4, N=1, **kwargs)


def _x(seed: int = 1, batch: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, 8, 8, generator=g).contiguous(memory_format=torch.channels_last)


def test_output_shape_and_factory():
    net = build_supernet("nb201", C=4, N=1, num_classes=7)
    assert net(_x(), ARCH_A).shape == (6, 7)
    assert len([m for m in net.modules() if isinstance(m, SearchCell)]) == 3
    with pytest.raises(ValueError, match="space='nb999' is unknown"):
        build_supernet("nb999")
    with pytest.raises(InvalidArch):
        net(_x(), ("nor_conv_3x3",) * 5)


def test_all_none_cells_output_zeros_and_logits_ignore_input():
    net = _net()
    cell = net.layers[0]
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(cell(x, NONE), torch.zeros_like(x))
    out1, out2 = net(_x(1), NONE), net(_x(2), NONE)
    assert torch.allclose(out1, out2) and torch.allclose(out1, out1[:1].expand_as(out1))
    out1.sum().backward()  # the reduction blocks and head still train
    assert net.classifier.weight.grad is not None and net.stem[0].weight.grad is None


def test_cell_semantics_per_op():
    cell = SearchCell(4)
    x = torch.randn(2, 4, 8, 8)
    only = lambda e, op: tuple(op if i == e else "none" for i in range(6))  # noqa: E731
    assert torch.equal(cell(x, only(3, "skip_connect")), x)
    pooled = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    assert torch.allclose(cell(x, only(3, "avg_pool_3x3")), pooled)
    for op in ("nor_conv_1x1", "nor_conv_3x3"):
        assert torch.allclose(cell(x, only(3, op)), cell.ops[3][op](x))
    # Node 3 sums its inputs: x via 3<-0 plus x via 1<-0, 3<-1.
    two_paths = ("skip_connect", "none", "none", "skip_connect", "skip_connect", "none")
    assert torch.allclose(cell(x, two_paths), 2 * x)


def test_dead_edges_are_pruned():
    # 1<-0 feeds only node 1, which reaches nothing; 2<-1 reads node 1 which is absent.
    dead_end = ("nor_conv_3x3", "none", "none", "skip_connect", "none", "none")
    assert active_edges(dead_end) == ((3, 3, 0, "skip_connect"),)
    assert active_edges(("none", "none", "nor_conv_1x1", "none", "none", "nor_conv_3x3")) == ()
    assert [e for e, *_ in active_edges(ARCH_A)] == [0, 1, 2, 3, 5]


@pytest.mark.parametrize("arch", [ARCH_A, ARCH_B, ("nor_conv_1x1", "none", "none", "skip_connect", "none", "none")])
def test_gradients_reach_exactly_the_chosen_ops(arch):
    net = _net()
    F.cross_entropy(net(_x(), arch), torch.arange(6) % 10).backward()
    used = {(e, op) for e, _, _, op in active_edges(arch)}
    for cell in (m for m in net.layers if isinstance(m, SearchCell)):
        for e, ops in enumerate(cell.ops):
            for op, module in ops.items():
                for p in module.parameters():
                    assert (p.grad is not None) == ((e, op) in used), (e, op)
                    if p.grad is not None:
                        assert p.grad.abs().sum() > 0
    assert sum(p.numel() for p in net.parameters() if p.grad is not None) == net.parameter_count(arch)


def test_parameter_count():
    net = _net()
    conv3, conv1 = 4 * 4 * 9, 4 * 4  # per stage width w: w*w*k*k, widths 4, 8, 16
    base = net.parameter_count(NONE)
    assert base == sum(p.numel() for p in net.parameters()) - sum(
        p.numel() for cell in net.layers if isinstance(cell, SearchCell) for p in cell.parameters()
    )
    one = lambda op: ("none", "none", "none", op, "none", "none")  # noqa: E731
    assert net.parameter_count(one("nor_conv_3x3")) - base == conv3 * (1 + 4 + 16)
    assert net.parameter_count(one("nor_conv_1x1")) - base == conv1 * (1 + 4 + 16)
    assert net.parameter_count(one("avg_pool_3x3")) == net.parameter_count(one("skip_connect")) == base


def test_archs_share_weights():
    net, x = _net(), _x()
    other = ("skip_connect",) * 6  # uses no conv
    with torch.no_grad():
        before = [net(x, a) for a in (ARCH_A, ARCH_B, other)]
        net.layers[0].ops[0]["nor_conv_3x3"][1].weight.mul_(-2)  # edge 1<-0 of the first cell, in both A and B
        after = [net(x, a) for a in (ARCH_A, ARCH_B, other)]
    assert not torch.allclose(before[0], after[0]) and not torch.allclose(before[1], after[1])
    assert torch.equal(before[2], after[2])


def test_batch_statistics_in_eval_mode():
    net, x = _net(), _x()
    assert not any("running" in name or "num_batches" in name for name, _ in net.named_buffers())
    train_out = net.train()(x, ARCH_A)
    eval_out = net.eval()(x, ARCH_A)
    assert torch.allclose(train_out, eval_out, rtol=0, atol=1e-6)
    # Batch statistics: an example's logits depend on the rest of the batch.
    assert not torch.allclose(net(x[:3], ARCH_A), eval_out[:3], atol=1e-4)


def test_determinism_and_memory_format():
    a, b = _net(seed=3), _net(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    x = _x()
    for arch in (ARCH_A, ARCH_B):
        assert torch.equal(a(x, arch), b(x, arch)) and torch.equal(a(x, arch), a(x, list(arch)))
    assert a.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    contiguous = _net(seed=3, channels_last=False)
    assert torch.allclose(contiguous(x.contiguous(), ARCH_A), a(x, ARCH_A), atol=1e-5)
    assert set(OPS) == set(ARCH_A) | set(ARCH_B)


def test_amp_runs_the_forward_in_bf16_and_returns_float32_logits():
    net, x = _net(), _x()
    plain = net(x, ARCH_A)
    net.amp = True
    mixed = net(x, ARCH_A)
    assert mixed.dtype == torch.float32 and not torch.equal(mixed, plain)  # bf16 rounding shows
    assert torch.allclose(mixed, plain, atol=0.1, rtol=0.1)
    mixed.sum().backward()
    assert net.classifier.weight.grad.dtype == torch.float32
