"""Tests of landmark selection and the ranking regularizer's pure pieces.

    .venv/bin/python -m pytest tests/unit/landmarks/test_landmarks.py -q
"""
from __future__ import annotations

import collections
import math
import random

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import compose_config
from lrnas.conf import CONFIG_DIR as CONF
from omegaconf import OmegaConf
from scipy.stats import chisquare

from lrnas.landmarks import (
    PAIR_PROCEDURES,
    PENALTIES,
    SCHEDULES,
    Landmark,
    LandmarkFileError,
    hamming_groups,
    lambda_at,
    landmarks_from_config,
    load_landmarks,
    normalised_gap,
    ranking_penalty,
    sample_pairs,
    save_landmarks,
    select_landmarks,
)
from lrnas.spaces import nb201


@pytest.fixture(scope="module")
def nb201_pool() -> pd.Series:
    """Every NB201 cell with a distinct synthetic accuracy (a stand-in for the cifar10_test column)."""
    archs = [nb201.format_arch(a) for a in nb201.all_archs()]
    accs = np.random.default_rng(0).permutation(len(archs)) / 100.0
    return pd.Series(accs, index=archs)


def hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(nb201.parse_arch(a), nb201.parse_arch(b), strict=True))


# ---------------------------------------------------------------- pair sampling


def test_random_pairs_follow_the_authors_formula():
    m, n = 6, 60_000
    pairs = sample_pairs("random_pairs", m, random.Random(0), num_pairs=n)
    assert len(pairs) == n and all(0 <= a < b < m for a, b in pairs)
    # a = randint(0, M-2): uniform over M-1 values; b | a = randint(a+1, M-1): uniform over M-1-a values.
    counts = collections.Counter(pairs)
    observed = [counts[(a, b)] for a in range(m - 1) for b in range(a + 1, m)]
    expected = [n / (m - 1) / (m - 1 - a) for a in range(m - 1) for b in range(a + 1, m)]
    assert chisquare(observed, expected).pvalue > 1e-3
    # The exact probabilities differ clearly from uniform-over-pairs: P(0, 1) = 1/25, P(4, 5) = 1/5.
    assert counts[(4, 5)] / n == pytest.approx(1 / 5, abs=0.01)
    assert counts[(0, 1)] / n == pytest.approx(1 / 25, abs=0.005)


def test_random_pairs_consume_the_rng_like_the_authors_loop():
    rng, ref = random.Random(7), random.Random(7)
    expected = []
    for _ in range(3):
        a = ref.randint(0, 8)
        expected.append((a, ref.randint(a + 1, 9)))
    assert sample_pairs("random_pairs", 10, rng, num_pairs=3) == expected


def test_all_pairs_order_and_count():
    pairs = sample_pairs("all_pairs", 30, random.Random(0))
    assert len(pairs) == 30 * 29 // 2 and len(set(pairs)) == len(pairs)
    assert pairs[:3] == [(0, 1), (0, 2), (0, 3)] and pairs[-1] == (28, 29)
    assert sample_pairs("all_pairs", 4, random.Random(0)) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


