"""Build a landmark file: choose M architectures, train each one stand-alone (or look it up), write landmarks.csv.

    lrnas landmarks build space=nb201 standalone=nb201_cpu data.root=../shared/data/cifar10/cifar10_jpg_q75.tar.gz
    lrnas landmarks build -m space=nb201 'build.only=range(30)' hydra/launcher=lrnas_joblib   # one job per arch
    lrnas landmarks build space=nb201 standalone=benchmark     # no training: NB201's own 12-epoch accuracies
    lrnas landmarks build space=nb201 build.archs=my_archs.txt # your own list, one architecture per line

``build.out`` holds, once every architecture is done, ``landmarks.csv`` (``arch,accuracy`` plus provenance columns,
worst to best), which ``lrnas train landmarks=file landmarks.path=...`` reads as it is:

    build.json      what the build is (space, architectures, recipe, data, seed); a rerun must be the same build
    archs/NNN/      one folder per architecture: checkpoint.pt (the network, optimizer and position; a killed training
                    resumes from it), result.json once done (a rerun skips it)
    landmarks.csv   written by whichever job finds every result.json present
    summary.json    with ground truth (NB201, NB101): Kendall tau of the built accuracies against it

A space that ships no ground truth (DARTS, unless ``space.table`` names one) has no table to choose landmarks from:
``landmarks=random`` then draws them with the space's own sampler, and the summary has no tau.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import random
import sys
import time
import zlib
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.utils import instantiate, to_absolute_path
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ..benchmarks import GroundTruthError
from ..conf import CONFIG_DIR
from ..config_rules import ConfigError, integer, invalid, optional, seed
from ..data import DeviceBatches, load_data, random_subset, split_seed, to_float_normalized
from ..device import resolve_device
from ..evaluation.free_rankings import has_network, proxy_batch, proxy_network_config
from ..evaluation.metrics import kendall_tau
from ..evaluation.proxies import BATCH_SIZE, PROXIES, score_network
from ..landmarks import choose_landmarks, evaluation_reserve
from ..landmarks.selection import check_listed_arch
from ..records import atomic_write, git_revision, save_json
from ..resume import run_job, stop_on_signals
from ..seeding import stream_seed
from ..spaces import get_space, load_benchmark
from .training import RECIPE_RULES, build_network, parameter_count, train_standalone

log = logging.getLogger(__name__)

LANDMARKS_FILE = "landmarks.csv"
# landmarks.csv, in this order; params_m: the network's parameter count as it is tested, in millions (empty for
# results written before it was recorded)
COLUMNS = ("arch", "accuracy", "recipe", "epochs", "seed", "data", "wall_s", "params_m")
CHOOSING = ("random", "fixed", "hamming")  # landmarks methods that choose architectures to build


def build(cfg: DictConfig) -> Path | None:
    """Build the landmarks ``cfg`` asks for (only ``build.only`` when set); the landmark file once all are done."""
    check_build_config(cfg)
    out = Path(to_absolute_path(cfg.build.out))
    space = get_space(cfg.space.name)
    archs = choose_archs(cfg, space)
    only = cfg.build.only
    if not optional(integer(0, len(archs) - 1)).accepts(only):
        raise invalid("build.only", only, f"null or an integer in 0..{len(archs) - 1} (the {len(archs)} archs)")
    if not ({"column", "proxy"} & set(cfg.standalone)):
        check_recipe_builds(cfg.standalone, space.parse_arch(archs[0]))
    identity = build_identity(cfg)
    claim(out, {**identity, "archs": archs},
          summary={"ground_truth": cfg.space.get("ground_truth"),
                   "references": list(cfg.standalone.get("references", []))})
    indices = range(len(archs)) if only is None else [only]
    todo = [i for i in indices if not (result_path(out, i)).exists()]
    log.info("building %d %s landmarks in %s with recipe %s: %d to do, %d done", len(indices), cfg.space.name, out,
             cfg.standalone.name, len(todo), len(indices) - len(todo))
    if todo:
        # without training: a proxy's score at initialisation, or a table column; else a stand-alone training
        scorer = ProxyScorer(cfg, space).score if "proxy" in cfg.standalone else None
        scorer = (lambda arch: lookup(cfg, arch)) if "column" in cfg.standalone else scorer
        trainer = None if scorer else Trainer(cfg, identity)
        with stop_on_signals() as stop:
            for i in tqdm(todo, desc="landmarks", unit="arch", dynamic_ncols=True, disable=len(todo) < 2):
                describe = f"arch {i + 1}/{len(archs)}"
                if scorer is not None:
                    result = scorer(archs[i])
                else:
                    result = trainer.train(archs[i], space, out / "archs" / f"{i:03d}", stop, describe)
                    log.info("%s %s: accuracy %.2f%% after %d epochs (%s s)", describe, archs[i], result["accuracy"],
                             result["epochs"], result["wall_s"])
                save_json(result_path(out, i), {"index": i, "arch": archs[i], **result})
    return gather(out)


def check_build_config(cfg: DictConfig) -> None:
    """One-line errors for the recipe's values before anything is trained."""
    if not seed().accepts(cfg.seed):
        raise invalid("seed", cfg.seed, seed().allowed)
    recipe = cfg.standalone
    columns = [*recipe.get("references", []), *([recipe.column] if "column" in recipe else [])]
    if columns:
        benchmark = load_benchmark(cfg.space.name, cfg.space.get("table"))
        if benchmark is None:
            key = "standalone.column" if "column" in recipe else "standalone.references"
            raise ConfigError(f"{key}: space={cfg.space.name} ships no ground-truth table to read "
                              f"{', '.join(map(str, columns))} from; train a recipe (standalone={cfg.space.name}) or "
                              "give space.table=PATH")
        metrics = benchmark.metrics
        for column in columns:
            if column not in metrics:
                key = "standalone.column" if column == recipe.get("column") else "standalone.references"
                raise invalid(key, column, f"one of {', '.join(metrics)} (the {cfg.space.name} table's columns)")
    if "proxy" in recipe:
        if recipe.proxy not in PROXIES:
            raise invalid("standalone.proxy", recipe.proxy, f"one of {', '.join(PROXIES)}")
        if not has_network(recipe.network_recipe):
            raise invalid("standalone.network_recipe", recipe.network_recipe,
                          "a stand-alone recipe with a network (conf/standalone/: nb201, nb201_cpu, nb101, darts, ...)")
    if {"column", "proxy"} & set(recipe):
        return
    for key, rule in RECIPE_RULES.items():
        if not rule.accepts(recipe.get(key)):
            raise invalid(f"standalone.{key}", recipe.get(key), rule.allowed)


