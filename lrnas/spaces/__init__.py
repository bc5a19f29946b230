"""Search spaces, one package per space, found by name: ``space=NAME`` is ``lrnas/spaces/NAME/``, and a config whose
``space.name`` is a dotted path (``my_package.my_space``) is the user's own module, imported as it is.

A space package holds its encoding (``arch.py``), super-net, ground-truth table, importer and stand-alone network;
its ``__init__.py`` is the face lrnas reads, and defines every name of ``FACE``:

- the encoding: ``OPS``, ``NUM_ARCHS``, ``InvalidArch``, ``parse_arch``/``format_arch`` (string <-> arch),
  ``sample_arch(rng)``, ``mutate(arch, rng)``, ``crossover(a, b, rng)``, ``fair_paths(rng)`` (FairNAS: paths that
  together use every op of every choice once);
- ``SUPERNET = "module:Class"`` and ``load_benchmark(table)`` (its ground truth; None when it ships none);
- ``CONFIG_RULES`` (lrnas.config_rules of its own ``space.*`` keys, beside SPACE_RULES) and ``check_config(values)``
  (cross-key checks on the resolved config; None where it needs none);
- capabilities, each None where the space lacks it: ``validate(arch)`` (a parsed arch that may
  still not be a network), the relaxation the differentiable algorithms need (``RELAXED_OPS``, ``RELAXED_EDGES``,
  ``most_probable``, ``derive_arch``) and the one-edit walk of ``landmarks=hamming`` (``one_edit(arch, rng)``: one
  random change of one choice, drawn from a numpy Generator; ``edit_distance(a, b)``: how many choices differ, at
  most ``NUM_EDGES``).

README "Adding a search space" lists the files a new space needs, inside lrnas or in a package of your own.

    >>> from lrnas.spaces import get_space
    >>> get_space("nb201").NUM_ARCHS
    15625
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ..config_rules import integer, text

SPACES: tuple[str, ...] = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)
                                       if m.ispkg and not m.name.startswith("_")))


# space.* of every space (lrnas.config_rules); a space's own keys are its CONFIG_RULES.
SPACE_RULES = {"channels": integer(1), "cells_per_stage": integer(1),
               "ground_truth": text()}  # the benchmark's metrics: lrnas.validation checks against its table

FACE = ("OPS", "NUM_ARCHS", "InvalidArch", "parse_arch", "format_arch", "sample_arch", "mutate", "crossover",
        "fair_paths", "SUPERNET", "load_benchmark", "CONFIG_RULES", "check_config", "validate", "RELAXED_OPS",
        "RELAXED_EDGES", "most_probable", "derive_arch", "one_edit", "edit_distance")


def get_space(name: str) -> ModuleType:
    """The space ``name``: one of SPACES, or a dotted path to a module (a user's own space) that defines FACE."""
    if name in SPACES:
        space = importlib.import_module(f"{__name__}.{name}")
    else:
        space = import_dotted("space", name, f"{', '.join(SPACES)}, or a dotted path to a module that defines "
                              "each name of lrnas.spaces.FACE")
    missing = [attribute for attribute in FACE if not hasattr(space, attribute)]
    if missing:
        raise ValueError(f"space={name!r}: {space.__file__} does not define {', '.join(missing)} (every space defines "
                         "each name of lrnas.spaces.FACE; None where it lacks a capability)")
    return space


def import_dotted(kind: str, name: str, valid: str) -> ModuleType:
    """The module a dotted path ``name`` names (``kind``: the config group, for the message); a name that is no
    dotted path, or a module that does not import, is a one-line ValueError saying what is ``valid``."""
    if "." not in name.strip("."):
        raise ValueError(f"{kind}={name!r} is unknown; valid: {valid}")
    try:
        return importlib.import_module(name)
    except ImportError as error:  # the user's module or one it imports is missing: name which
        raise ValueError(f"{kind}={name!r} cannot be imported ({type(error).__name__}: {error}); valid: {valid}"
                         ) from None


class TableSampled:
    """``space`` whose ``sample_arch`` draws uniformly from a table's archs (``space.sample_from_table``: the authors'
    darts_nds SPOS trains only the NDS networks); every other name is the space's."""

    def __init__(self, space: ModuleType, archs: list):
        self.space, self.archs = space, archs

    def __getattr__(self, name: str):
        return getattr(self.space, name)

    def sample_arch(self, rng):
        return self.archs[rng.randrange(len(self.archs))]


def training_space(space: ModuleType, space_cfg, benchmark):
    """The space the algorithm samples paths from: ``space``, or with ``space.sample_from_table`` (a key of the
    spaces whose table is a subset of them) uniform over ``benchmark``'s archs."""
    if not space_cfg.get("sample_from_table"):
        return space
    return TableSampled(space, [space.parse_arch(arch) for arch in benchmark.archs])


def resolve(target: str):
    """The object a ``"package.module:attribute"`` string names (a space's ``SUPERNET``)."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def load_benchmark(name: str, table: str | None = None):
    """The ground truth of the search space ``name`` (cached after the first call), or None for a space that ships
    none (DARTS) when no ``table`` is given; ``table``: another table file (``space.table``, e.g. all NB101 cells
    imported by ``lrnas bench import nb101``)."""
    return get_space(name).load_benchmark(table)


def build_supernet(name: str = "nb201", C: int = 16, N: int = 5, num_classes: int = 10, amp: bool = False,
                   **options):
    """Super-net for space ``name`` with stem width C, N cells per stage and ``num_classes`` outputs; ``amp``: bf16
    autocast forwards. ``options`` are the space's own super-net variants (its config's ``space.supernet``), passed to
    its constructor as they are.

        >>> net = build_supernet("nb201", C=4, N=1)
        >>> net.parameter_count(("nor_conv_3x3",) * 6) < sum(p.numel() for p in net.parameters())
        True
    """
    return resolve(get_space(name).SUPERNET)(C=C, N=N, num_classes=num_classes, amp=amp, **options)
