"""Zero-cost proxies beside runs that did not record them (``lrnas report --proxies``).

A free ranking needs no training, only the run's evaluation sample: the report scores the archs of each run's
archs.csv exactly as the run's ``eval.proxies`` would have done, with the networks of its ``eval.proxy_recipe`` (the
space's own recipe for runs from before that key), initialised from its ``eval.sample_seed``, on its data, and shares
the same cache. It then computes each proxy's Kendall tau-b against the ground truth of that sample.

    lrnas report outputs/sweeps/table_nb201_cpu --proxies synflow,naswot --out docs/results/table-nb201-cpu
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from ..data import data_identity, default_cache_dir, load_data
from ..device import resolve_device
from ..evaluation.free_rankings import sample_proxies
from ..evaluation.metrics import kendall_tau
from ..evaluation.proxies import PROXIES
from ..run.folder import RunFolder
from ..spaces import get_space
from .runs import Runs


def add_proxies(runs: Runs, names: list[str]) -> Runs:
    """``runs`` with ``{proxy}_kendall_tau`` for every proxy in ``names`` on each run's own sample (a value the run
    recorded itself is kept)."""
    unknown = [name for name in names if name not in PROXIES]
    if unknown:
        raise ValueError(f"--proxies {','.join(unknown)}: not a zero-cost proxy; valid: {', '.join(PROXIES)}")
    device, loaded, table = resolve_device("auto"), {}, runs.table.copy()
    for position, run in enumerate(table["run"]):
        cfg = OmegaConf.load(RunFolder(run).config)
        identity = data_identity(cfg.data)
        if identity not in loaded:  # every run of a sweep reads the same images: decode them once
            loaded[identity] = load_data(cfg.data)
        archs = pd.read_csv(RunFolder(run).archs)
        recipe = cfg.eval.get("proxy_recipe") or cfg.space.name
        scores = sample_proxies(names, archs["arch"].tolist(), get_space(cfg.space.name), cfg.space.name, recipe,
                                cfg.eval.sample_seed, loaded[identity], identity,
                                Path(cfg.data.cache_dir or default_cache_dir()), device)
        for name in names:
            column = f"{name}_kendall_tau"
            if column not in table:
                table[column] = float("nan")
            if pd.isna(table.at[position, column]):
                tau = kendall_tau(scores[name], archs["ground_truth"].to_numpy())
                table.at[position, column] = float("nan") if tau is None else tau  # None: tied scores
    return replace(runs, table=table)