def check_recipe_builds(recipe, arch) -> None:
    """Build one network and its optimizer now: a wrong ``_target_``, a misspelt argument or a recipe for another
    space is one line before any data is loaded, not a traceback later."""
    try:
        net = build_network(recipe, arch)
    except Exception as error:  # instantiation raises anything its target raises: each becomes one line here
        raise ConfigError(f"standalone.network ({recipe.network._target_}) cannot build a network: "
                          f"{first_line(error)}") from None
    try:
        instantiate(recipe.optimizer, _partial_=True)(net.parameters())
    except Exception as error:
        raise ConfigError(f"standalone.optimizer ({recipe.optimizer._target_}) cannot be made: "
                          f"{first_line(error)}") from None


def first_line(error: Exception) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)


def build_identity(cfg: DictConfig) -> dict:
    """What makes two builds the same: a folder and each checkpoint in it belong to one of them."""
    recipe = OmegaConf.to_container(cfg.standalone, resolve=True)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return {"space": cfg.space.name, "table": cfg.space.get("table"), "seed": cfg.seed,
            # keys that change no training (scoring batch, summary columns) are left out
            "recipe": {k: v for k, v in recipe.items() if k not in ("eval_batch_size", "references")},
            "data": {"root": None if data["synthetic"] else str(Path(to_absolute_path(data["root"]))),
                     "synthetic": data["synthetic"], "split_seed": split_seed(cfg),
                     "test_sample_seed": cfg.eval.sample_seed}}


