"""Where tensors live: CUDA when present (``device=auto``), else the CPU; a CUDA request without CUDA is refused."""
from __future__ import annotations

import re

import torch

from .config_rules import Rule

CONFIG_RULES = {"device": Rule("auto, cpu, cuda or cuda:N",  # the top-level key (lrnas.config_rules)
                               lambda v: isinstance(v, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", v) is not None)}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} but CUDA is not available here; use device=cpu or device=auto")
    return torch.device(name)
