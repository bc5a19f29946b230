"""Train a weight-sharing super-net and report how it ranks held-out architectures against ground truth.

    lrnas train experiment=smoke                      # tiny synthetic run, < 1 min on CPU
    lrnas train experiment=cpu data.root=../shared/data/cifar10/cifar10_jpg_q75.tar.gz
    lrnas train -m experiment=smoke seed=0,1          # Hydra multirun: one run folder per seed

``main`` is the thin Hydra entry; ``train(cfg, run_dir)`` is the protocol (build, then per epoch train / evaluate /
refine, then search, then report) and what tests call; the run's parts are one hop away in lrnas/run/.
"""
from __future__ import annotations

import logging
import random
from dataclasses import replace
from pathlib import Path

import hydra
import pandas as pd
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .algorithms import build_algorithm
from .conf import CONFIG_DIR
from .data import (
    DeviceBatches,
    data_identity,
    default_cache_dir,
    load_data,
    random_subset,
    split_seed,
    split_train,
    to_float_normalized,
)
from .device import resolve_device
from .evaluation.bn_recalibration import batch_norms
from .evaluation.free_rankings import sample_proxies
from .evaluation.ranking import draw_eval_sample
from .landmarks import LandmarkRegularizer, choose_landmarks, evaluation_reserve, save_landmarks
from .records import save_json, save_run_info
from .resume import (
    Interrupted,
    finished_without_checkpoint,
    interrupt_on_signals,
    previous_state,
    run_job,
    stop_on_signals,
)
from .run.epoch import search_phase, train_one_epoch
from .run.folder import RunFolder
from .run.messages import metrics_document, summary_table
from .run.state import Run
from .run.warm_start import warm_start_state
from .seeding import seed_everything, stream_seed
from .spaces import build_supernet, get_space, load_benchmark, training_space
from .training import SuperNetTrainer, build_optimizer
from .validation import validate_config

log = logging.getLogger(__name__)


def build_run(cfg: DictConfig, run_dir: Path, device: torch.device) -> Run:
    """Build every piece from the config alone (the same way on a fresh start and on resume)."""
    seed_everything(cfg.seed)
    space = get_space(cfg.space.name)
    benchmark = load_benchmark(cfg.space.name, cfg.space.get("table"))
    metric = cfg.space.ground_truth

    # Landmarks come from outside the plain evaluation sample, so it stays the same with and without them.
    landmarks = choose_landmarks(cfg, benchmark, space, reserved=evaluation_reserve(cfg, benchmark))
    sample = draw_eval_sample(benchmark, cfg.eval.num_archs, cfg.eval.sample_seed, {lm.arch for lm in landmarks},
                              metric, cfg.eval.unique)

    data = load_data(cfg.data)
    if cfg.eval.proxies:
        sample = replace(sample, proxies=sample_proxies(
            list(cfg.eval.proxies), sample.archs, space, cfg.space.name, cfg.eval.proxy_recipe, cfg.eval.sample_seed,
            data, data_identity(cfg.data), Path(cfg.data.cache_dir or default_cache_dir()), device))
    weight_indices, held_out_indices = split_train(len(data.train_labels), stream_seed(split_seed(cfg), "data_split"))
    if cfg.trainer.train_images:
        weight_indices = weight_indices[: cfg.trainer.train_images]
    train_batches = DeviceBatches(data.train_images, data.train_labels, weight_indices, device)
    held_out = DeviceBatches(data.train_images, data.train_labels, held_out_indices, device)
    num_test = min(cfg.eval.num_test_images, len(data.test_labels))
    test_subset = random_subset(len(data.test_labels), num_test, stream_seed(cfg.eval.sample_seed, "test_images"))
    test_images = to_float_normalized(torch.from_numpy(data.test_images[test_subset]).to(device))
    test_labels = torch.from_numpy(data.test_labels[test_subset]).to(device)

    super_net = build_supernet(cfg.space.name, C=cfg.space.channels, N=cfg.space.cells_per_stage, num_classes=10,
                               amp=cfg.trainer.amp, **cfg.space.get("supernet", {}))
    super_net = super_net.to(device)  # built channels_last
    # Each consumer of randomness has its own stream (lrnas.seeding), so e.g. adding landmarks leaves the training data
    # order unchanged and the search never replays the training paths.
    generators = {name: torch.Generator(device=device).manual_seed(stream_seed(cfg.seed, name))
                  for name in ("data_order", "held_out_order", "arch_order", "algorithm_device")}
    sampled = training_space(space, cfg.space, benchmark)  # space.sample_from_table: the table's archs only
    algorithm = build_algorithm(cfg.algorithm, sampled, random.Random(stream_seed(cfg.seed, "algorithm")), device,
                                generators["algorithm_device"])
    lr_per_epoch = cfg.trainer.lr_step == "epoch"  # the authors' CosineAnnealingLR: T_max = epochs, one step each
    steps_per_epoch = 1 if lr_per_epoch else train_batches.num_batches(cfg.trainer.batch_size, cfg.trainer.drop_last)
    schedule_epochs = cfg.trainer.schedule_epochs or cfg.trainer.epochs  # longer: a warm-up run others start from
    optimizer, scheduler = build_optimizer(super_net, cfg.trainer, schedule_epochs * steps_per_epoch)
    regularizer = None
    if cfg.regularizer.name == "landmark":
        regularizer = LandmarkRegularizer(landmarks, [space.parse_arch(lm.arch) for lm in landmarks],
                                          cfg.regularizer, cfg.trainer.epochs,
                                          random.Random(stream_seed(cfg.seed, "regularizer")))
    trainer = SuperNetTrainer(super_net, algorithm, optimizer, scheduler, cfg.trainer.grad_clip, regularizer,
                              held_out, generators["held_out_order"], cfg.trainer.set_grads_to_none,
                              generators["arch_order"], lr_per_epoch=lr_per_epoch,
                              drop_last=cfg.trainer.drop_last)
    recalibration = None
    if cfg.eval.bn == "recalibrate":  # the same training batches for every arch and evaluation, never augmented
        batch_norms(super_net)  # a super-net without BatchNorm modules is refused here, before training
        order = train_batches.epoch_order(torch.Generator(device=device).manual_seed(
            stream_seed(cfg.seed, "bn_recalibration")))
        size = cfg.trainer.batch_size
        recalibration = [train_batches.batch(order[k * size:(k + 1) * size], None, augment=False)[0]
                         for k in range(min(cfg.eval.bn_batches, train_batches.num_batches(size)))]
    archs_table = pd.DataFrame({"arch": sample.archs, "ground_truth": sample.ground_truth, "params_m": sample.params,
                                **sample.proxies})
    return Run(cfg=cfg, folder=RunFolder(run_dir), space=space, benchmark=benchmark, sample=sample,
               landmarks=landmarks, super_net=super_net, optimizer=optimizer, scheduler=scheduler, trainer=trainer,
               train_batches=train_batches, held_out=held_out, test_images=test_images, test_labels=test_labels,
               generators=generators, archs_table=archs_table, eval_pool=list(sample.archs),
               recalibration=recalibration)


