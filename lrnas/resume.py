"""Surviving pre-emption: RNG capture, resuming a run folder, and stopping cleanly on SIGINT/SIGTERM.

    lrnas train experiment=cpu trainer.checkpoint_every_steps=20   # also checkpoint within epochs
    lrnas train resume=outputs/2026-11-27/19-00-00                 # continue exactly where it stopped

A run killed at any moment (even SIGKILL) resumes from its last checkpoint and ends with the metrics an
uninterrupted run with the same seed would have had.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.contrib.logging import logging_redirect_tqdm

from .config_history import with_added_keys
from .config_rules import optional, text
from .run.folder import RunFolder
from .training import NonFiniteLossError

# How the run's random streams are derived from its seeds; a checkpoint from another derivation cannot be continued
# exactly (its evaluation sample and landmarks would be redrawn differently).
STREAMS = "lrnas.seeding.stream_seed"
CONFIG_RULES = {"resume": optional(text())}  # the top-level key (lrnas.config_rules)


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; everything up to ``where`` is in the checkpoint."""

    def __init__(self, signum: int, where: str, run_dir: Path, resume: str | None = None):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name} {where}; checkpoint saved. "
                         f"Resume with: {resume or f'lrnas train resume={run_dir}'}")


def run_job(work, log: logging.Logger, nonfinite_hint: str = "") -> None:
    """A Hydra job's ``work()`` with lrnas's exits, each a line on ``log``: stopped by SIGINT/SIGTERM 128 + signal
    (the line says how to resume), a non-finite loss 1 (``nonfinite_hint`` appended), bad input 2 (no traceback;
    LRNAS_DEBUG=1 shows it). Logging goes through tqdm.write, so a line never lands on a progress bar."""
    with logging_redirect_tqdm():
        try:
            work()
        except Interrupted as stopped:
            log.error("%s", stopped)
            sys.exit(128 + stopped.signum)
        except (ValueError, FileNotFoundError, RuntimeError, NonFiniteLossError) as error:
            if os.environ.get("LRNAS_DEBUG") == "1":
                raise
            if isinstance(error, NonFiniteLossError):
                log.error("error: %s%s", error, nonfinite_hint)
                sys.exit(1)
            log.error("error: %s", error)
            sys.exit(2)


class RunFolderConflict(ValueError):
    """The run folder holds another run; nothing in it is overwritten."""


@contextlib.contextmanager
def stop_on_signals():
    """Turn SIGINT/SIGTERM into a flag the training loop checks after each step (Slurm pre-emption sends SIGTERM)."""
    stop = {"signal": 0}

    def request_stop(signum, _frame):
        stop["signal"] = signum

    with _handling_signals(request_stop):
        yield stop


@contextlib.contextmanager
def interrupt_on_signals(where: str, run_dir: Path):
    """For work with no checkpoint of its own (the search): stop at once with Interrupted; a resumed run redoes it."""

    def interrupt(signum, _frame):
        raise Interrupted(signum, where, run_dir)

    with _handling_signals(interrupt):
        yield


@contextlib.contextmanager
def _handling_signals(handler):
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def capture_rng(python_rngs: dict[str, random.Random], generators: dict[str, torch.Generator]) -> dict:
    """Every random state a run draws from: global python/numpy/torch (CPU and CUDA) and the run's own streams."""
    return {
        "streams": STREAMS,
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python_rngs": {name: rng.getstate() for name, rng in python_rngs.items()},
        "generators": {name: gen.get_state() for name, gen in generators.items()},
    }


