"""Search spaces, one module per space, found by name: ``space=NAME`` is ``lrnas/spaces/NAME.py``.

A space module defines its architecture encoding (``parse_arch``, ``format_arch``, ``sample_arch``, ``mutate``,
``crossover``, ``fair_paths``, ``OPS``, ``NUM_ARCHS``), its super-net (``SUPERNET = "module:Class"``) and its ground
truth (``load_benchmark(table)``, None when it ships none); optionally the relaxation the differentiable algorithms
need (``RELAXED_OPS``, ``RELAXED_EDGES``, ``most_probable``, ``derive_arch``) and the rules of its own config keys
(``config_rules``, ``check_config``). README "Adding a search space" lists the files a new space needs.

    >>> from lrnas.spaces import get_space
    >>> get_space("nb201").NUM_ARCHS
    15625
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

SPACES: tuple[str, ...] = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


def get_space(name: str) -> ModuleType:
    if name not in SPACES:
        raise ValueError(f"space={name!r} is unknown; valid: {', '.join(SPACES)}")
    return importlib.import_module(f"{__name__}.{name}")


def resolve(target: str):
    """The object a ``"package.module:attribute"`` string names (a space's ``SUPERNET``)."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)
