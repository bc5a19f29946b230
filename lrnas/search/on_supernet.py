"""The search phase of a run: pick architectures with the trained super-net, then look up what they really achieve.

Sampling-based algorithms run ``search=evolution|random`` with fitness = super-net top-1 on the first
``search.num_images`` held-out images (a uniform sample: the held-out half is in random order). Differentiable ones
take the most probable architectures of their learned op distribution (the argmax first). Either way the report gives
the chosen architecture's ground truth and its percentile in the whole space, and the mean ground truth of the top-K.

    lrnas train experiment=smoke search=random search.candidates=20
"""
from __future__ import annotations

import logging
import random

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lrnas.benchmarks import GroundTruthError
from lrnas.evaluation.ranking import supernet_accuracies
from lrnas.seeding import stream_seed

from . import run_search

log = logging.getLogger(__name__)


def search_supernet(super_net, algorithm, space, benchmark, metric: str, search_cfg, images, labels,
                    batch_size: int, seed: int) -> tuple[dict, pd.DataFrame]:
    """Search, and return the report (for metrics.json) and one row per candidate (for search.csv). ``seed`` is the
    run's: the search draws from its own stream of it, never the training sampler's."""
    top_k = search_cfg.top_k
    if algorithm.differentiable:
        ranked = algorithm.most_probable(top_k)
        method, score_name, evaluated = "argmax of the learned op distribution", "probability", ranked
    else:
        bar = tqdm(total=search_cfg.candidates, desc=f"{search_cfg.name} search", unit="arch", leave=False)

        def fitness(arch) -> float:
            bar.update(1)
            return float(supernet_accuracies(super_net, [arch], images, labels, batch_size, progress=False)[0])

        result = run_search(search_cfg, space, fitness, random.Random(stream_seed(seed, "search")))
        bar.close()
        method, score_name = f"{search_cfg.name} search over {len(result.evaluated)} candidates", "supernet_fitness"
        ranked, evaluated = result.top(top_k), result.evaluated
    candidates = pd.DataFrame({"arch": [space.format_arch(arch) for arch, _ in evaluated],
                               score_name: [score for _, score in evaluated]})
    candidates["ground_truth"] = ground_truth(benchmark, candidates["arch"], metric)
    every_ground_truth = benchmark.table[metric].to_numpy()
    top = [space.format_arch(arch) for arch, _ in ranked]
    top_truth = ground_truth(benchmark, top, metric)
    known = not np.isnan(top_truth[0])  # False: not in the ground-truth table (NB101 ships 151,644 cells)
    report = {
        "method": method,
        "arch": top[0],
        "ground_truth": float(top_truth[0]) if known else None,  # null in metrics.json, never NaN
        "percentile": float(100 * np.mean(every_ground_truth <= top_truth[0])) if known else None,  # among every cell
        f"top{top_k}_archs": top,
        f"top{top_k}_mean_ground_truth": float(np.nanmean(top_truth)) if not np.isnan(top_truth).all() else None,
        f"top{top_k}_with_ground_truth": int((~np.isnan(top_truth)).sum()),
        "space_best_ground_truth": float(every_ground_truth.max()),
    }
    chosen = (f"ground truth {report['ground_truth']:.2f}% (percentile {report['percentile']:.1f} of "
              f"{len(every_ground_truth)} cells; the best is {report['space_best_ground_truth']:.2f}%)" if known
              else "not in the ground-truth table")
    log.info("search (%s): chose %s, %s; mean ground truth of its top %d: %s", method, report["arch"], chosen, len(top),
             _percent(report[f"top{top_k}_mean_ground_truth"], report[f"top{top_k}_with_ground_truth"], len(top)))
    return report, candidates


def ground_truth(benchmark, archs, metric: str) -> np.ndarray:
    """Ground truth per arch; NaN where the table has none (a searched NB101 cell outside the shipped subset)."""
    try:
        return benchmark.accuracies(archs, metric)
    except GroundTruthError:  # rare: look the archs up one by one and mark the missing ones
        values = []
        for arch in archs:
            try:
                values.append(benchmark.accuracies([arch], metric)[0])
            except GroundTruthError:
                values.append(np.nan)
        return np.asarray(values, dtype=float)


def _percent(value: float | None, known: int, total: int) -> str:
    if value is None:
        return "none in the ground-truth table"
    return f"{value:.2f}%" + ("" if known == total else f" ({known} of {total} in the ground-truth table)")
