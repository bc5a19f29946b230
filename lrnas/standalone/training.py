"""Train one stand-alone network with a recipe from conf/standalone/; a killed training resumes exactly.

A recipe names the network and the optimizer by ``_target_`` (so a user's own class plugs in) and fixes the schedule:
a per-step cosine from the optimizer's ``lr`` to ``min_lr``, ``epochs`` over ``train_images`` images with random crop
and flip, then top-1 on the test images with BN's running statistics (``net.eval()``), as a normally trained network
is scored. ``lrnas.standalone.build`` runs one of these per landmark.

Optional recipe keys (absent = off; conf/standalone/darts.yaml sets them all):

    cutout: LENGTH          cutout of a LENGTH x LENGTH square per training image (lrnas.data.augment.cutout)
    auxiliary_weight: W     a network that returns (logits, aux_logits) in training mode is trained on
                            loss(logits) + W * loss(aux_logits); 0 or absent ignores aux_logits
    grad_clip: G            clip the gradients' total 2-norm to G before each step

and two optional methods of the network: ``start_epoch(epoch, epochs)`` is called before each epoch (0-based ``epoch``,
also when a training resumes inside it), e.g. for a drop-path schedule; ``eval_parameter_count()`` is the parameter
count reported as ``params_m`` (default: every trainable parameter), e.g. without an auxiliary head. The network's own
random draws (drop path, dropout) come from torch's global generator, whose state each checkpoint holds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from hydra.utils import instantiate
from tqdm.auto import tqdm

from ..config_rules import integer, non_negative, optional, positive
from ..data import DeviceBatches
from ..records import save_checkpoint
from ..resume import Interrupted
from ..training import PROGRESS_EVERY, NonFiniteLossError

# standalone.* of a recipe that trains (lrnas.config_rules; checked by lrnas.standalone.build, where a key a recipe
# leaves out reads as null)
RECIPE_RULES = {"epochs": integer(1), "batch_size": integer(1), "eval_batch_size": integer(1),
                "train_images": optional(integer(1)), "test_images": optional(integer(1)), "min_lr": non_negative(),
                "cutout": optional(integer(1)), "auxiliary_weight": optional(non_negative()),
                "grad_clip": optional(positive())}

CHECKPOINT = "checkpoint.pt"


@dataclass
class Position:
    """Where training stands: epochs done, and within the current epoch its data order, steps done and sums."""

    epochs_done: int = 0
    order: torch.Tensor | None = None
    step: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    history: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0


def build_network(recipe, arch) -> torch.nn.Module:
    """``recipe.network`` instantiated for ``arch`` (the space's parsed architecture)."""
    return instantiate(recipe.network, _partial_=True)(arch)


def train_standalone(recipe, arch, train: DeviceBatches, test_images: torch.Tensor, test_labels: torch.Tensor,
                     folder: Path, seed: int, stop: dict, describe: str, fingerprint: dict) -> dict:
    """Train ``arch`` (resuming ``folder/checkpoint.pt`` when there is one) and return its test accuracy (%), epochs
    and wall time. ``stop["signal"]`` (set by SIGINT/SIGTERM) checkpoints after the current step and raises
    Interrupted; ``fingerprint`` is saved with every checkpoint and must match it to resume."""
    device = test_labels.device
    torch.manual_seed(seed)  # weight init
    net = build_network(recipe, arch).to(device, memory_format=torch.channels_last)
    optimizer = instantiate(recipe.optimizer, _partial_=True)(net.parameters())
    steps_per_epoch = train.num_batches(recipe.batch_size, drop_last=False)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, recipe.epochs * steps_per_epoch),
                                                           eta_min=recipe.min_lr)
    generator = torch.Generator(device=device).manual_seed(seed)
    position = Position()
    checkpoint = folder / CHECKPOINT

    def save() -> None:
        save_checkpoint(checkpoint, {"fingerprint": fingerprint, "net": net.state_dict(),
                                     "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                     "generator": generator.get_state(), "position": vars(position),
                                     "global_rng": global_rng_state(device)})

    if checkpoint.exists():
        # On the CPU: a generator's state must be a CPU tensor; load_state_dict moves the rest to the device.
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if state["fingerprint"] != fingerprint:
            raise ValueError(f"{checkpoint} was written by another build (recipe, data or arch differ); delete it or "
                             "use another build.out")
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        position = Position(**state["position"])
        if "global_rng" in state:  # absent in checkpoints written before networks drew from it
            set_global_rng_state(device, state["global_rng"])

    criterion = torch.nn.CrossEntropyLoss()
    cutout_length = recipe.get("cutout")
    auxiliary_weight = recipe.get("auxiliary_weight") or 0.0
    grad_clip = recipe.get("grad_clip")
    start_epoch = getattr(net, "start_epoch", None)
    for epoch in range(position.epochs_done + 1, recipe.epochs + 1):
        started = time.perf_counter()
        if position.order is None:
            position.order = train.epoch_order(generator).cpu()
        if start_epoch is not None:
            start_epoch(epoch - 1, recipe.epochs)  # 0-based, as DARTS's train.py:97-100 ramps drop path
        net.train()
        bar = tqdm(total=steps_per_epoch, initial=position.step, desc=f"{describe} epoch {epoch}/{recipe.epochs}",
                   unit="step", leave=False, dynamic_ncols=True)
        losses, hits = [], []  # per step since the last host sync, on the device
        while position.step < steps_per_epoch:
            start = position.step * recipe.batch_size
            images, labels = train.batch(position.order[start:start + recipe.batch_size].to(device), generator,
                                         cutout_length=cutout_length)
            logits = net(images)
            aux_logits = None
            if isinstance(logits, tuple):  # (logits, aux_logits): a network with an auxiliary head
                logits, aux_logits = logits
            loss = criterion(logits, labels)
            if aux_logits is not None and auxiliary_weight:
                loss = loss + auxiliary_weight * criterion(aux_logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
            optimizer.step()
            scheduler.step()
            position.step += 1
            position.seen += len(labels)
            losses.append(loss.detach().double() * len(labels))
            hits.append((logits.argmax(1) == labels).sum())
            bar.update()
            if position.step % PROGRESS_EVERY == 0 or position.step == steps_per_epoch or stop["signal"]:
                add_steps(position, losses, hits, f"{describe}: epoch {epoch}")
                bar.set_postfix(loss=f"{position.loss_sum / position.seen:.3f}")
            if stop["signal"]:
                position.elapsed_s += time.perf_counter() - started
                save()
                bar.close()
                raise Interrupted(stop["signal"], f"in {describe} at epoch {epoch}, step {position.step}", folder,
                                  resume="the same `lrnas landmarks build` command (finished archs are skipped)")
        bar.close()
        position.history.append({"epoch": epoch, "train_loss": position.loss_sum / position.seen,
                                 "train_accuracy": 100 * position.correct / position.seen})
        position.elapsed_s += time.perf_counter() - started
        position.epochs_done, position.order, position.step = epoch, None, 0
        position.loss_sum, position.correct, position.seen = 0.0, 0, 0
        save()
    started = time.perf_counter()
    accuracy = test_accuracy(net, test_images, test_labels, recipe.eval_batch_size)
    return {"accuracy": accuracy, "epochs": recipe.epochs, "history": position.history,
            "wall_s": round(position.elapsed_s + time.perf_counter() - started, 1),
            "params_m": round(parameter_count(net) / 1e6, 6)}


def parameter_count(net: torch.nn.Module) -> int:
    """The parameters of the network as it is tested: ``net.eval_parameter_count()`` where the network defines it
    (DARTS: without the auxiliary head), else every trainable parameter (NB101: its count, without the frozen
    placeholders)."""
    count = getattr(net, "eval_parameter_count", None)
    return int(count()) if count is not None else sum(p.numel() for p in net.parameters() if p.requires_grad)


def global_rng_state(device: torch.device) -> dict:
    """torch's global generators (the CPU's and, on a GPU, the device's): where a network's drop path draws."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_global_rng_state(device: torch.device, state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def add_steps(position: Position, losses: list[torch.Tensor], hits: list[torch.Tensor], where: str) -> None:
    """One host sync for the steps since the last (their loss sums and correct counts, emptied here): a non-finite
    loss stops the training with its step, before any checkpoint holds it; the rest join the epoch's sums."""
    summed = torch.stack(losses)
    finite = torch.isfinite(summed).tolist()
    if not all(finite):
        step = position.step - len(losses) + finite.index(False) + 1
        raise NonFiniteLossError(f"{where}: non-finite loss at step {step}; lower standalone.optimizer.lr (in a new "
                                 "build.out)")
    position.loss_sum += summed.sum().item()
    position.correct += int(torch.stack(hits).sum())
    losses.clear()
    hits.clear()


@torch.no_grad()
def test_accuracy(net: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    """Top-1 (%) with BN's running statistics, as a trained network is tested."""
    net.eval()
    correct = sum(int((logits_of(net(images[i:i + batch_size])).argmax(1) == labels[i:i + batch_size]).sum())
                  for i in range(0, len(labels), batch_size))
    return 100 * correct / len(labels)


def logits_of(output) -> torch.Tensor:
    """A network's logits, also from one that returns ``(logits, aux_logits)`` in eval mode (as DARTS's own does)."""
    return output[0] if isinstance(output, tuple) else output
