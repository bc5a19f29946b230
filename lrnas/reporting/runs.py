"""Collect run folders into tables: one row per finished run, one per (run, epoch), and every run left out with why.

    lrnas report outputs/multirun/2026-11-27
    lrnas report outputs --csv runs.csv

Runs are repeats of one configuration, and averaged, only when their whole composed configs (``config.yaml``) are
equal apart from ``seed`` and the bookkeeping keys below. The grouping is derived from the configs themselves, so a key
added to conf/ can never be forgotten; the keys whose values differ become the table's columns.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from omegaconf import OmegaConf

from ..config_history import with_added_keys
from ..evaluation.metrics import REPORTED_TOP_K, reported_top_k
from ..evaluation.proxies import PROXIES
from ..run.folder import RunFolder
from .statistics import CORRELATIONS, interval

# Keys that never change what a run computes, so runs differing only in them are repeats of one configuration:
# - seed: what the summary averages over;
# - resume: the folder a run was continued from (resuming is exact);
# - device: it changes float rounding and which generator draws the random streams, as another seed would, not
#   the protocol;
# - data.cache_dir: where decoded images are cached;
# - trainer.checkpoint_every_steps: how often mid-epoch checkpoints are written (they draw no random numbers);
# - eval.at_epochs: evaluations before the last epoch draw no random numbers and change no weights, so the final
#   results are the same with or without them (a budget study's long runs evaluate mid-run, its short ones do not).
# data.root stays a key, compared as the file it names (launch_root): two spellings of one archive are one root, but
# two files may hold the same images and lrnas cannot tell, so it never assumes they do.
# Hydra's own settings (hydra.*) are not part of config.yaml; they are skipped should one appear.
# - eval.proxies, eval.proxy_recipe: free rankings of the sample, computed apart from the run (its metrics say which).
BOOKKEEPING = ("seed", "resume", "device", "data.cache_dir", "trainer.checkpoint_every_steps", "eval.at_epochs",
               "eval.proxies", "eval.proxy_recipe")

METRIC_COLUMNS = ["epoch", "sample_size", "kendall_tau", "param_count_kendall_tau", "sparse_kendall_tau",
                  "param_count_sparse_kendall_tau", "spearman_rho", "param_count_spearman_rho", "landmark_kendall_tau",
                  "mean_supernet_accuracy", "pool_kendall_tau", "elapsed_s"]
# Each zero-cost proxy's Kendall tau-b on the run's sample (eval.proxies): a column only where some run has it.
PROXY_COLUMNS = [f"{proxy}_kendall_tau" for proxy in PROXIES]
# The search phase's choice (runs from before the search phase have none): its ground truth and percentile.
SEARCH_COLUMNS = ["ground_truth", "percentile"]
# Averaged over seeds by `summarise`, each with its std and 95% confidence interval.
SUMMARY_METRICS = ["kendall_tau", "param_count_kendall_tau", "sparse_kendall_tau", "param_count_sparse_kendall_tau",
                   "spearman_rho", "param_count_spearman_rho", "landmark_kendall_tau", "mean_supernet_accuracy",
                   "pool_kendall_tau", "searched_ground_truth", "elapsed_s"]


@dataclass(frozen=True)
class LeftOut:
    """A run that is not in the tables: unreadable, unfinished, failed, or a sweep job without a folder (missing)."""

    status: str  # unreadable | unfinished | failed | missing | duplicate
    where: str  # the run folder (missing: the job's would-be folder)
    why: str

    def __str__(self) -> str:
        return f"{self.status}: {self.where}: {self.why}"


@dataclass(frozen=True)
class Runs:
    """The finished runs below some folders, their per-epoch history, and the runs left out."""

    table: pd.DataFrame  # one row per finished run: run folder, seed, git revision, the keys that differ, metrics
    keys: list[str]  # config keys (dotted) whose values differ between runs, seed and bookkeeping aside
    configs: pd.DataFrame  # every finished run's flattened config (same row order as table)
    history: pd.DataFrame  # one row per (finished run, epoch): run, seed, the keys, that epoch's record
    left_out: list[LeftOut]


def find_runs(root: Path) -> list[Path]:
    """Every run folder under ``root`` (one holding metrics.json, or a Hydra job's .hydra/), in path order."""
    root = Path(root)
    marks = list(root.rglob(RunFolder(".").metrics.name)) + list(root.rglob(".hydra"))
    return sorted({path.parent for path in marks})


def collect_runs(*roots: Path) -> Runs:
    """Every finished run under the ``roots`` (trained, evaluated and searched), and every run that is not, in
    ``left_out``: unreadable files, runs still training or stopped, failed runs, and sweep jobs that never started."""
    rows, configs, histories, left_out, seen = [], [], [], [], {}
    for run in sorted({run for root in roots for run in find_runs(root)}, key=natural_order):
        try:
            metrics, config = read_run(run)
        except UnreadableRun as error:
            left_out.append(LeftOut("unreadable", str(run), str(error)))
            continue
        if not (metrics or {}).get("final"):
            left_out.append(not_finished(run, metrics))
            continue
        flat = flatten(with_added_keys(config))  # a run from before a key existed: its value then
        if isinstance(flat.get("data.root"), str):
            flat["data.root"] = launch_root(run, flat["data.root"])
        repeat = repr(sorted((k, repr(v)) for k, v in flat.items() if k == "seed" or k not in BOOKKEEPING))
        if repeat in seen:  # the same run twice (e.g. a copied sweep folder): one seed must not count as two
            left_out.append(LeftOut("duplicate", str(run), f"same config and seed as {seen[repeat]}, which is counted"))
            continue
        seen[repeat] = run
        search = metrics.get("search") or {}
        top_k = [name.format(k=(config.get("eval") or {}).get("top_k")) for name in REPORTED_TOP_K]
        rows.append({"run": str(run), "seed": config.get("seed"), "git_revision": git_revision(run),
                     **{name: metrics["final"].get(name) for name in METRIC_COLUMNS + top_k},
                     **{name: metrics["final"][name] for name in PROXY_COLUMNS if name in metrics["final"]},
                     **{f"searched_{name}": search.get(name) for name in SEARCH_COLUMNS}})
        configs.append(flat)
        histories += [{"run": str(run), "seed": config.get("seed"), **row} for row in metrics.get("history", [])]
    left_out += missing_jobs(roots)
    if not rows:
        reasons = f"; left out: {'; '.join(map(str, left_out))}" if left_out else ""
        raise ValueError(f"no finished run (a folder with metrics.json holding a final evaluation) under "
                         f"{', '.join(map(str, roots))}{reasons}")
    keys = differing_keys(configs)
    table = pd.DataFrame(rows)
    history = pd.DataFrame(histories) if histories else pd.DataFrame(columns=["run", "seed", "epoch"])
    numeric = [*METRIC_COLUMNS, *reported_top_k(table), *(f"searched_{name}" for name in SEARCH_COLUMNS),
               *(name for name in PROXY_COLUMNS if name in table)]
    table[numeric] = table[numeric].apply(pd.to_numeric)  # None (undefined, or not recorded) -> NaN
    config_frame = pd.DataFrame(configs, dtype=object)  # as written: 30 stays 30 beside a null
    for position, key in enumerate(keys, start=3):  # after run, seed and git revision
        table.insert(position, key, config_frame[key].tolist())
        history.insert(position - 1, key, history["run"].map(dict(zip(table["run"], table[key], strict=True))))
    return Runs(table, keys, config_frame, history, left_out)


def natural_order(path: Path) -> list:
    """Sort key reading digit runs as numbers, so sweep job 10 comes after job 9, not after job 1."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


class UnreadableRun(ValueError):
    """A run folder's metrics.json or config.yaml cannot be read; the message names the file."""


def read_run(run: Path) -> tuple[dict | None, dict]:
    """The run's metrics.json (None if it has none yet) and config.yaml as plain dicts."""
    metrics_path, config_path = RunFolder(run).metrics, RunFolder(run).config
    if not metrics_path.exists():
        return None, {}
    try:
        metrics = json.loads(metrics_path.read_text())
    except (OSError, ValueError) as error:  # ValueError: JSON syntax and undecodable bytes
        raise UnreadableRun(f"{metrics_path}: not valid JSON ({error})") from None
    if not isinstance(metrics, dict):
        raise UnreadableRun(f"{metrics_path}: not a metrics document (a JSON object)")
    if not metrics.get("final"):
        return metrics, {}  # unfinished: left out before its config matters
    try:
        config = OmegaConf.to_container(OmegaConf.load(config_path))
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise UnreadableRun(f"{config_path}: cannot be read ({type(error).__name__}: {error})") from None
    if not isinstance(config, dict):
        raise UnreadableRun(f"{config_path}: not a config (a YAML mapping)")
    return metrics, config


def launch_root(run: Path, root: str) -> str:
    """``data.root`` as the absolute file it named where the run was launched (Hydra's ``runtime.cwd`` in the run's
    .hydra/hydra.yaml), as training resolved it (``data_root``); a relative root as written where that is not
    recorded."""
    path = Path(root).expanduser()
    if not path.is_absolute():
        try:
            path = Path(OmegaConf.load(run / ".hydra/hydra.yaml").hydra.runtime.cwd) / path
        except (OSError, ValueError, yaml.YAMLError, AttributeError):
            return root
    return str(path.resolve())


def git_revision(run: Path) -> str | None:
    """The lrnas revision the run was made with (run_info.json), if recorded."""
    try:
        return json.loads(RunFolder(run).run_info.read_text()).get("git_revision")
    except (OSError, ValueError, AttributeError):
        return None


ERROR_LINE = re.compile(r"\]\[ERROR\] - (.*)")
RESUME_HINT = re.compile(r"resume=\S+")


def not_finished(run: Path, metrics: dict | None) -> LeftOut:
    """Why a run has no final results: the last error its train.log names (failed), else how far it got."""
    log = RunFolder(run).log
    errors = ERROR_LINE.findall(log.read_text(errors="replace")) if log.exists() else []
    if errors and errors[-1].startswith("error:"):
        return LeftOut("failed", str(run), errors[-1])
    epochs = [row.get("epoch") for row in (metrics or {}).get("history", [])]
    progress = f"trained through epoch {max(epochs)}" if epochs else "no epoch done"
    # The log's resume hint names the folder as the machine that ran it saw it: name it as this report reads it.
    stopped = f"; {RESUME_HINT.sub(lambda _: f'resume={run}', errors[-1])}" if errors else " (still running, or killed)"
    return LeftOut("unfinished", str(run), f"{progress}{stopped}")


def missing_jobs(roots) -> list[LeftOut]:
    """Jobs of the Hydra sweeps under ``roots`` (folders with multirun.yaml) that have no folder: the sweep stopped
    before them. Only for the basic sweeper with job folders named by job number, as lrnas's sweeps are."""
    missing = []
    for multirun in sorted({path for root in roots for path in Path(root).rglob("multirun.yaml")}):
        jobs = sweep_jobs(multirun)
        missing += [LeftOut("missing", str(multirun.parent / str(number)),
                            f"job {number} ({' '.join(job)}) has no folder: not started (the sweep stopped before it, "
                            "or is still running)")
                    for number, job in enumerate(jobs or []) if not (multirun.parent / str(number)).exists()]
    return missing


def sweep_jobs(multirun: Path) -> list[list[str]] | None:
    """Each job's overrides, in Hydra's job-number order, for the sweep that wrote ``multirun``; None when its sweeper
    or folder naming is not the basic one."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    hydra = (OmegaConf.to_container(OmegaConf.load(multirun), resolve=False) or {}).get("hydra", {})
    sweeper = hydra.get("sweeper", {})
    if not sweeper.get("_target_", "").endswith("BasicSweeper") or hydra.get("sweep", {}).get("subdir") != \
            "${hydra.job.num}":
        return None
    params = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
    try:
        overrides = OverridesParser.create().parse_overrides(params + hydra["overrides"]["task"])
        return BasicSweeper.split_arguments(overrides, max_batch_size=None)[0]
    except HydraException:  # e.g. glob(), which needs the config loader: the job count is not known here
        return None


def flatten(config: dict, prefix: str = "") -> dict:
    """Dotted key -> value for every leaf; lists become their JSON text so they can be grouped on."""
    leaves = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            leaves.update(flatten(value, f"{name}."))
        else:
            leaves[name] = json.dumps(value) if isinstance(value, (list, dict)) else value
    return leaves


def differing_keys(configs: list[dict]) -> list[str]:
    """Keys whose values are not the same in every config (a missing key counts as null), bookkeeping aside."""
    every = dict.fromkeys(key for config in configs for key in config)  # first-seen order: the config file's
    return [key for key in every if key not in BOOKKEEPING and not key.startswith("hydra.")
            and len({repr(config.get(key)) for config in configs}) > 1]


def summarise(runs: Runs) -> pd.DataFrame:
    """Per configuration: n (its seeds), then for every metric its mean, std (ddof 1) and 95% interval over seeds
    (``_ci_low``, ``_ci_high``: Fisher's z for rank correlations, Student's t otherwise; none below 3 seeds, see
    lrnas.reporting.statistics). A metric that any run of a configuration lacks (an undefined tau, a run from before
    the metric) has no mean there: a subset of the seeds is never averaged as if it were all of them."""
    table = runs.table.assign(_all=0)  # one group when no key differs
    grouped = table.groupby(runs.keys or ["_all"], dropna=False, sort=False)
    summary = grouped["seed"].agg(n="size")
    for metric in [*SUMMARY_METRICS, *reported_top_k(runs.table),
                   *(name for name in PROXY_COLUMNS if name in runs.table)]:
        column = grouped[metric]
        summary[f"{metric}_mean"] = column.agg(lambda values: values.mean(skipna=False))
        summary[f"{metric}_std"] = column.agg(lambda values: values.std(skipna=False))
        bounds = [interval(values.to_numpy(), metric in CORRELATIONS) or (math.nan, math.nan) for _, values in column]
        summary[f"{metric}_ci_low"] = [low for low, _ in bounds]
        summary[f"{metric}_ci_high"] = [high for _, high in bounds]
    return summary.reset_index(drop=not runs.keys)
