"""Stand-alone networks: the architecture each landmark is trained as, checked against the benchmarks' own counts."""
import random

import pytest
import torch

from lrnas.spaces import load_benchmark, nb101, nb201
from lrnas.spaces.nb101.network import NB101Network, parameter_count
from lrnas.spaces.nb201.benchmark import load_nb201
from lrnas.spaces.nb201.network import NB201Network


def count(net) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(("arch", "params_m"), [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 1.531546),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0.073306),
    ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|", 0.129306)])
def test_nb201_network_has_the_tables_parameter_count(arch, params_m):
    assert load_nb201().query(arch)["params_m"] == pytest.approx(params_m, abs=1e-6)
    assert count(NB201Network(nb201.parse_arch(arch))) == round(params_m * 1e6)


def test_nb201_network_matches_the_table_on_a_sample_of_cells():
    """204 of the 15,625 cells (all with a skip_connect) differ in the shipped table, whose params come from the NASWOT
    export; this seeded sample holds none of them, and a structural error in the network would change its counts."""
    table = load_nb201().table.sample(80, random_state=0)
    equal = [count(NB201Network(nb201.parse_arch(a))) == round(p * 1e6)
             for a, p in zip(table["arch_str"], table["params_m"], strict=True)]
    assert all(equal)  # none of the 204 differing cells is in this seeded sample


def test_nb201_network_trains_and_uses_running_statistics_at_test_time():
    net = NB201Network(nb201.parse_arch("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|"
                                        "skip_connect~2|"), C=4, N=1)
    images = torch.randn(8, 3, 32, 32)
    assert net(images).shape == (8, 10)
    net.eval()
    one = net(images[:1])
    assert torch.allclose(one, net(images)[:1], atol=1e-5)  # batch-independent: running statistics, not the batch's


def test_nb101_network_has_nb101s_parameter_count():
    benchmark = load_benchmark("nb101", None)
    table = benchmark.table.sample(12, random_state=random.Random(0).randrange(1000))
    for arch, params in zip(table["arch_str"], table["params"], strict=True):
        assert parameter_count(NB101Network(nb101.parse_arch(arch))) == params, arch


def test_nb101_network_keeps_nb101s_batchnorm_momentum_in_pytorchs_convention():
    net = NB101Network(nb101.parse_arch("0100000001000000010000000100000001000000010000000:" + ",".join(
        ["conv3x3-bn-relu"] * 5)))
    momenta = [m.momentum for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert momenta and momenta == pytest.approx([0.003] * len(momenta))  # TF's 0.997 keeps 0.997 of the average