def choose_archs(cfg: DictConfig, space) -> list[str]:
    """``build.archs`` as listed, or the landmark set ``lrnas train`` with the same seed and landmarks draws (outside
    the same evaluation sample), sorted worst to best by ground truth."""
    if cfg.build.archs:
        # NB101 also checks that a parsed cell is a valid network (input reaches output, at most 9 edges)
        validate = space.validate or (lambda arch: arch)
        return read_arch_list(Path(to_absolute_path(cfg.build.archs)), lambda text: validate(space.parse_arch(text)))
    if cfg.landmarks.method not in CHOOSING:
        raise ConfigError(f"landmarks={cfg.landmarks.method} does not choose architectures to build; use "
                          f"landmarks={'|'.join(CHOOSING)}, or build.archs=PATH for your own list")
    benchmark = load_benchmark(cfg.space.name, cfg.space.get("table"))
    if benchmark is None:
        return sample_archs(cfg, space)
    return [lm.arch for lm in choose_landmarks(cfg, benchmark, space, reserved=evaluation_reserve(cfg, benchmark))]


def sample_archs(cfg: DictConfig, space) -> list[str]:
    """For a space without ground truth: ``landmarks.num_landmarks`` distinct architectures from the space's sampler
    (``landmarks.seed``, or the run seed's landmarks stream), in the order drawn."""
    method, count = cfg.landmarks.method, cfg.landmarks.num_landmarks
    if method != "random":
        raise ConfigError(f"landmarks={method} chooses by ground truth, and space={cfg.space.name} ships none; use "
                          "landmarks=random, build.archs=PATH, or space.table=PATH")
    if not integer(2).accepts(count):
        raise invalid("landmarks.num_landmarks", count, integer(2).allowed)
    seed = stream_seed(cfg.seed, "landmarks") if cfg.landmarks.get("seed") is None else cfg.landmarks.seed
    rng = random.Random(seed)
    archs: list[str] = []
    seen: set[str] = set()
    for _ in range(1000 * count):  # a space with fewer distinct architectures than asked for ends the loop
        arch = space.format_arch(space.sample_arch(rng))
        if arch not in seen:
            seen.add(arch)
            archs.append(arch)
            if len(archs) == count:
                return archs
    raise ConfigError(f"landmarks.num_landmarks={count}: {1000 * count} draws from space={cfg.space.name} gave "
                      f"only {len(archs)} distinct architectures")


