"""What every search space promises lrnas (lrnas.spaces.FACE), checked on each one: a new space gets these for free."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lrnas.spaces import FACE, SPACES, build_supernet, get_space

DRAWS = 30


@pytest.fixture(params=SPACES)
def space(request):
    return get_space(request.param)


def valid(space, arch) -> bool:
    """``arch`` is a network of ``space``: its string parses back to it (and it passes the space's own check)."""
    parsed = space.parse_arch(space.format_arch(arch))
    if space.validate:
        space.validate(parsed)
    return parsed == arch


def test_the_face_defines_every_name(space):
    assert [name for name in FACE if not hasattr(space, name)] == []


def test_samples_round_trip_and_differ(space):
    rng = random.Random(0)
    archs = [space.sample_arch(rng) for _ in range(DRAWS)]
    assert all(valid(space, arch) for arch in archs)
    assert len({space.format_arch(arch) for arch in archs}) > DRAWS // 2
    assert space.sample_arch(random.Random(1)) == space.sample_arch(random.Random(1))


def test_mutation_and_crossover_give_networks_of_the_space(space):
    rng = random.Random(0)
    for _ in range(DRAWS):
        a, b = space.sample_arch(rng), space.sample_arch(rng)
        mutated = space.mutate(a, rng, 1.0)
        assert valid(space, mutated) and mutated != a
        assert valid(space, space.crossover(a, b, rng))


def test_fair_paths_are_networks_of_the_space(space):
    paths = space.fair_paths(random.Random(0))
    assert len(paths) >= len(space.OPS) - 1 and all(valid(space, path) for path in paths)


def test_one_edit_changes_one_choice(space):
    if space.one_edit is None:
        pytest.skip(f"{space.__name__} defines no landmarks=hamming walk")
    rng = np.random.default_rng(0)
    for _ in range(DRAWS):
        arch = space.sample_arch(random.Random(int(rng.integers(1 << 30))))
        edited = space.one_edit(arch, rng)
        assert valid(space, edited) and space.edit_distance(edited, arch) == 1


def test_a_bad_string_is_one_line_error(space):
    with pytest.raises(space.InvalidArch) as error:
        space.parse_arch("not an architecture")
    assert "\n" not in str(error.value)


def test_the_supernet_trains_a_sampled_path(space):
    torch.manual_seed(0)
    net = build_supernet(space.__name__.rpartition(".")[2], C=4, N=1, num_classes=10)
    arch = space.sample_arch(random.Random(0))
    x = torch.randn(8, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    loss = torch.nn.functional.cross_entropy(net(x, arch), torch.arange(8) % 10)
    loss.backward()
    used = [p for p in net.path_parameters(arch) if p.grad is not None]
    assert torch.isfinite(loss) and used and all(torch.isfinite(p.grad).all() for p in used)
    # Weights off the path get no gradient: a single path trains only its own ops.
    on_path = {id(p) for p in net.path_parameters(arch)}
    assert all(p.grad is None or not p.grad.any() for p in net.parameters() if id(p) not in on_path)


def test_a_space_without_part_of_the_face_is_refused(monkeypatch):
    monkeypatch.delattr(get_space("nb201"), "fair_paths")
    with pytest.raises(ValueError, match=r"space='nb201': .* does not define fair_paths \(every space"):
        get_space("nb201")
