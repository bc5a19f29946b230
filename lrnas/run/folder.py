"""The files of one ``lrnas train`` run folder, each named here once: training writes them, resuming,
``lrnas report`` and ``scripts/keep_runs.py`` read them.

    >>> folder = RunFolder("outputs/sweeps/table_nb201/experiment=cpu,seed=0")
    >>> folder.metrics.name, folder.checkpoint.name
    ('metrics.json', 'checkpoint.pt')
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunFolder:
    path: Path

    def __init__(self, path: str | Path):
        object.__setattr__(self, "path", Path(path))

    config = property(lambda self: self.path / "config.yaml", doc="the composed, resolved config")
    run_info = property(lambda self: self.path / "run_info.json", doc="seed, git revision, device, overrides")
    metrics = property(lambda self: self.path / "metrics.json", doc="per-epoch history; `final` once searched")
    archs = property(lambda self: self.path / "archs.csv", doc="the evaluation sample, scored at each evaluation")
    landmarks = property(lambda self: self.path / "landmarks.csv", doc="the landmark set (grown by refinement)")
    landmark_scores = property(lambda self: self.path / "landmark_scores.csv", doc="landmarks at each evaluation")
    oracle_queries = property(lambda self: self.path / "oracle_queries.csv", doc="refinement's ground-truth queries")
    search = property(lambda self: self.path / "search.csv", doc="the search phase's candidates")
    eval_pool = property(lambda self: self.path / "eval_pool.csv", doc="eval.pool=alpha_refresh: the pool, scored")
    checkpoint = property(lambda self: self.path / "checkpoint.pt", doc="everything a resume needs")
    log = property(lambda self: self.path / "train.log", doc="Hydra's job log, named after the job (train)")

    # What a run leaves as results, without the checkpoint and the log (the log names this machine's folders).
    RESULTS = ("config", "run_info", "metrics", "archs", "landmarks", "landmark_scores", "oracle_queries", "search",
               "eval_pool")

    def is_finished(self) -> bool:
        """Whether the run trained and searched: only then does metrics.json hold ``final``."""
        try:
            return bool(json.loads(self.metrics.read_text()).get("final"))
        except (OSError, ValueError):  # missing or cut short: not finished, so the run resumes from its checkpoint
            return False

    def __str__(self) -> str:
        return str(self.path)