def train(cfg: DictConfig, run_dir: Path, overrides: list[str] = ()) -> dict:
    """Train the super-net described by ``cfg`` in ``run_dir``, resuming it if that folder holds its checkpoint.

    ``overrides`` (the command line's) are recorded so ``lrnas train resume=<run_dir>`` can compose the same config.
    """
    validate_config(cfg)  # the CLI already did; this covers callers that call train() directly
    device = resolve_device(cfg.device)
    folder = RunFolder(run_dir)
    finished = finished_without_checkpoint(run_dir, cfg)
    if finished:
        log.info("%s is finished (its metrics.json holds the final results); nothing to do", run_dir)
        return finished
    state = previous_state(run_dir, cfg, device)
    if state and state["epochs_done"] == cfg.trainer.epochs and folder.is_finished():
        # A sweep run again (e.g. a make target) skips its finished runs instead of redoing their search.
        log.info("%s is finished (its metrics.json holds the final results); nothing to do", run_dir)
        return state["history"][-1]
    run = build_run(cfg, run_dir, device)
    progress = run.load_state_dict(state) if state else None
    if not state and cfg.trainer.init_from:
        run.warm_start(warm_start_state(cfg.trainer.init_from, device), cfg.trainer.init_from)
        log.info("warm start: the training state of %s after epoch %d", cfg.trainer.init_from, run.epochs_done)
    if not state:  # a resumed run keeps the provenance (git revision, device) it started with
        save_run_info(run_dir, cfg, str(device), list(overrides))
    if run.landmarks:
        save_landmarks(run.current_landmarks, folder.landmarks)
    epochs = cfg.trainer.epochs
    if state:
        where = f"epoch {progress.epoch}, step {progress.step}" if progress else f"the end of epoch {run.epochs_done}"
        log.info("resuming %s from its checkpoint at %s", run_dir, where)
    log.info(
        "training %s super-net (C=%d, N=%d) with %s on %d images, %d epochs, %d landmarks, regularizer %s, "
        "device %s; run folder %s", cfg.space.name, cfg.space.channels, cfg.space.cells_per_stage,
        cfg.algorithm.name, len(run.train_batches), epochs, len(run.landmarks), cfg.regularizer.name, device, run_dir,
    )
    with stop_on_signals() as stop:
        for epoch in range(run.epochs_done + 1, epochs + 1):
            train_one_epoch(run, epoch, progress, stop)
            progress = None
            if stop["signal"]:  # arrived during evaluation or refinement: the epoch's checkpoint is written
                raise Interrupted(stop["signal"], f"after epoch {epoch}", run_dir)
    # The search keeps no checkpoint of its own (it draws from its own seeded stream): a resumed run redoes it.
    with interrupt_on_signals("during the search, which a resumed run redoes from the trained super-net", run_dir):
        run.search = search_phase(run)
    save_json(folder.metrics, metrics_document(run))
    log.info("summary (Kendall tau on %d held-out architectures, %d test images):\n%s",
             len(run.sample.archs), len(run.test_labels), summary_table(run.history))
    return run.history[-1]


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    # Hydra's console handler writes straight to stderr, onto a progress bar's line: run_job logs through tqdm.write
    # (Hydra's file handler, train.log, is left as it is).
    run_job(lambda: train(cfg, run_dir, list(hydra_cfg.overrides.task)), log,
            nonfinite_hint=f"; the last good checkpoint is {RunFolder(run_dir).checkpoint}")
