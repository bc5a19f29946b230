"""Search spaces: arch encoding, validation, uniform sampling, enumeration (one module per space)."""
from __future__ import annotations

from types import ModuleType

from . import nb101, nb201

SPACES: dict[str, ModuleType] = {"nb101": nb101, "nb201": nb201}


def get_space(name: str) -> ModuleType:
    if name not in SPACES:
        raise ValueError(f"space={name!r} is unknown; valid: {', '.join(sorted(SPACES))}")
    return SPACES[name]
