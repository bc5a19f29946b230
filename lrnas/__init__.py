"""lrnas: landmark-regularized weight-sharing NAS (Yu, Salzmann, Ranftl, CVPR 2021)."""
from omegaconf import OmegaConf


def _of_epochs(part: int, whole: int, *, _root_) -> int:
    """``${lrnas.of_epochs:150,400}`` in a config: ``part`` of every ``whole`` epochs of this run's
    ``trainer.epochs``, rounded, so a schedule written for the paper's 400 epochs keeps its shape at any budget.

    >>> cfg = OmegaConf.create({"trainer": {"epochs": 40}, "warmup": "${lrnas.of_epochs:150,400}"})
    >>> cfg.warmup
    15
    """
    return round(part / whole * _root_.trainer.epochs)


def _times(count: int, each: int) -> int:
    """``${lrnas.times:${landmarks.num_roots},10}``: a count that moves with another key (a sweep varies one)."""
    return int(count) * int(each)


# Registered on import: every path that composes lrnas's configs (CLI, preflight, tests) imports lrnas first.
OmegaConf.register_new_resolver("lrnas.of_epochs", _of_epochs, replace=True)
OmegaConf.register_new_resolver("lrnas.times", _times, replace=True)