def read_arch_list(path: Path, check_arch) -> list[str]:
    """One architecture per line, or a CSV with an ``arch`` column (a landmarks.csv: its accuracies are ignored);
    ``check_arch`` raises ValueError on an invalid one."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"build.archs={str(path)!r}: cannot read it ({error.strerror})") from None
    lines = text.splitlines()
    if lines and (lines[0].strip() == "arch" or lines[0].startswith("arch,")):
        column = next(csv.reader(lines[:1])).index("arch")
        rows = [(n, row[column] if len(row) > column else "")
                for n, row in enumerate(csv.reader(lines[1:]), start=2)]
    else:
        rows = list(enumerate(lines, start=1))
    archs: list[str] = []
    seen: set[str] = set()
    for line, arch in ((line, text.strip()) for line, text in rows):
        if arch:
            check_listed_arch(f"{path}:{line}", arch, check_arch, seen)
            archs.append(arch)
    if len(archs) < 2:
        raise ConfigError(f"{path}: lists {len(archs)} architectures; a landmark set needs at least 2")
    return archs


def claim(out: Path, manifest: dict, summary: dict) -> None:
    """Write ``build.json`` (``manifest``, and the columns ``summary.json`` compares with), or check that the one
    there describes this same build (never mix two builds' results)."""
    path = out / "build.json"
    out.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked into place (which fails if it exists): of two jobs starting together, one claims the
    # folder and the other checks against a complete file.
    aside = out / f".build.json.{os.getpid()}.tmp"
    aside.write_text(json.dumps({**manifest, **summary, "git_revision": git_revision()}, indent=2) + "\n")
    try:
        os.link(aside, path)
        return
    except FileExistsError:
        pass
    finally:
        aside.unlink()
    existing = json.loads(path.read_text())
    differing = [key for key in manifest if existing.get(key) != manifest[key]]
    if differing:
        raise ConfigError(f"build.out={str(out)!r} holds another build (its {', '.join(differing)} differ); "
                          "choose another build.out")


def result_path(out: Path, index: int) -> Path:
    return out / "archs" / f"{index:03d}" / "result.json"


def describe_data_config(cfg: DictConfig) -> str:
    if "column" in cfg.standalone:
        return f"{cfg.space.name} table column {cfg.standalone.column}"
    data = cfg.data
    source = f"synthetic {data.synthetic.train}/{data.synthetic.test}" if data.synthetic else Path(data.root).name
    if "proxy" in cfg.standalone:
        return f"{source}: {BATCH_SIZE[cfg.standalone.proxy] or 1} train images at init"
    train, test = (("all" if count is None else count) for count in (cfg.standalone.train_images,
                                                                      cfg.standalone.test_images))
    return f"{source}: {train} train, {test} test images"


def lookup(cfg: DictConfig, arch: str) -> dict:
    """A recipe without training: the accuracy in a column of the space's table (e.g. NB201's 12-epoch results)."""
    benchmark = load_benchmark(cfg.space.name, cfg.space.get("table"))
    accuracy = float(benchmark.accuracies([arch], cfg.standalone.column)[0])
    return {"accuracy": accuracy, "recipe": cfg.standalone.name,
            "epochs": benchmark.training_epochs(cfg.standalone.column), "seed": None,
            "data": describe_data_config(cfg), "wall_s": 0.0, "params_m": float(benchmark.params([arch])[0])}


class ProxyScorer:
    """A recipe without training: a zero-cost proxy's score of the architecture's network at initialisation."""

    def __init__(self, cfg: DictConfig, space):
        self.cfg, self.space = cfg, space
        self.device = resolve_device(cfg.device)
        self.network = instantiate(proxy_network_config(cfg.standalone.network_recipe), _partial_=True)
        self.images, self.labels = proxy_batch(load_data(cfg.data), cfg.seed, self.device)

    def score(self, arch: str) -> dict:
        start = time.perf_counter()
        torch.manual_seed(self.cfg.seed)
        net = self.network(self.space.parse_arch(arch)).to(self.device)
        score = score_network(net, [self.cfg.standalone.proxy], self.images, self.labels)[self.cfg.standalone.proxy]
        return {"accuracy": score if math.isfinite(score) else -sys.float_info.max, "recipe": self.cfg.standalone.name,
                "epochs": 0, "seed": self.cfg.seed, "data": describe_data_config(self.cfg),
                "wall_s": round(time.perf_counter() - start, 3), "params_m": parameter_count(net) / 1e6}


class Trainer:
    """The data, device and recipe shared by every training of one build."""

    def __init__(self, cfg: DictConfig, identity: dict):
        self.cfg, self.recipe = cfg, cfg.standalone
        self.device = resolve_device(cfg.device)
        data = load_data(cfg.data)
        train_idx = subset(len(data.train_labels), self.recipe.train_images, "standalone.train_images",
                           stream_seed(split_seed(cfg), "standalone_images"))
        test_idx = subset(len(data.test_labels), self.recipe.test_images, "standalone.test_images",
                          stream_seed(cfg.eval.sample_seed, "test_images"))
        self.train_batches = DeviceBatches(data.train_images, data.train_labels, train_idx, self.device)
        self.test_images = to_float_normalized(torch.from_numpy(data.test_images[test_idx]).to(self.device))
        self.test_labels = torch.from_numpy(data.test_labels[test_idx].astype(np.int64)).to(self.device)
        self.data = describe_data_config(cfg)
        self.fingerprint = identity  # saved with each checkpoint: a checkpoint of another build is never resumed

    def train(self, arch: str, space, folder: Path, stop: dict, describe: str) -> dict:
        seed = stream_seed(self.cfg.seed, "standalone", zlib.crc32(arch.encode()))  # per arch, whatever its index
        result = train_standalone(self.recipe, space.parse_arch(arch), self.train_batches, self.test_images,
                                  self.test_labels, folder, seed, stop, describe, {**self.fingerprint, "arch": arch})
        return {**result, "recipe": self.recipe.name, "seed": self.cfg.seed, "data": self.data}


def subset(available: int, count: int | None, key: str, seed: int) -> np.ndarray:
    if count is None:
        return np.arange(available)
    if count > available:
        raise invalid(key, count, f"null or an integer in 1..{available} (the images there are)")
    return random_subset(available, count, seed)


def gather(out: Path) -> Path | None:
    """Write ``landmarks.csv`` and ``summary.json`` once every architecture of the build in ``out`` is done."""
    manifest = json.loads((out / "build.json").read_text())
    archs = manifest["archs"]
    results = [json.loads(result_path(out, i).read_text()) for i in range(len(archs)) if result_path(out, i).exists()]
    for result in results:
        if result["arch"] != archs[result["index"]]:
            raise ConfigError(f"{result_path(out, result['index'])} is for {result['arch']!r}, not this build's "
                              f"{archs[result['index']]!r}; it was copied from another build: delete it")
    if len(results) < len(archs):
        log.info("%d of %d landmarks built; %s is written when all are (run the build again to train the rest)",
                 len(results), len(archs), out / LANDMARKS_FILE)
        return None
    results.sort(key=lambda r: (r["accuracy"], r["arch"]))  # worst to best, as every landmark file

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows([repr(r[c]) if c == "accuracy" else r.get(c) for c in COLUMNS] for r in results)

    atomic_write(out / LANDMARKS_FILE, write)
    summary = summarise(manifest, results)
    save_json(out / "summary.json", summary)
    log.info("wrote %s (%d landmarks)%s", out / LANDMARKS_FILE, len(results), describe_summary(summary))
    return out / LANDMARKS_FILE


def summarise(manifest: dict, results: list[dict]) -> dict:
    """How well the built accuracies rank the landmarks against the space's ground truth (and its references)."""
    summary = {"num_landmarks": len(results), "wall_s": round(sum(r["wall_s"] for r in results), 1)}
    try:
        benchmark = load_benchmark(manifest["space"], manifest["table"])
    except (ValueError, GroundTruthError):  # a space without ground truth: nothing to compare with
        benchmark = None
    if benchmark is None or manifest.get("ground_truth") is None:
        summary["ground_truth"] = None
        summary["note"] = f"space {manifest['space']} has no ground truth here (no table shipped or given): no tau"
        return summary
    known = []
    for result in results:  # NB101's shipped table holds 36% of the cells: compare on those it has
        try:
            benchmark.accuracies([result["arch"]], manifest["ground_truth"])
            known.append(result)
        except GroundTruthError:
            pass
    summary["num_with_ground_truth"] = len(known)
    if len(known) < 2:
        return summary
    archs, built = [r["arch"] for r in known], [r["accuracy"] for r in known]
    truth = benchmark.accuracies(archs, manifest["ground_truth"])
    summary[f"kendall_tau_vs_{manifest['ground_truth']}"] = kendall_tau(built, truth)
    for column in manifest["references"]:  # each reference's tau with the built accuracies, and its own ranking
        reference = benchmark.accuracies(archs, column)
        summary[f"kendall_tau_vs_{column}"] = kendall_tau(built, reference)
        summary[f"{column}_kendall_tau_vs_{manifest['ground_truth']}"] = kendall_tau(reference, truth)
    return summary


def describe_summary(summary: dict) -> str:
    taus = [f"{key.removeprefix('kendall_tau_vs_')}: {value:.3f}" if value is not None else f"{key}: undefined"
            for key, value in summary.items() if key.startswith("kendall_tau_vs_")]
    references = [f"{key.replace('_kendall_tau_vs_', ' vs ')}: {value:.3f}"
                  for key, value in summary.items() if "_kendall_tau_vs_" in key and value is not None]
    if summary.get("ground_truth", "") is None:
        return "; no ground truth to rank them against"
    if not taus:
        return ""
    text = (f"; Kendall tau of the built accuracies over the {summary['num_with_ground_truth']} of these archs with "
            f"ground truth, {', '.join(taus)}")
    return text + (f" (reference: {', '.join(references)})" if references else "")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="build")
def main(cfg: DictConfig) -> None:
    """``lrnas landmarks build``: one Hydra job (a whole build, or one architecture of it with ``build.only``)."""
    run_job(lambda: build(cfg), log)
