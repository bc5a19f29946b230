"""The most probable architectures of a differentiable algorithm's per-edge op distribution (DARTS, GDAS, ...).

Edges are independent, so an architecture's probability is the product of its ops' probabilities. A beam of width
``k`` over the edges is exact: a prefix outside the ``k`` best prefixes is beaten by each of them completed with
the same suffix, so it cannot start a top-``k`` architecture. Cost O(edges * k * ops), not ops ** edges.

    >>> probs = [[0.7, 0.3], [0.6, 0.4]]
    >>> [(arch, round(p, 2)) for arch, p in top_k_by_probability(probs, ("a", "b"), k=3)]
    [(('a', 'a'), 0.42), (('a', 'b'), 0.28), (('b', 'a'), 0.18)]
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_k_by_probability(probs, ops: Sequence[str], k: int) -> list[tuple[tuple[str, ...], float]]:
    """The ``k`` architectures (tuples of names from ``ops``) with the highest product probability, most probable
    (the per-edge argmax) first, each with its probability. ``probs[edge][op]``: rows are distributions over ``ops``
    (e.g. softmax of the architecture parameters, not the raw logits). Ties keep lexicographic op-index order."""
    table = np.asarray(probs, dtype=float)
    if table.ndim != 2 or table.shape[1] != len(ops):
        raise ValueError(f"probs has shape {table.shape}; expected [num_edges, {len(ops)}] (one column per op)")
    if not (np.all(table >= 0) and np.allclose(table.sum(axis=1), 1.0, atol=1e-4)):
        raise ValueError("probs rows must be probability distributions (non-negative, summing to 1); "
                         "pass softmax(alphas), not the raw architecture parameters")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r} must be a positive integer")
    with np.errstate(divide="ignore"):  # a zero probability is log 0 = -inf, ranked last as it should be
        log_table = np.log(table)
    scores, choices = np.zeros(1), np.zeros((1, 0), dtype=int)
    for row in log_table:
        extended = (scores[:, None] + row[None, :]).ravel()  # beam-major, then op index
        keep = np.argsort(-extended, kind="stable")[:k]
        choices = np.column_stack([choices[keep // len(ops)], keep % len(ops)])
        scores = extended[keep]
    return [(tuple(ops[i] for i in row), float(np.exp(s))) for row, s in zip(choices, scores, strict=True)]
