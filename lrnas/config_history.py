"""Config keys lrnas added after runs were made, each with the value that does what those runs did.

A run folder's config.yaml lacks the keys added since it ran. Resuming or skipping it (a make target run again) and
grouping it with newer runs (``lrnas report``) compare whole configs, so an older config is first completed with
these values: a run of 40 epochs made before ``trainer.lr_step`` existed stepped its cosine per step, as
``lr_step: step`` does now. A key whose old behaviour is not one of its values does not belong here.

    >>> with_added_keys({"space": {"name": "nb201"}, "trainer": {"epochs": 40}})["trainer"]["lr_step"]
    'step'
"""
from __future__ import annotations

import copy

# (dotted key, the value that reproduces runs from before it, the spaces it exists for or None for all)
ADDED_KEYS = (
    ("trainer.lr_step", "step", None),
    ("trainer.drop_last", True, None),
    ("trainer.schedule_epochs", None, None),
    ("trainer.init_from", None, None),
    ("eval.pool", "fixed", None),
    ("eval.bn", "batch", None),
    ("eval.bn_batches", 8, None),
    ("eval.unique", False, None),
    ("space.sample_from_table", False, ("darts",)),
    ("space.supernet.cell_type", "per_edge", ("darts",)),
    ("space.supernet.layers", None, ("darts",)),
)


def with_added_keys(config: dict) -> dict:
    """``config`` (a run's, as a nested dict) with every ADDED_KEYS entry it lacks set to its old behaviour."""
    completed = copy.deepcopy(config)
    space = (completed.get("space") or {}).get("name")
    for key, value, spaces in ADDED_KEYS:
        if spaces is not None and space not in spaces:
            continue
        *parents, leaf = key.split(".")
        node = completed
        for part in parents:
            if not isinstance(node.get(part), dict):
                break
            node = node[part]
        else:
            node.setdefault(leaf, value)
    return completed
