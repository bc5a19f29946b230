"""Zero-cost proxies: each against its definition computed by hand on a network small enough to do so, and
`lrnas proxies` end to end on synthetic data (the correlations it prints recomputed from the CSV it writes)."""
import csv
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy import stats
from torch import nn

from lrnas.cli import cli
from lrnas.evaluation.proxies import BATCH_SIZE, score_network


def linear_chain() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(6, 4, bias=False), nn.ReLU(), nn.Linear(4, 3, bias=False))


def images_labels(n=10):
    torch.manual_seed(1)
    return torch.randn(n, 1, 2, 3), torch.arange(n) % 3


def test_naswot_is_the_log_determinant_of_the_relu_code_kernel():
    torch.manual_seed(0)
    net, (images, labels) = nn.Sequential(nn.Flatten(), nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3)), images_labels(6)
    codes = (net[1](images.flatten(1)) > 0).double()
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T  # full rank here: the log-determinant is finite
    expected = np.linalg.slogdet(kernel.detach().numpy())[1]
    assert np.isfinite(expected)
    assert score_network(net, ["naswot"], images, labels)["naswot"] == pytest.approx(expected)


def test_synflow_of_a_linear_chain_is_twice_its_output_on_ones():
    # R = 1^T |W2| |W1| 1, and each layer's sum of |theta * dR/dtheta| is R again
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 4, bias=False), nn.Linear(4, 3, bias=False))
    w1, w2 = net[1].weight.detach().abs().double(), net[2].weight.detach().abs().double()
    expected = 2 * (w2 @ w1 @ torch.ones(6, dtype=torch.float64)).sum().item()
    assert score_network(net, ["synflow"], *images_labels())["synflow"] == pytest.approx(expected)
    assert net[1].weight.dtype == torch.float32 and (net[1].weight < 0).any()  # scored on a copy


def test_flops_count_multiply_accumulates_of_convs_and_linears():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1, groups=2), nn.Flatten(),
                        nn.Linear(4 * 32 * 32, 10))
    expected = 32 * 32 * 4 * 3 * 9 + 32 * 32 * 4 * 2 * 9 + 4 * 32 * 32 * 10
    assert score_network(net, ["flops"], torch.randn(2, 3, 32, 32), torch.zeros(2, dtype=torch.long))["flops"] \
        == pytest.approx(expected / 1e6)


def test_grad_norm_and_snip_from_the_cross_entropy_gradient():
    net, (images, labels) = linear_chain(), images_labels(80)
    batch = BATCH_SIZE["snip"]
    assert BATCH_SIZE["grad_norm"] == batch == 64  # zero-cost-nas's minibatch: the 16 images past it are not used
    loss = nn.functional.cross_entropy(net(images[:batch]), labels[:batch])
    grads = torch.autograd.grad(loss, [net[1].weight, net[3].weight])
    scores = score_network(net, ["grad_norm", "snip"], images, labels)
    assert scores["grad_norm"] == pytest.approx(sum(g.norm().item() for g in grads), rel=1e-5)
    assert scores["snip"] == pytest.approx(
        sum((g * w).abs().sum().item() for g, w in zip(grads, [net[1].weight, net[3].weight], strict=True)), rel=1e-5)


def test_jacob_cov_of_a_linear_network_sees_one_direction():
    # a linear net has the same input Jacobian for every image: their correlations are all 1: eigenvalues n, 0, ..., 0
    net, (images, labels) = nn.Sequential(nn.Flatten(), nn.Linear(6, 3)), images_labels(8)
    n, k = 8, 1e-5
    expected = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    assert score_network(net, ["jacob_cov"], images, labels)["jacob_cov"] == pytest.approx(expected, rel=1e-6)


def test_an_unknown_proxy_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"^unknown proxy 'zen'; valid: params, flops, naswot, synflow, grad_norm, "):
        score_network(linear_chain(), ["zen"], *images_labels())


def run_proxies(tmp_path, *args):
    return CliRunner().invoke(cli, ["proxies", "space=nb201", "data.synthetic={train:200,test:20}",
                                    f"data.cache_dir={tmp_path / 'cache'}", "standalone.network.C=4",
                                    "standalone.network.N=1", *args])


def test_lrnas_proxies_writes_scores_and_prints_their_correlations(tmp_path):
    out = tmp_path / "scores.csv"
    result = run_proxies(tmp_path, "--archs", "6", "--proxies", "params,naswot,synflow", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6 and list(rows[0]) == ["arch", "params", "naswot", "synflow", "cifar10_test"]
    truth = [float(row["cifar10_test"]) for row in rows]
    for name in ("params", "naswot", "synflow"):
        tau = stats.kendalltau([float(row[name]) for row in rows], truth).statistic
        assert f"  {name:<10} {tau:>+14.3f}" in result.output

    # each network is initialised from the seed alone: the same archs listed in another order score the same
    listed = tmp_path / "archs.txt"
    listed.write_text("\n".join(row["arch"] for row in reversed(rows)))
    again = tmp_path / "again.csv"
    assert run_proxies(tmp_path, "--archs", str(listed), "--proxies", "naswot,synflow", "--out", str(again)
                       ).exit_code == 0
    rescored = {row["arch"]: row for row in csv.DictReader(again.open())}
    assert all(rescored[row["arch"]]["naswot"] == row["naswot"] for row in rows)
    assert all(rescored[row["arch"]]["synflow"] == row["synflow"] for row in rows)


@pytest.mark.parametrize(("args", "message"), [
    (["--proxies", "naswot,zen"], "error: unknown proxy 'zen'; valid: params, flops, naswot"),
    (["--archs", "1"], "error: --archs 1: rank correlations need at least 2 architectures"),
    (["--archs", "99999"], "error: --archs 99999: the table holds 15625 architectures"),
    (["--archs", "missing.txt"], "error: --archs missing.txt: no such file; give a number, 'all', or a file"),
])
def test_bad_proxy_arguments_are_one_line(tmp_path, args, message):
    result = run_proxies(tmp_path, *args)
    assert result.exit_code == 2 and result.output.startswith(message) and result.output.count("\n") == 1, \
        result.output