def restore_rng(state: dict, python_rngs: dict[str, random.Random], generators: dict[str, torch.Generator]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for name, rng in python_rngs.items():
        rng.setstate(state["python_rngs"][name])
    for name, gen in generators.items():
        gen.set_state(state["generators"][name])


def config_diff(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for every leaf that differs between two nested config dicts."""
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            changes += config_diff(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


def finished_without_checkpoint(run_dir: Path, cfg: DictConfig) -> dict | None:
    """The final results of a finished run of this very config whose checkpoint is gone (result files copied back
    from a commit, say), so a rerun sweep skips it; None for anything else, which ``previous_state`` then judges."""
    folder = RunFolder(run_dir)
    if folder.checkpoint.exists() or not folder.config.exists():
        return None
    try:
        final = json.loads(folder.metrics.read_text()).get("final")
        saved = OmegaConf.to_container(OmegaConf.load(folder.config))
    except (OSError, ValueError, AttributeError):
        return None
    same = not config_diff(comparable(saved), comparable(OmegaConf.to_container(cfg, resolve=True)))
    return final if final and same else None


def comparable(config: dict) -> dict:
    """What must be equal for a run folder to hold this config's run: everything but ``resume`` (where it was resumed
    from), ``eval.at_epochs`` (evaluations before the last epoch change no weights and draw no random numbers, so a
    budget study may add or drop them; a run's history shows those it made) and ``eval.proxies``/``proxy_recipe``
    (free rankings of the sample, computed apart from the run's random streams). A config from before a key existed
    is completed with the value that does what it did (lrnas.config_history)."""
    kept = {key: value for key, value in with_added_keys(config).items() if key != "resume"}
    if isinstance(kept.get("eval"), dict):
        kept["eval"] = {key: value for key, value in kept["eval"].items()
                        if key not in ("at_epochs", "proxies", "proxy_recipe")}
    return kept


def previous_state(run_dir: Path, cfg: DictConfig, device: torch.device) -> dict | None:
    """The checkpoint to resume from, if ``run_dir`` holds one of this very config; refuse any other run's folder."""
    folder = RunFolder(run_dir)
    checkpoint = folder.checkpoint
    if not checkpoint.exists():
        if folder.metrics.exists():
            raise RunFolderConflict(f"{run_dir} holds results but no {checkpoint.name}; refusing to overwrite them: "
                                    "choose another hydra.run.dir")
        return None
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)  # our own file: python RNG states too
    except Exception as error:  # noqa: BLE001 - any unreadable checkpoint gets the same one-line answer
        raise RunFolderConflict(
            f"{checkpoint} cannot be read ({type(error).__name__}); move it away to start over"
        ) from None
    if state.get("device_type", device.type) != device.type:  # RNG generator states do not move between devices
        raise RunFolderConflict(f"{checkpoint} was written on {state['device_type']}; resume it there "
                                f"(device={state['device_type']}), not on {device.type}")
    if state["rng"].get("streams") != STREAMS:
        raise RunFolderConflict(f"{checkpoint} was written by an lrnas version that derived its random streams "
                                "differently; resume it with that version (git_revision in run_info.json) or move the "
                                "checkpoint away to start over")
    changes = config_diff(comparable(state["config"]), comparable(OmegaConf.to_container(cfg, resolve=True)))
    if changes:
        raise RunFolderConflict(f"{run_dir} holds a run with another config; refusing to resume or overwrite it. "
                                f"Changed keys: {'; '.join(changes)}")
    return state


def expand_resume(overrides: list[str]) -> list[str]:
    """``resume=DIR`` becomes the run's recorded overrides plus ``hydra.run.dir=DIR``: Hydra composes the same config
    into the same folder, where ``train`` finds the checkpoint. Other overrides on the line are kept, so a changed
    value is refused later with the diff."""
    resumes = [o for o in overrides if o.startswith("resume=")]
    if not resumes:
        return overrides
    run_dir = Path(resumes[-1].partition("=")[2]).expanduser().resolve()
    info = RunFolder(run_dir).run_info
    if not info.is_file():
        raise ValueError(f"resume='{run_dir}' is not a run folder: it has no run_info.json")
    recorded = json.loads(info.read_text()).get("overrides")
    if recorded is None:
        raise ValueError(f"resume='{run_dir}': its run_info.json records no overrides; rerun its original command with "
                         f"hydra.run.dir={run_dir}")
    others = [o for o in overrides if not o.startswith("resume=")]
    # A sweep job's recorded overrides hold its own values of the sweep's params; +sweep= would make it a sweep again.
    recorded = [o for o in recorded if not o.lstrip("+").startswith("sweep=")]
    return [*recorded, *others, f"hydra.run.dir={run_dir}"]