def test_adjacent_pairs_use_a_window_of_step():
    assert sample_pairs("adjacent_pairs", 4, random.Random(0)) == [(0, 1), (1, 2), (2, 3)]
    assert sample_pairs("adjacent_pairs", 5, random.Random(0), step=2) == [
        (0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]
    assert sample_pairs("adjacent_pairs", 4, random.Random(0), step=9) == sample_pairs("all_pairs", 4, random.Random(0))


def test_random_triplet_gives_two_chained_pairs():
    pairs = sample_pairs("random_triplet", 10, random.Random(3), num_pairs=50)
    assert len(pairs) == 100
    for (i, j), (j2, k) in zip(pairs[::2], pairs[1::2], strict=True):
        assert i < j == j2 < k < 10
    assert sample_pairs("random_triplet", 3, random.Random(0)) == [(0, 1), (1, 2)]


@pytest.mark.parametrize(
    ("procedure", "m", "step", "key"),
    [("ring_pairs", 5, 1, "regularizer.pair_procedure='ring_pairs'"), ("random_pairs", 1, 1, "needs >= 2"),
     ("random_triplet", 2, 1, "needs >= 3"), ("adjacent_pairs", 5, 0, "regularizer.adjacent_step=0")],
)
def test_pair_errors_name_the_key(procedure, m, step, key):
    with pytest.raises(ValueError, match=key):
        sample_pairs(procedure, m, random.Random(0), step=step)


# ---------------------------------------------------------------- penalty


def test_hinge_is_zero_when_correctly_ordered_and_gradients_are_plus_minus_lambda():
    lam = 10.0
    better, worse = torch.tensor(0.5, requires_grad=True), torch.tensor(1.0, requires_grad=True)
    penalty = lam * ranking_penalty(better, worse)
    penalty.backward()
    assert penalty.item() == 0.0 and better.grad.item() == 0.0 and worse.grad.item() == 0.0

    better, worse = torch.tensor(1.5, requires_grad=True), torch.tensor(1.0, requires_grad=True)
    penalty = lam * ranking_penalty(better, worse)
    penalty.backward()
    assert penalty.item() == pytest.approx(5.0)
    assert better.grad.item() == pytest.approx(lam) and worse.grad.item() == pytest.approx(-lam)


def test_penalty_values():
    lb, la = torch.tensor(1.3), torch.tensor(1.0)
    x = 0.3
    assert ranking_penalty(lb, la, "softplus", beta=5).item() == pytest.approx(math.log1p(math.exp(5 * x)) / 5)
    assert ranking_penalty(lb, la, "logistic").item() == pytest.approx(-math.log(1 - 1 / (1 + math.exp(-x))))
    assert ranking_penalty(la, lb, "margin_hinge", margin=1.0).item() == pytest.approx(0.7)
    assert ranking_penalty(la, lb, "margin_hinge", margin=0.2).item() == 0.0
    assert ranking_penalty(lb, la, "hinge", gap_weight=0.25).item() == pytest.approx(0.075)
    with pytest.raises(ValueError, match="regularizer.penalty"):
        ranking_penalty(lb, la, "square")


def test_gap_weight_is_min_max_normalised():
    accs = [70.0, 80.0, 90.0, 95.0]
    assert normalised_gap(accs, 0, 3) == 1.0
    assert normalised_gap(accs, 1, 2) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="regularizer.gap_weighted"):
        normalised_gap([1.0, 1.0], 0, 1)


# ---------------------------------------------------------------- lambda schedules


def cos_up(x: float) -> float:
    return (1 - math.cos(math.pi * x)) / 2


@pytest.mark.parametrize("epoch", [0, 149])
@pytest.mark.parametrize("schedule", ["constant", "cosine_increase", "cosine_decrease", "linear_step_decrease"])
def test_zero_during_warmup(schedule, epoch):
    assert lambda_at(schedule, epoch, total_epochs=400, warmup_epochs=150) == 0.0


def test_cosine_increase_paper_quirk():
    # Authors: T_cur = (epoch - warmup) + batch_idx (default 1), T_total = all epochs, not epochs after warm-up.
    for epoch in (150, 200, 275, 399):
        expected = 10 * cos_up((epoch - 150 + 1) / 400)
        assert lambda_at("cosine_increase", epoch, 400, 150, lam=10.0) == pytest.approx(expected)
    last = lambda_at("cosine_increase", 399, 400, 150, lam=1.0)
    assert last == pytest.approx(0.6913, abs=1e-4)  # "≈0.69 λ at 400 epochs with 150 warm-up"
    assert lambda_at("cosine_increase", 150, 400, 150, lam=1.0) > 0  # the +1: non-zero from the first epoch


def test_cosine_increase_reach_nominal():
    assert lambda_at("cosine_increase", 399, 400, 150, lam=10.0, reach_nominal=True) == pytest.approx(10.0)
    assert lambda_at("cosine_increase", 274, 400, 150, lam=10.0, reach_nominal=True) == pytest.approx(10 * cos_up(0.5))
    values = [lambda_at("cosine_increase", e, 400, 150, reach_nominal=True) for e in range(150, 400)]
    assert values == sorted(values)


def test_cosine_decrease_and_constant():
    assert lambda_at("constant", 150, 400, 150, lam=3.0) == 3.0
    assert lambda_at("cosine_decrease", 150, 400, 150, lam=10.0) == pytest.approx(10 * (1 - cos_up(1 / 250)))
    assert lambda_at("cosine_decrease", 274, 400, 150, lam=10.0) == pytest.approx(5.0)
    assert lambda_at("cosine_decrease", 399, 400, 150, lam=10.0) == pytest.approx(0.0, abs=1e-12)
    # reach_nominal only concerns cosine_increase
    plain = lambda_at("cosine_decrease", 200, 400, 150)
    assert lambda_at("cosine_decrease", 200, 400, 150, reach_nominal=True) == plain


