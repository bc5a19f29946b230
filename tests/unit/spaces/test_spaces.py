import random

import pytest

from lrnas.spaces import get_space, nb201

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_parse_format_round_trip():
    arch = nb201.parse_arch(BEST)
    assert arch == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_1x1")
    assert nb201.format_arch(arch) == BEST


def test_every_cell_round_trips_and_enumeration_is_complete():
    archs = nb201.all_archs()
    assert len(archs) == len(set(archs)) == nb201.NUM_ARCHS == 15625
    assert all(nb201.parse_arch(nb201.format_arch(a)) == a for a in archs)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "2 node groups"),
        ("|conv_5x5~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5'"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "must read 'none~1'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 incoming edges"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
    ],
)
def test_invalid_strings_say_why_in_one_line(bad, reason):
    with pytest.raises(nb201.InvalidArch, match=reason) as info:
        nb201.parse_arch(bad)
    assert "\n" not in str(info.value)


def test_uniform_sampler_covers_every_op_on_every_edge():
    rng = random.Random(0)
    samples = [nb201.sample_arch(rng) for _ in range(2000)]
    for edge in range(nb201.NUM_EDGES):
        counts = {op: sum(s[edge] == op for s in samples) for op in nb201.OPS}
        assert all(300 < c < 500 for c in counts.values()), counts  # 400 expected each
    assert nb201.sample_arch(random.Random(3)) == nb201.sample_arch(random.Random(3))


def test_unknown_space_is_one_line_error():
    with pytest.raises(ValueError, match="space='nb999' is unknown; valid: darts, nb101, nb201"):
        get_space("nb999")
