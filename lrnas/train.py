"""Train a weight-sharing super-net and report how it ranks held-out architectures against ground truth.

    lrnas train experiment=smoke                      # tiny synthetic run, < 1 min on CPU
    lrnas train experiment=cpu data.root=../shared/data/cifar10/cifar10_jpg_q75.tar.gz
    lrnas train -m experiment=smoke seed=0,1          # Hydra multirun: one run folder per seed

``main`` is the thin Hydra entry; ``train(cfg, run_dir)`` wires the pieces and is what tests call.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import hydra
import pandas as pd
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .algorithms import build_algorithm
from .conf import CONFIG_DIR
from .data import DeviceBatches, load_data, random_subset, split_train, to_float_normalized
from .device import resolve_device
from .evaluation.ranking import EvalSample, draw_eval_sample, evaluate_ranking
from .landmarks import Landmark, LandmarkRegularizer, choose_landmarks, save_landmarks
from .landmarks.refinement import as_landmarks, refine_landmarks, refinement_epochs
from .records import save_checkpoint, save_csv, save_json, save_run_info
from .resume import (
    Interrupted,
    capture_rng,
    finished_without_checkpoint,
    interrupt_on_signals,
    previous_state,
    restore_rng,
    run_job,
    stop_on_signals,
)
from .run_folder import RunFolder
from .search.on_supernet import search_supernet
from .seeding import seed_everything, stream_seed
from .spaces import build_supernet, get_space, load_benchmark
from .training import EpochProgress, SuperNetTrainer, build_optimizer
from .validation import validate_config

log = logging.getLogger(__name__)


@dataclass
class Run:
    """Everything one training run holds; ``state_dict`` is exactly what a checkpoint needs to resume it."""

    cfg: DictConfig
    folder: RunFolder
    space: ModuleType
    benchmark: object
    sample: EvalSample
    landmarks: list[Landmark]
    super_net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    trainer: SuperNetTrainer
    train_batches: DeviceBatches
    held_out: DeviceBatches
    test_images: torch.Tensor
    test_labels: torch.Tensor
    generators: dict[str, torch.Generator]
    archs_table: pd.DataFrame
    history: list[dict] = field(default_factory=list)
    oracle_queries: list[dict] = field(default_factory=list)
    landmark_scores: list[dict] = field(default_factory=list)  # each evaluation's super-net accuracy of every landmark
    search: dict | None = None  # the search phase's report, once training is done
    epochs_done: int = 0
    elapsed_s: float = 0.0

    @property
    def regularizer(self):
        return self.trainer.regularizer

    @property
    def current_landmarks(self) -> list[Landmark]:
        """The landmark set now: refinement grows the regularizer's copy of the initial set."""
        return self.regularizer.landmarks if self.regularizer else self.landmarks

    def python_rngs(self) -> dict[str, random.Random]:
        rngs = {"algorithm": self.trainer.algorithm.rng}
        if self.regularizer:
            rngs["regularizer"] = self.regularizer.rng
        return rngs

    def state_dict(self, progress: EpochProgress | None) -> dict:
        return {
            "config": OmegaConf.to_container(self.cfg, resolve=True),
            "device_type": self.test_labels.device.type,
            "epochs_done": self.epochs_done,
            "epoch_progress": progress.state_dict() if progress else None,
            "super_net": self.super_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "algorithm": self.trainer.algorithm.state_dict(),  # architecture parameters and their optimizer
            "landmarks": [(lm.arch, lm.accuracy) for lm in self.current_landmarks],
            "rng": capture_rng(self.python_rngs(), self.generators),
            "history": self.history,
            "oracle_queries": self.oracle_queries,
            "landmark_scores": self.landmark_scores,
            "archs_table": self.archs_table.to_dict(orient="list"),
            "elapsed_s": self.elapsed_s,
        }

    def load_state_dict(self, state: dict) -> EpochProgress | None:
        self.super_net.load_state_dict(state["super_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.trainer.algorithm.load_state_dict(state["algorithm"])
        if self.regularizer:  # refinement may have grown the set since the start
            landmarks = [Landmark(arch, accuracy) for arch, accuracy in state["landmarks"]]
            self.regularizer.set_landmarks(landmarks, [self.space.parse_arch(lm.arch) for lm in landmarks])
        restore_rng(state["rng"], self.python_rngs(), self.generators)
        self.history, self.oracle_queries = state["history"], state["oracle_queries"]
        self.landmark_scores = state.get("landmark_scores", [])  # checkpoints from before it was recorded
        self.archs_table = pd.DataFrame(state["archs_table"])
        self.epochs_done, self.elapsed_s = state["epochs_done"], state["elapsed_s"]
        progress = state["epoch_progress"]
        return EpochProgress.from_state_dict(progress, self.test_labels.device) if progress else None

    def save_checkpoint(self, progress: EpochProgress | None = None) -> None:
        save_checkpoint(self.folder.checkpoint, self.state_dict(progress))


def build_run(cfg: DictConfig, run_dir: Path, device: torch.device) -> Run:
    """Build every piece from the config alone (the same way on a fresh start and on resume)."""
    seed_everything(cfg.seed)
    space = get_space(cfg.space.name)
    benchmark = load_benchmark(cfg.space.name, cfg.space.get("table"))
    metric = cfg.space.ground_truth

    # Landmarks come from outside the plain evaluation sample, so it stays the same with and without them.
    plain_sample = draw_eval_sample(benchmark, cfg.eval.num_archs, cfg.eval.sample_seed, set(), metric)
    landmarks = choose_landmarks(cfg, benchmark, space, reserved=set(plain_sample.archs))
    sample = draw_eval_sample(benchmark, cfg.eval.num_archs, cfg.eval.sample_seed, {lm.arch for lm in landmarks},
                              metric)

    data = load_data(cfg.data)
    weight_indices, held_out_indices = split_train(len(data.train_labels), stream_seed(cfg.data.split_seed,
                                                                                         "data_split"))
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
    algorithm = build_algorithm(cfg.algorithm, space, random.Random(stream_seed(cfg.seed, "algorithm")), device,
                                generators["algorithm_device"])
    steps_total = cfg.trainer.epochs * train_batches.num_batches(cfg.trainer.batch_size)
    optimizer, scheduler = build_optimizer(super_net, cfg.trainer, steps_total)
    regularizer = None
    if cfg.regularizer.name == "landmark":
        regularizer = LandmarkRegularizer(landmarks, [space.parse_arch(lm.arch) for lm in landmarks],
                                          cfg.regularizer, cfg.trainer.epochs,
                                          random.Random(stream_seed(cfg.seed, "regularizer")))
    trainer = SuperNetTrainer(super_net, algorithm, optimizer, scheduler, cfg.trainer.grad_clip, regularizer,
                              held_out, generators["held_out_order"], cfg.trainer.set_grads_to_none,
                              generators["arch_order"])
    archs_table = pd.DataFrame({"arch": sample.archs, "ground_truth": sample.ground_truth, "params_m": sample.params})
    return Run(cfg=cfg, folder=RunFolder(run_dir), space=space, benchmark=benchmark, sample=sample,
               landmarks=landmarks, super_net=super_net, optimizer=optimizer, scheduler=scheduler, trainer=trainer,
               train_batches=train_batches, held_out=held_out, test_images=test_images, test_labels=test_labels,
               generators=generators, archs_table=archs_table)


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


def search_phase(run: Run) -> dict:
    """Choose architectures with the trained super-net (evolution/random search, or alpha's argmax) -> search.csv."""
    cfg = run.cfg
    count = min(cfg.search.num_images, len(run.held_out))  # held-out images are in random order: a prefix is uniform
    images, labels = to_float_normalized(run.held_out.images[:count]), run.held_out.labels[:count]
    report, candidates = search_supernet(run.super_net, run.trainer.algorithm, run.space, run.benchmark,
                                         cfg.space.ground_truth, cfg.search, images, labels, cfg.eval.batch_size,
                                         seed=cfg.seed)
    save_csv(run.folder.search, candidates)
    return report


def train_one_epoch(run: Run, epoch: int, progress: EpochProgress | None, stop: dict) -> None:
    """One epoch, its evaluation and refinement, then records and the end-of-epoch checkpoint."""
    cfg = run.cfg
    every = cfg.trainer.checkpoint_every_steps
    last_step = run.train_batches.num_batches(cfg.trainer.batch_size)

    def after_step(current: EpochProgress, verify) -> None:
        # The epoch's last step is saved by the end-of-epoch checkpoint, with its evaluation.
        step_due = every and current.step % every == 0 and current.step < last_step
        if stop["signal"] or step_due:
            verify()  # never checkpoint a non-finite step
            run.save_checkpoint(current)
        if stop["signal"]:
            raise Interrupted(stop["signal"], f"at epoch {epoch}, step {current.step}", run.folder.path)

    started = time.perf_counter()
    row = {"epoch": epoch, **run.trainer.train_epoch(run.train_batches, cfg.trainer.batch_size,
                                                      run.generators["data_order"], epoch, cfg.trainer.epochs,
                                                      progress, after_step)}
    if epoch in set(cfg.eval.at_epochs) | {cfg.trainer.epochs}:
        evaluation_started = time.perf_counter()
        result = evaluate_ranking(run.super_net, run.space, run.sample, run.test_images, run.test_labels,
                                  cfg.eval.batch_size, cfg.eval.top_k, landmarks=run.current_landmarks)
        # Evaluations are not part of training: a budget study subtracts them to plot tau against training time.
        row.update(result["metrics"], eval_s=time.perf_counter() - evaluation_started)
        run.archs_table[f"supernet_acc_epoch{epoch}"] = result["supernet_accuracy"]
        save_csv(run.folder.archs, run.archs_table)
        if run.current_landmarks:  # for the scatter of super-net accuracy against ground truth (lrnas report)
            scored = zip(run.current_landmarks, result["landmark_accuracy"].tolist(), strict=True)
            run.landmark_scores += [{"epoch": epoch, "arch": lm.arch, "ground_truth": lm.accuracy, "supernet_acc": acc}
                                    for lm, acc in scored]
            save_csv(run.folder.landmark_scores, pd.DataFrame(run.landmark_scores))
        log.info("epoch %d: %s", epoch, describe_ranking(result["metrics"]))
    log.info("epoch %d: %s", epoch, describe_training(row))
    refine = cfg.landmarks.get("refine")
    if run.regularizer and refine and epoch in refinement_epochs(cfg.trainer.epochs, refine.rounds):
        run.oracle_queries += refine_round(epoch, run, refine)
        save_csv(run.folder.oracle_queries, pd.DataFrame(run.oracle_queries))
        save_landmarks(run.regularizer.landmarks, run.folder.landmarks)
    run.elapsed_s += time.perf_counter() - started
    row["elapsed_s"] = run.elapsed_s
    run.history.append(row)
    run.epochs_done = epoch
    save_json(run.folder.metrics, metrics_document(run))
    run.save_checkpoint()


def refine_round(epoch: int, run: Run, refine) -> list[dict]:
    """One refinement round: the oracle's answers for the super-net's top candidates join the landmarks."""
    regularizer = run.regularizer
    taken = set(run.sample.archs) | {lm.arch for lm in regularizer.landmarks}
    pool = [arch for arch in run.benchmark.landmark_pool if arch not in taken]
    count = min(refine.num_images, len(run.held_out))  # held-out images are in random order: a prefix is uniform
    images, labels = to_float_normalized(run.held_out.images[:count]), run.held_out.labels[:count]
    rng = random.Random(stream_seed(run.cfg.seed, "refinement", epoch))
    queries = refine_landmarks(run.super_net, run.space, run.benchmark, run.cfg.space.ground_truth, pool, refine,
                               images, labels, run.cfg.eval.batch_size, rng)
    regularizer.add_landmarks(as_landmarks(queries), [run.space.parse_arch(q["arch"]) for q in queries])
    log.info("epoch %d: refinement queried the oracle for %d archs; %d landmarks now", epoch, len(queries),
             len(regularizer.landmarks))
    return [{"epoch": epoch, **query} for query in queries]


def describe_training(row: dict) -> str:
    text = f"train loss {row['train_loss']:.3f}, train acc {row['train_accuracy']:.1f}%"
    if "argmax_arch" in row:
        text += f", argmax arch {row['argmax_arch']} (p={row['argmax_probability']:.2g})"
    if "gumbel_tau" in row:
        text += f", Gumbel tau {row['gumbel_tau']:.2f}"
    if row.get("landmark_violation_rate") is not None:
        text += (f", landmark λ {row['landmark_lambda']:.3f}, mean penalty {row['landmark_penalty']:.4f}, "
                 f"violated pairs {100 * row['landmark_violation_rate']:.1f}%")
    elif "landmark_lambda" in row:
        text += ", landmark λ 0 (warm-up)"
    return text


def describe_ranking(metrics: dict) -> str:
    """One line a user can read at a glance: super-net tau beside the parameter-count baseline, with the sample.
    An undefined tau (all accuracies tied) is said in words, never printed as NaN."""
    tau, baseline = metrics["kendall_tau"], metrics["param_count_kendall_tau"]
    sample = f"on {metrics['sample_size']} non-landmark archs"
    if tau is None:
        text = f"{metrics['kendall_tau_undefined']} {sample} (param-count baseline {_number(baseline)})"
    else:
        versus = "" if baseline is None else f": super-net {'beats' if tau > baseline else 'does NOT beat'} it"
        text = (f"held-out Kendall tau {tau:.3f} {sample} (param-count baseline {_number(baseline)}{versus}), "
                f"sparse tau {_number(metrics['sparse_kendall_tau'])} (baseline "
                f"{_number(metrics['param_count_sparse_kendall_tau'])}), Spearman {_number(metrics['spearman_rho'])} "
                f"(baseline {_number(metrics['param_count_spearman_rho'])})")
    text += f", mean super-net acc {metrics['mean_supernet_accuracy']:.1f}%"
    if "landmark_kendall_tau" in metrics:
        landmark_tau = metrics["landmark_kendall_tau"]
        text += (f"; tau on the {metrics['num_landmarks']} landmarks themselves {landmark_tau:.3f}"
                 if landmark_tau is not None else f"; {metrics['landmark_kendall_tau_undefined']}")
    return text


def _number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def metrics_document(run: Run) -> dict:
    cfg = run.cfg
    evaluated = [row for row in run.history if "kendall_tau" in row]
    return {
        "eval_sample": {
            "num_archs": len(run.sample.archs),
            "excluded_landmarks": len(run.current_landmarks),
            "sample_seed": cfg.eval.sample_seed,
            "pool_size": len(run.sample.pool_ground_truth),  # the archs it is drawn from: P>random ranks among them
            "num_test_images": len(run.test_labels),
            "ground_truth": f"{cfg.space.name}:{cfg.space.ground_truth}",
            "table": cfg.space.get("table"),  # null: the shipped table
        },
        # Finished runs only: trained and searched (a run stopped during its search is resumed, not reported).
        "final": evaluated[-1] if evaluated and run.search is not None else None,
        "search": run.search,
        "history": run.history,
    }


def summary_table(history: list[dict]) -> str:
    columns = ["epoch", "train_loss", "train_accuracy", "kendall_tau", "param_count_kendall_tau", "sparse_kendall_tau",
               "landmark_kendall_tau", "spearman_rho", "precision_at_top10", "top10_mean_ground_truth",
               "p_surpass_random_top10", "landmark_lambda", "elapsed_s"]
    frame = pd.DataFrame([row for row in history if "kendall_tau" in row])
    numbers = frame[[c for c in columns if c in frame]].apply(pd.to_numeric)  # None (a tied tau) -> NaN -> na_rep
    return numbers.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="undefined")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    # Hydra's console handler writes straight to stderr, onto a progress bar's line: run_job logs through tqdm.write
    # (Hydra's file handler, train.log, is left as it is).
    run_job(lambda: train(cfg, run_dir, list(hydra_cfg.overrides.task)), log,
            nonfinite_hint=f"; the last good checkpoint is {RunFolder(run_dir).checkpoint}")
