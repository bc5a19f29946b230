"""NAS algorithms: how each training step picks the super-net path(s) it trains.

Sampling-based (train single paths): ``spos``, ``fairnas``. Differentiable (learn architecture parameters on the
held-out half): ``pcdarts``, ``gdas``. All compose with ``landmarks=`` and ``regularizer=`` the same way.
``algorithm=NAME`` is the class a module of this package names ``ALGORITHM`` (lrnas/algorithms/NAME.py), with its
config conf/algorithm/NAME.yaml: adding an algorithm touches only those two new files. A config whose
``algorithm.name`` is a dotted path (``my_package.my_algorithm``) names the ``ALGORITHM`` of the user's own module.
"""
from __future__ import annotations

import importlib
import pkgutil
import random

import torch

from .base import Algorithm, StepResult
from .fairnas import FairNAS
from .gdas import GDAS
from .pcdarts import PCDARTS
from .spos import SPOS


def _discover() -> dict[str, type[Algorithm]]:
    modules = (importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__))
    return {module.__name__.rpartition(".")[2]: module.ALGORITHM for module in modules if hasattr(module, "ALGORITHM")}


ALGORITHMS = _discover()
DIFFERENTIABLE = {name for name, algorithm in ALGORITHMS.items() if algorithm.differentiable}


def get_algorithm(name: str) -> type[Algorithm]:
    """The class ``algorithm.name`` names: one of ALGORITHMS, or the ``ALGORITHM`` of a module given by dotted path."""
    if name in ALGORITHMS:
        return ALGORITHMS[name]
    from ..spaces import import_dotted

    valid = f"{', '.join(sorted(ALGORITHMS))}, or a dotted path to a module whose ALGORITHM is an Algorithm"
    algorithm = getattr(import_dotted("algorithm", name, valid), "ALGORITHM", None)
    if not (isinstance(algorithm, type) and issubclass(algorithm, Algorithm)):
        raise ValueError(f"algorithm={name!r} defines no ALGORITHM subclassing lrnas.algorithms.Algorithm; valid: "
                         f"{valid}")
    return algorithm


def build_algorithm(cfg, space, rng: random.Random, device: torch.device, generator: torch.Generator) -> Algorithm:
    """The algorithm ``cfg.name`` (an ``algorithm=`` config); ``generator`` draws on ``device`` (checkpointed)."""
    return get_algorithm(cfg.name)(space, rng, cfg, device, generator)


__all__ = ["ALGORITHMS", "DIFFERENTIABLE", "Algorithm", "FairNAS", "GDAS", "PCDARTS", "SPOS", "StepResult",
           "build_algorithm", "get_algorithm"]
