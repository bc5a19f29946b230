"""Iterative refinement: which epochs query the oracle, and which architectures it is asked about."""
import random

import numpy as np
import pytest
from omegaconf import OmegaConf

from lrnas.landmarks import refinement
from lrnas.landmarks.refinement import as_landmarks, refine_landmarks, refinement_epochs
from lrnas.spaces import nb201
from lrnas.spaces.nb201.benchmark import load_nb201


@pytest.mark.parametrize("epochs, rounds, expected", [(3, 1, {2}), (10, 2, {3, 7}), (8, 3, {2, 4, 6}), (2, 1, {1}),
                                                      (4, 3, {1, 2, 3}), (5, 0, set()), (1, 2, set())])
def test_rounds_are_evenly_spaced_and_never_after_the_last_epoch(epochs, rounds, expected):
    assert refinement_epochs(epochs, rounds) == expected


@pytest.fixture
def scored(monkeypatch):
    """The super-net's accuracy of an arch is its position in the pool (ties every 3), so the expected top is known."""
    pool = load_nb201().archs[:40]
    accuracy = {arch: float(i // 3) for i, arch in enumerate(pool)}

    def supernet_accuracies(super_net, archs, images, labels, batch_size):
        return np.array([accuracy[nb201.format_arch(arch) if not isinstance(arch, str) else arch] for arch in archs])

    monkeypatch.setattr(refinement, "supernet_accuracies", supernet_accuracies)
    return pool, accuracy


def test_the_best_candidates_by_super_net_accuracy_are_queried_with_the_configured_ground_truth(scored):
    pool, accuracy = scored
    refine = OmegaConf.create({"candidates": 30, "add_top": 10})  # > 16: numpy's default sort would reorder ties
    queries = refine_landmarks(None, nb201, load_nb201(), "cifar10_valid_valid", pool, refine, None, None, 64,
                               random.Random(7))
    candidates = random.Random(7).sample(pool, 30)
    ranked = sorted(candidates, key=lambda arch: -accuracy[arch])  # sorted() is stable: ties keep the draw order
    assert [q["arch"] for q in queries] == ranked[:10]
    assert [q["supernet_accuracy"] for q in queries] == [accuracy[a] for a in ranked[:10]]
    truth = load_nb201().accuracies(ranked[:10], "cifar10_valid_valid")
    assert [q["ground_truth"] for q in queries] == list(truth)
    assert list(truth) != list(load_nb201().accuracies(ranked[:10], "cifar10_test"))  # the metric matters
    assert [(lm.arch, lm.accuracy) for lm in as_landmarks(queries)] == list(zip(ranked[:10], truth, strict=True))


def test_one_top_candidate_is_enough(scored):
    pool, _ = scored
    refine = OmegaConf.create({"candidates": 3, "add_top": 1})
    assert len(refine_landmarks(None, nb201, load_nb201(), "cifar10_test", pool, refine, None, None, 64,
                                random.Random(0))) == 1


@pytest.mark.parametrize("candidates, add_top", [(41, 2), (5, 0), (5, 6)])
def test_impossible_rounds_say_what_is_allowed(scored, candidates, add_top):
    pool, _ = scored
    refine = OmegaConf.create({"candidates": candidates, "add_top": add_top})
    with pytest.raises(ValueError, match=rf"^landmarks.refine.candidates={candidates} and add_top={add_top} need "
                                         r"1 <= add_top <= candidates <= 40 \(architectures neither landmark nor "
                                         r"evaluated\)$"):
        refine_landmarks(None, nb201, load_nb201(), "cifar10_test", pool, refine, None, None, 64, random.Random(0))
