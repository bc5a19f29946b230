"""eval.bn=recalibrate: each architecture scored with BatchNorm statistics of its own path on training batches."""
import random

import pytest
import torch

from lrnas.evaluation.bn_recalibration import running_statistics
from lrnas.evaluation.ranking import supernet_accuracies
from lrnas.spaces import build_supernet, nb201


def test_recalibrated_scores_do_not_depend_on_how_the_test_images_are_batched():
    """With batch statistics an arch's score moves with the evaluation batch; with recalibrated statistics the test
    images are normalised alike whatever their batch, so the scores are the same."""
    torch.manual_seed(0)
    net = build_supernet("nb201", C=8, N=1)
    archs = [nb201.sample_arch(random.Random(seed)) for seed in range(6)]
    images, labels = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
    training = [torch.randn(32, 3, 32, 32) + 0.5 for _ in range(2)]
    recalibrated = [supernet_accuracies(net, archs, images, labels, size, progress=False, recalibration=training)
                    for size in (16, 64)]
    assert recalibrated[0].tolist() == recalibrated[1].tolist()
    batch = [supernet_accuracies(net, archs, images, labels, size, progress=False) for size in (16, 64)]
    assert batch[0].tolist() != batch[1].tolist() and batch[1].tolist() != recalibrated[1].tolist()
    assert all(module.running_mean is None for module in net.modules() if isinstance(module, torch.nn.BatchNorm2d))


def test_a_super_net_without_batchnorm_modules_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"^eval.bn=recalibrate needs BatchNorm modules .* use eval.bn=batch$"):
        with running_statistics(build_supernet("nb101", C=8, N=1)):
            pass