def test_linear_steps():
    # T = 250 epochs after warm-up: quarters start at t = 62, 125, 186 (the authors' T//4*3).
    up = {150: 0.0, 211: 0.0, 212: 0.1, 274: 0.1, 275: 1.0, 335: 1.0, 336: 10.0, 399: 10.0}
    down = {150: 10.0, 211: 10.0, 212: 1.0, 274: 1.0, 275: 0.1, 335: 0.1, 336: 0.01, 399: 0.01}
    for epoch, value in up.items():
        assert lambda_at("linear_step_increase", epoch, 400, 150, lam=10.0) == pytest.approx(value)
    for epoch, value in down.items():
        assert lambda_at("linear_step_decrease", epoch, 400, 150, lam=10.0) == pytest.approx(value)


def test_ramp_epochs_only_for_schedules_without_increase():
    # Authors' landmark_warmup_epoch: (t + 2) / (ramp + 1), then the schedule over the remaining epochs.
    assert lambda_at("constant", 150, 400, 150, lam=11.0, ramp_epochs=10) == pytest.approx(2.0)
    assert lambda_at("constant", 159, 400, 150, lam=11.0, ramp_epochs=10) == pytest.approx(11.0)
    assert lambda_at("cosine_decrease", 160, 400, 150, lam=1.0, ramp_epochs=10) == pytest.approx(1 - cos_up(1 / 240))
    assert lambda_at("cosine_increase", 150, 400, 150, ramp_epochs=10) == lambda_at("cosine_increase", 150, 400, 150)


def test_unknown_schedule():
    with pytest.raises(ValueError, match="regularizer.schedule='cosine'"):
        lambda_at("cosine", 200, 400, 150)


# ---------------------------------------------------------------- landmark selection


@pytest.mark.parametrize("method", ["random", "fixed", "hamming"])
def test_selection_sorted_distinct_reproducible(nb201_pool, method):
    lms = select_landmarks(method, nb201_pool, 30, seed=1, space=nb201)
    assert len(lms) == 30 and len({lm.arch for lm in lms}) == 30
    assert [lm.accuracy for lm in lms] == sorted(lm.accuracy for lm in lms)
    assert all(lm.accuracy == nb201_pool[lm.arch] for lm in lms)
    assert select_landmarks(method, nb201_pool, 30, seed=1, space=nb201) == lms
    # Row order of the pool does not matter, the seed does.
    assert select_landmarks(method, nb201_pool.sample(frac=1.0, random_state=3), 30, seed=1, space=nb201) == lms
    if method != "fixed":
        assert select_landmarks(method, nb201_pool, 30, seed=2, space=nb201) != lms


def test_fixed_picks_evenly_spaced_ranks_including_worst_and_best():
    pool = pd.Series({f"a{i:03d}": float(i) for i in range(101)}).sample(frac=1.0, random_state=0)
    lms = select_landmarks("fixed", pool, 11, seed=0)
    assert [lm.accuracy for lm in lms] == [float(r) for r in range(0, 101, 10)]
    lms = select_landmarks("fixed", pool, 7, seed=0)
    ranks = [int(lm.accuracy) for lm in lms]
    assert ranks[0] == 0 and ranks[-1] == 100 and max(np.diff(ranks)) - min(np.diff(ranks)) <= 1


def test_random_selection_is_uniform_over_the_pool():
    pool = pd.Series({f"a{i}": float(i) for i in range(20)})
    counts = collections.Counter(lm.arch for s in range(2000) for lm in select_landmarks("random", pool, 5, seed=s))
    assert chisquare([counts[a] for a in pool.index]).pvalue > 1e-3


