"""The phases of a run after it is built: each epoch (train, evaluate, refine, record, checkpoint), then the search."""
from __future__ import annotations

import logging
import random
import time

import numpy as np
import pandas as pd

from ..data import to_float_normalized
from ..evaluation.alpha_pool import alpha_favourites, rank_pool, refresh_pool
from ..evaluation.metrics import ranking_metrics
from ..evaluation.ranking import evaluate_ranking, supernet_accuracies
from ..landmarks import save_landmarks
from ..landmarks.refinement import as_landmarks, refine_landmarks, refinement_epochs
from ..records import save_csv, save_json
from ..resume import Interrupted
from ..search.on_supernet import search_supernet
from ..seeding import stream_seed
from ..training import EpochProgress
from .messages import describe_ranking, describe_training, metrics_document
from .state import Run

log = logging.getLogger("lrnas.train")  # one logger for the whole run: its lines read as one story in train.log


def train_one_epoch(run: Run, epoch: int, progress: EpochProgress | None, stop: dict) -> None:
    """One epoch, its evaluation and refinement, then records and the end-of-epoch checkpoint."""
    cfg = run.cfg
    every = cfg.trainer.checkpoint_every_steps
    last_step = run.train_batches.num_batches(cfg.trainer.batch_size, cfg.trainer.drop_last)

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
                                  cfg.eval.batch_size, cfg.eval.top_k, landmarks=run.current_landmarks,
                                  recalibration=run.recalibration)
        # Evaluations are not part of training: a budget study subtracts them to plot tau against training time.
        row.update(result["metrics"], eval_s=time.perf_counter() - evaluation_started)
        run.archs_table[f"supernet_acc_epoch{epoch}"] = result["supernet_accuracy"]
        save_csv(run.folder.archs, run.archs_table)
        if run.current_landmarks:  # for the scatter of super-net accuracy against ground truth (lrnas report)
            scored = zip(run.current_landmarks, result["landmark_accuracy"].tolist(), strict=True)
            run.landmark_scores += [{"epoch": epoch, "arch": lm.arch, "ground_truth": lm.accuracy, "supernet_acc": acc}
                                    for lm, acc in scored]
            save_csv(run.folder.landmark_scores, pd.DataFrame(run.landmark_scores))
        if cfg.eval.pool == "alpha_refresh":
            row.update(score_alpha_pool(run, epoch, result["supernet_accuracy"]))
        log.info("epoch %d: %s", epoch, describe_ranking(result["metrics"]))
        if "pool_kendall_tau" in row:
            log.info("epoch %d: the authors' alpha-refreshed pool (%d archs): Kendall tau %s", epoch, row["pool_size"],
                     "undefined" if row["pool_kendall_tau"] is None else f"{row['pool_kendall_tau']:.3f}")
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


def score_alpha_pool(run: Run, epoch: int, sample_accuracy) -> dict:
    """eval.pool=alpha_refresh: in the alpha search, push alpha's 10 favourites into the authors' pool, score it (an
    arch of the fixed sample keeps the accuracy it just got), rank it for the next refresh, and record it."""
    cfg, algorithm = run.cfg, run.trainer.algorithm
    pool = run.eval_pool
    if algorithm.phase == "search":  # their pool changes only in the search loop (differentiable_policy.py:205-219)
        favourites = alpha_favourites(algorithm.op_probabilities(), run.space,
                                      random.Random(stream_seed(cfg.seed, "alpha_pool", epoch)))
        known = set(run.benchmark.eval_pool)  # as theirs, only archs of the table enter (:216-218, 285-294)
        pool = refresh_pool(pool, [arch for arch in favourites if arch in known], len(run.sample.archs))
    scores = dict(zip(run.sample.archs, sample_accuracy.tolist(), strict=True))
    new = [arch for arch in pool if arch not in scores]
    if new:
        scores |= dict(zip(new, supernet_accuracies(run.super_net, [run.space.parse_arch(a) for a in new],
                                                    run.test_images, run.test_labels, cfg.eval.batch_size,
                                                    recalibration=run.recalibration).tolist(),
                           strict=True))
    accuracy = np.array([scores[arch] for arch in pool])
    truth = run.benchmark.accuracies(pool, cfg.space.ground_truth)
    run.eval_pool = rank_pool(pool, accuracy)
    run.eval_pool_scores += [{"epoch": epoch, "arch": arch, "ground_truth": gt, "supernet_acc": acc}
                             for arch, gt, acc in zip(pool, truth.tolist(), accuracy.tolist(), strict=True)]
    save_csv(run.folder.eval_pool, pd.DataFrame(run.eval_pool_scores))
    metrics = ranking_metrics(accuracy, truth, cfg.eval.top_k)
    return {"pool_kendall_tau": metrics["kendall_tau"], "pool_size": len(pool)}


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
