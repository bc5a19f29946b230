"""Architecture search after the super-net is trained; no torch here, the caller passes ``fitness(arch) -> float``
(e.g. super-net top-1 on ``search.num_images`` held-out images).

    >>> import random
    >>> from lrnas.spaces import nb201
    >>> cfg = {"name": "random", "candidates": 50, "num_images": 1000, "top_k": 10}
    >>> result = run_search(cfg, nb201, lambda arch: arch.count("nor_conv_3x3"), random.Random(0))
    >>> len(result.evaluated), len(result.top(cfg["top_k"]))
    (50, 10)

Sampling-based algorithms use ``run_search`` (``search=evolution`` or ``search=random``); differentiable ones read
their best architectures off the op distribution with the space's ``most_probable`` (NB201's is
:func:`top_k_by_probability`).
"""
from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Mapping
from types import ModuleType

from ..config_rules import integer
from .candidates import Arch, SearchResult
from .differentiable import top_k_by_probability
from .evolution import CONFIG_RULES as EVOLUTION_RULES
from .evolution import evolution_search
from .random_search import CONFIG_RULES as RANDOM_RULES
from .random_search import random_search

__all__ = ["SEARCHES", "SearchResult", "evolution_search", "random_search", "run_search", "top_k_by_probability"]

SEARCHES = {"evolution": evolution_search, "random": random_search}
# Keys of conf/search/*.yaml that the caller reads: images scoring each candidate, how many of the best to report.
CALLER_RULES = {"num_images": integer(1), "top_k": integer(1)}
CALLER_KEYS = tuple(CALLER_RULES)
# search.* of each option (lrnas.config_rules): the search's own keys, then the caller's.
SEARCH_RULES = {"evolution": {**EVOLUTION_RULES, **CALLER_RULES}, "random": {**RANDOM_RULES, **CALLER_RULES}}


def run_search(search_cfg: Mapping, space: ModuleType, fitness: Callable[[Arch], float],
               rng: random.Random) -> SearchResult:
    """Run the search named by ``search_cfg["name"]`` with the other keys as its options (a dict or DictConfig)."""
    options = dict(search_cfg)
    name = options.pop("name", None)
    if name not in SEARCHES:
        raise ValueError(f"search.name={name!r} is unknown; valid: {', '.join(SEARCHES)}")
    search = SEARCHES[name]
    accepted = [p for p in inspect.signature(search).parameters if p not in ("space", "fitness", "rng")]
    unknown = sorted(set(options) - set(accepted) - set(CALLER_KEYS))
    if unknown:
        raise ValueError(f"{', '.join(f'search.{k}' for k in unknown)} not used by search={name}; its options: "
                         f"{', '.join(f'search.{k}' for k in [*accepted, *CALLER_KEYS])}")
    for key in CALLER_KEYS:
        options.pop(key, None)
    return search(space, fitness, rng, **options)
