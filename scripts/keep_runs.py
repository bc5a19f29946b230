"""Copy the result files of every finished run below SOURCE into DEST, in the same folder layout; checkpoints stay.

A long study (make budget-nb201-cpu) keeps its finished runs in docs/results/ this way: small files a reader can check
(archs.csv, metrics.json, config.yaml, ...). Copied back, they let the study go on on another machine, where a rerun of
the make target counts them as finished (same config, no checkpoint). A run folder already in DEST is left as it is.

    python scripts/keep_runs.py outputs/sweeps/budget_nb201_cpu docs/results/budget-nb201-cpu/runs
    python scripts/keep_runs.py docs/results/budget-nb201-cpu/runs outputs/sweeps/budget_nb201_cpu   # back again
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from lrnas.run.folder import RunFolder


def keep_runs(source: Path, dest: Path) -> list[Path]:
    """Copy each finished run's result files; returns the run folders copied."""
    copied = []
    for metrics in sorted(source.rglob(RunFolder(".").metrics.name)):
        run = RunFolder(metrics.parent)
        target = dest / run.path.relative_to(source)
        if not run.is_finished() or target.exists():
            continue
        target.mkdir(parents=True)
        for result in RunFolder.RESULTS:
            path = getattr(run, result)
            if path.exists():
                shutil.copy2(path, target / path.name)
        copied.append(target)
    return copied


if __name__ == "__main__":
    if len(sys.argv) != 3 or not Path(sys.argv[1]).is_dir():
        sys.exit(f"usage: {sys.argv[0]} SOURCE_FOLDER DEST_FOLDER (SOURCE_FOLDER must exist)")
    kept = keep_runs(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"copied {len(kept)} finished run(s) into {sys.argv[2]}")