@pytest.mark.parametrize(("num_roots", "distance"), [(1, 1), (3, 2), (5, 4), (2, 0)])
def test_hamming_neighbours_lie_beyond_the_distance(nb201_pool, num_roots, distance):
    m = 20 if distance == 0 else 30  # distance 0 -> radius-1 sphere of 24 cells per root
    groups = hamming_groups(list(nb201_pool.index), m, np.random.default_rng(0), nb201, num_roots, distance)
    assert len(groups) == num_roots and all(len(g) == m // num_roots for g in groups)
    members = [a for g in groups for a in g]
    assert len(set(members)) == m
    for root, *neighbours in groups:
        # Each mutation moves the distance by one, so the walk stops at exactly distance + 1.
        assert all(hamming(root, n) == distance + 1 for n in neighbours)


def test_hamming_errors(nb201_pool):
    with pytest.raises(ValueError, match="landmarks.num_roots=4"):
        select_landmarks("hamming", nb201_pool, 30, seed=0, space=nb201, num_roots=4)
    with pytest.raises(ValueError, match="landmarks.distance=6"):
        select_landmarks("hamming", nb201_pool, 30, seed=0, space=nb201, distance=6)
    with pytest.raises(ValueError, match="could not find a new neighbour"):  # only 24 cells at distance 1
        select_landmarks("hamming", nb201_pool, 30, seed=0, space=nb201, num_roots=1, distance=0)


@pytest.mark.parametrize("m", [1, 0, 16, 2.5, None])
def test_num_landmarks_errors_are_one_line(m):
    pool = pd.Series({f"a{i}": float(i) for i in range(15)})
    with pytest.raises(ValueError, match=r"landmarks\.num_landmarks=.* 2\.\.15") as err:
        select_landmarks("random", pool, m, seed=0)
    assert "\n" not in str(err.value)


def test_method_and_option_errors(nb201_pool):
    with pytest.raises(ValueError, match="landmarks.method='best'.*random, fixed, hamming, file") as err:
        select_landmarks("best", nb201_pool, 30, seed=0)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="landmarks.distance not used by landmarks.method='random'"):
        select_landmarks("random", nb201_pool, 30, seed=0, distance=2)
    assert select_landmarks("none", nb201_pool, 30, seed=0) == []


def test_validate_arch_applies_to_every_landmark():
    pool = pd.Series({f"a{i}": float(i) for i in range(10)})
    with pytest.raises(nb201.InvalidArch):
        select_landmarks("random", pool, 3, seed=0, validate_arch=nb201.parse_arch)


# ---------------------------------------------------------------- files


def test_save_load_round_trip_and_file_method(tmp_path, nb201_pool):
    lms = select_landmarks("random", nb201_pool, 30, seed=5)
    path = tmp_path / "landmarks.csv"
    save_landmarks(lms, path)
    assert path.read_text().splitlines()[:2] == ["arch,accuracy", f"{lms[0].arch},{lms[0].accuracy!r}"]
    assert load_landmarks(path) == lms
    assert select_landmarks("file", None, None, seed=0, path=path, validate_arch=nb201.parse_arch) == lms
    assert select_landmarks("file", None, 30, seed=0, path=str(path)) == lms
    with pytest.raises(ValueError, match="landmarks.num_landmarks=10 but"):
        select_landmarks("file", None, 10, seed=0, path=path)


