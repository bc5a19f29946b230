"""What every run leaves in its folder: config, seed, git revision, metrics (JSON/CSV), checkpoint.

All files are written atomically (temp file + rename) so a crash never leaves a half-written result, with the
permissions the umask allows (0644 under the usual umask 022), as any other tool's files.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from .run.folder import RunFolder


def atomic_write(path: Path, write) -> None:
    """Call ``write(temp_path)`` then rename over ``path``: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: it creates 0600 files, so a lab's shared results would be readable by their owner only.
    # Creating with 0666 lets the kernel apply the umask; O_EXCL with a random name never reuses another's file.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_json(path: Path, data) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n"))


def save_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def save_checkpoint(path: Path, state: dict) -> None:
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def git_revision() -> str:
    """The source tree's commit, with ``-dirty`` when it has uncommitted changes; ``unknown`` outside git."""
    source = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=source, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def save_run_info(run_dir: Path, cfg: DictConfig, device: str, overrides: list[str]) -> None:
    """The composed config (resolved), the command-line overrides (``lrnas train resume=`` replays them) and the
    provenance a reader needs to reproduce the run."""
    folder = RunFolder(run_dir)
    atomic_write(folder.config, lambda tmp: OmegaConf.save(cfg, tmp, resolve=True))
    save_json(
        folder.run_info,
        {"seed": cfg.seed, "overrides": overrides, "git_revision": git_revision(), "device": device,
         "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
    )
