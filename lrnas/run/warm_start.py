"""Start a run from another run's checkpoint (``trainer.init_from``), as the authors' warm-started studies do.

    lrnas train experiment=paper_nb201_spos trainer.epochs=150 trainer.schedule_epochs=200 hydra.run.dir=outputs/warm
    lrnas train experiment=paper_nb201_spos_landmark trainer.epochs=200 regularizer.warmup_epochs=150 \\
        trainer.init_from=outputs/warm

The new run takes the source's training state at its last checkpoint (super-net weights, optimizer and lr schedule,
the epochs done, the algorithm's state and the random streams) and trains on from there under its own config: its
landmarks, regularizer and evaluation. Its history, landmarks and timings start empty. That is what the authors'
Hamming-distance and landmark-count studies do from one 150-epoch plain-SPOS checkpoint: their resume loads model,
optimizer, scheduler and epoch (kcyu2014/nas-landmarkreg nasws/cnn/policy/cnn_general_search_policies.py:938-983,
called by random_policy/nasbench201_weight_sharing_policy.py:131-171). With nothing changed, a warm-started run is
the straight run: same weights, same tau.
"""
from __future__ import annotations

from pathlib import Path

import torch
from hydra.utils import to_absolute_path
from omegaconf import OmegaConf

from ..config_rules import ConfigError, invalid, lookup
from ..resume import STREAMS
from .folder import RunFolder

# What must match for the source's weights to be this run's super-net (the shape) and its state to mean the same.
SAME_IN_SOURCE = ("space.name", "space.channels", "space.cells_per_stage", "space.supernet", "algorithm.name")
ALLOWED = "null, or a run folder holding checkpoint.pt (or that file) of the same space, super-net and algorithm"


def source_folder(init_from: str) -> RunFolder:
    """The source run's folder, from ``trainer.init_from`` (its folder or its checkpoint.pt)."""
    path = Path(to_absolute_path(init_from))
    folder = RunFolder(path.parent if path.name == RunFolder(".").checkpoint.name else path)
    if not folder.checkpoint.is_file():
        raise invalid("trainer.init_from", init_from, ALLOWED)
    return folder


def check_init_from(values: dict) -> None:
    """Refuse a source whose super-net or algorithm differ from this run's, or that has trained as long (cheap: reads
    the source's config.yaml, not its checkpoint)."""
    init_from = values["trainer"]["init_from"]
    if init_from is None:
        return
    folder = source_folder(init_from)
    if not folder.config.is_file():
        raise invalid("trainer.init_from", init_from, f"{ALLOWED}: {folder.path} has no {folder.config.name}")
    source = OmegaConf.to_container(OmegaConf.load(folder.config))
    changed = [f"{key}: {lookup(source, key)!r} -> {lookup(values, key)!r}" for key in SAME_IN_SOURCE
               if lookup(source, key) != lookup(values, key)]
    if changed:
        raise ConfigError(f"trainer.init_from={init_from!r} holds another super-net or algorithm: {'; '.join(changed)}")
    if source["trainer"]["epochs"] >= values["trainer"]["epochs"]:
        raise invalid("trainer.epochs", values["trainer"]["epochs"],
                      f"an integer above {source['trainer']['epochs']}, the epochs of trainer.init_from={init_from!r}")


def warm_start_state(init_from: str, device: torch.device) -> dict:
    """The source's checkpoint, refused where it cannot continue here: another device's random streams, a
    checkpoint taken mid-epoch, or one written by an lrnas that derived its streams differently."""
    checkpoint = source_folder(init_from).checkpoint
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)  # lrnas's own file: RNG states too
    except Exception as error:  # noqa: BLE001 - any unreadable checkpoint gets the same one-line answer
        raise ConfigError(f"trainer.init_from: {checkpoint} cannot be read ({type(error).__name__})") from None
    if state["device_type"] != device.type:
        raise ConfigError(f"trainer.init_from: {checkpoint} was written on {state['device_type']}; warm-start on that "
                          f"device (device={state['device_type']}), not on {device.type}")
    if state["epoch_progress"] is not None or state["rng"].get("streams") != STREAMS:
        raise ConfigError(f"trainer.init_from: {checkpoint} was taken mid-epoch or by another lrnas version; resume "
                          "that run to an epoch's end first")
    return state