def test_file_rows_are_sorted_by_accuracy(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("arch,accuracy\nb,91.5\na,90\n\nc,93.25\n")
    assert select_landmarks("file", None, None, seed=0, path=path) == [
        Landmark("a", 90.0), Landmark("b", 91.5), Landmark("c", 93.25)]


GOOD = nb201.format_arch(("nor_conv_3x3",) * 6)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (f"arch,accuracy\n{GOOD},91.2\n{GOOD.replace('3x3', '1x1')},abc\n", ":3: accuracy 'abc' is not a finite"),
        (f"arch,accuracy\n{GOOD},nan\n", ":2: accuracy 'nan'"),
        (f"arch,accuracy\n{GOOD},91.2,extra\n", ":2: row"),
        ("arch,accuracy\n|conv~0|,91.2\n", ":2: arch '|conv~0|' is invalid"),
        (f"arch,accuracy\n{GOOD},91.2\n{GOOD},92\n", ":3: arch"),
        (",91.2\n", ":1: header"),
        ("", ":1: header is 'an empty file'"),
        (f"arch,accuracy\n{GOOD},91.2\n", ": has 1 landmark rows; expected at least 2"),
    ],
)
def test_malformed_file_gives_one_line_error(tmp_path, text, needle):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(LandmarkFileError) as err:
        select_landmarks("file", None, None, seed=0, path=path, validate_arch=nb201.parse_arch)
    message = str(err.value)
    assert message.startswith(str(path)) and needle in message and "\n" not in message
    assert isinstance(err.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(LandmarkFileError, match="cannot read landmark file"):
        load_landmarks(tmp_path / "nope.csv")


# ---------------------------------------------------------------- config groups


@pytest.mark.parametrize("name", ["none", "random", "fixed", "hamming", "file"])
def test_landmark_configs_match_the_api(nb201_pool, tmp_path, name):
    overrides = [f"landmarks={name}"]
    if name == "file":
        save_landmarks(select_landmarks("random", nb201_pool, 30, seed=0), tmp_path / "l.csv")
        overrides.append(f"landmarks.path={tmp_path / 'l.csv'}")
    cfg = compose_config(*overrides).landmarks
    assert cfg.method == name and cfg.get("seed") is None
    lms = landmarks_from_config(cfg, nb201_pool, run_seed=0, validate_arch=nb201.parse_arch, space=nb201)
    assert len(lms) == (0 if name == "none" else 30)
    assert name == "none" or cfg.refine.rounds == 0  # refinement is off unless asked for


def test_regularizer_config_defaults():
    cfg = OmegaConf.load(CONF / "regularizer" / "landmark.yaml")
    assert (cfg.name, cfg.lam, cfg.schedule, cfg.reach_nominal, cfg.penalty) == (
        "landmark", 10.0, "cosine_increase", False, "hinge")
    assert (cfg.pair_procedure, cfg.num_pairs, cfg.every_k_steps, cfg.landmark_batch_size) == (
        "random_pairs", 1, 1, None)
    assert cfg.schedule in SCHEDULES and cfg.penalty in PENALTIES and cfg.pair_procedure in PAIR_PROCEDURES
    assert OmegaConf.load(CONF / "regularizer" / "none.yaml").name == "none"


def test_schedule_keeps_its_last_value_after_schedule_epochs():
    from lrnas.landmarks.regularizer import lambda_at
    end = lambda_at("cosine_increase", 99, 100, 0, 10.0, reach_nominal=True)
    assert end == pytest.approx(10.0)
    assert lambda_at("cosine_increase", 130, 100, 0, 10.0, reach_nominal=True) == end
    assert lambda_at("cosine_decrease", 130, 100, 0, 10.0) == lambda_at("cosine_decrease", 99, 100, 0, 10.0)


def regularizer_with(schedule, run_epochs=400, **overrides):
    from lrnas.landmarks import LandmarkRegularizer

    archs = [nb201.sample_arch(random.Random(i)) for i in range(2)]
    landmarks = [Landmark(nb201.format_arch(a), 80.0 + i) for i, a in enumerate(archs)]
    reg = {"lam": 10.0, "schedule": schedule, "reach_nominal": False, "warmup_epochs": 150, "ramp_epochs": 0,
           "penalty": "hinge", "beta": 1.0, "margin": 1.0, "gap_weighted": False, "pair_procedure": "random_pairs",
           "num_pairs": 1, "adjacent_step": 1, "every_k_steps": 1, "landmark_batch_size": None}
    return LandmarkRegularizer(landmarks, archs, OmegaConf.create({**reg, **overrides}), run_epochs, random.Random(0))


def test_coefficient_applies_reach_nominal():
    # The regularizer's own coefficient(), not only lambda_at: the config keys must reach the schedule.
    quirk, nominal = regularizer_with("cosine_increase"), regularizer_with("cosine_increase", reach_nominal=True)
    for epoch in (150, 274, 399):
        assert quirk.coefficient(epoch) == pytest.approx(10 * cos_up((epoch - 150 + 1) / 400))
        assert nominal.coefficient(epoch) == pytest.approx(10 * cos_up((epoch - 150 + 1) / 250))
    assert nominal.coefficient(399) == pytest.approx(10.0) and quirk.coefficient(399) == pytest.approx(6.913, abs=1e-3)
    assert quirk.coefficient(149) == nominal.coefficient(149) == 0.0


def test_coefficient_applies_ramp_epochs():
    ramped = regularizer_with("constant", lam=11.0, ramp_epochs=10)
    assert [ramped.coefficient(e) for e in (149, 150, 151, 158, 159, 160, 399)] == pytest.approx(
        [0.0, 2.0, 3.0, 10.0, 11.0, 11.0, 11.0])  # 11 * (t + 2) / 11 for t < 10, then constant
    decrease = regularizer_with("cosine_decrease", lam=1.0, ramp_epochs=10)
    assert decrease.coefficient(155) == pytest.approx(7 / 11)
    # after the ramp, the cosine runs over the remaining 250 - 10 epochs
    assert decrease.coefficient(160) == pytest.approx(1 - cos_up(1 / 240))
    assert decrease.coefficient(279) == pytest.approx(0.5)
    assert regularizer_with("cosine_decrease", lam=1.0).coefficient(155) == pytest.approx(1 - cos_up(6 / 250))
