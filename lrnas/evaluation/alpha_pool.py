"""The authors' evaluation pool of a differentiable run (``eval.pool=alpha_refresh``), beside lrnas's fixed sample.

kcyu2014/nas-landmarkreg scores GDAS and PC-DARTS on a pool that starts as the uniform 200 and changes during the
alpha search: after every evaluation the pool is ranked by super-net accuracy (search_space.py:139-152); at each
evaluation of the search phase, 1,000 genotypes are drawn from Categorical(alpha) per edge (model_search.py:211-241)
and the 10 most frequent are pushed in one by one (differentiable_policy.py:205-219, 268-317), each push popping the
pool's right end, the super-net's worst-ranked arch or the arch pushed just before (search_space.py:129-137). So the
pool's worst arch gives way to alpha's 10th pick, and alpha's picks already in the pool move to its end. lrnas
reports the tau on that pool as ``pool_kendall_tau`` beside the tau on its fixed sample.

    >>> refresh_pool(["best", "good", "worst"], ["new1", "good", "new2"], size=3)  # alpha's "good" is evicted
    ['best', 'new1', 'new2']
    >>> refresh_pool(["a", "b", "c"], ["x", "y"], size=3)
    ['a', 'b', 'y']
"""
from __future__ import annotations

import random
from collections import Counter

import numpy as np

POOLS = ("fixed", "alpha_refresh")
ALPHA_DRAWS = 1000  # top_K_num_sample (differentiable_policy.py:24)
PUSHED = 10  # sample_and_summarize(10, ...) (differentiable_policy.py:213)


def alpha_favourites(probabilities: np.ndarray, space, rng: random.Random, draws: int = ALPHA_DRAWS,
                     k: int = PUSHED) -> list[str]:
    """The ``k`` archs drawn most often in ``draws`` draws of one op per edge from ``probabilities`` (rows: the
    relaxed edges), most frequent first; equal counts in the authors' order (a stable ascending sort, reversed)."""
    counts: Counter = Counter()
    for _ in range(draws):
        picks = [rng.choices(range(len(row)), weights=row)[0] for row in probabilities]
        chosen = np.zeros_like(probabilities)
        chosen[range(len(picks)), picks] = 1.0  # a one-hot relaxation derives to the drawn arch
        counts[space.format_arch(space.derive_arch(chosen))] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1])[::-1]
    return [arch for arch, _ in ranked[:k]]


def refresh_pool(pool: list[str], pushed: list[str], size: int) -> list[str]:
    """``pool`` (best-ranked first) after the authors' eval_model_spec_id_append of each ``pushed`` arch in turn."""
    pool = list(pool)
    for arch in pushed:
        if arch in pool:
            pool.remove(arch)
        if len(pool) >= size:
            pool.pop()
        pool.append(arch)
    return pool


def rank_pool(pool: list[str], accuracies) -> list[str]:
    """The pool best-first by super-net accuracy, as eval_model_spec_id_rank (argsort reversed)."""
    return [pool[i] for i in np.argsort(np.asarray(accuracies), kind="stable")[::-1]]
