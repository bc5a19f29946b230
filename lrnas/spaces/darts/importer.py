"""Convert NDS's DARTS file (Radosavovic et al., "On Network Design Spaces for Visual Recognition", ICCV 2019) into
lrnas's DARTS ground-truth table.

    lrnas bench import nds --json nds_data/DARTS.json   # writes darts_nds.csv.gz
    lrnas train space=darts space.table=darts_nds.csv.gz

NDS's ``data.zip`` (``OFFICIAL_URL``, from github.com/facebookresearch/nds) holds one JSON file per design space;
``DARTS.json`` is a list of trained CIFAR-10 networks, one entry per training run, as pycls wrote them:

- ``net.genotype``: the cell, ``{"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [2, 3, 4, 5], "reduce":
  [...], "reduce_concat": [...]}``; ``net`` also holds the network's ``depth``, ``width``, ``aux``, ``drop_prob``;
- ``test_ep_top1``: the test top-1 *error* in % after each epoch (pycls's "top1" is an error); ``optim.max_ep``: the
  epochs trained; ``params``, ``flops``; ``rng_seed``; ``min_test_top1`` (the best epoch's error, unused here).

The table's accuracy is the final epoch's, ``100 - test_ep_top1[-1]``, as the landmark authors' loader reads it
(kcyu2014/nas-landmarkreg nasws/cnn/search_space/nds/nds_search_space.py, ``query_perf``) and as NNI's NDS
database calls ``final_test_acc`` (nni/nas/benchmarks/nds/db_gen.py). Runs of one genotype with the same network
and training setup but different seeds are repeats: their accuracies are averaged, as the authors' loader does. A
file shaped ``{"top": [...], "mid": [...]}`` (some NDS files are) is read as the two lists one after the other.

One row per genotype, in the order of first appearance: ``arch_str`` (``lrnas.spaces.darts.format_arch``),
``cifar10_test`` (mean final test accuracy, %, 4 decimals), ``params_m`` and ``flops_m`` (millions), ``repeats``,
``epochs``. Skipped, and counted in the summary: entries whose cell is outside lrnas's DARTS space (an op other than
its 7, such as NDS's ``none``, or another node count or concat), a genotype seen before with another network or
training setup (only true repeats are averaged), and a second record of the same run (same genotype and seed).
"""
from __future__ import annotations

import gzip
import io
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lrnas.spaces.darts import arch as darts
from lrnas.spaces.nb101.importer import check_paths, write_table

OFFICIAL_URL = "https://dl.fbaipublicfiles.com/nds/data.zip"
DEFAULT_OUT = "darts_nds.csv.gz"
COLUMNS = ("arch_str", "cifar10_test", "params_m", "flops_m", "repeats", "epochs")
REQUIRED = ("net", "test_ep_top1", "optim", "params", "flops", "rng_seed")


class NDSImportError(ValueError):
    """The input or output of an import is unusable; the one-line message names the file, the entry and what's wrong."""


@dataclass
class Genotype:
    """Every kept run of one genotype."""

    setup: str  # the network and training setup besides the cell: only runs with the same one are repeats
    params: float
    flops: float
    epochs: int
    accuracies: list[float] = field(default_factory=list)
    seeds: set[int] = field(default_factory=set)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _load(path: Path):
    """The parsed JSON of ``path`` (gzip when it ends in .gz); NDSImportError when it is not JSON."""
    with open(path, "rb") as raw:
        head = raw.read(4)
    if head.startswith(b"PK"):
        raise NDSImportError(f"{path} is a zip archive; unzip NDS's data.zip and pass nds_data/DARTS.json")
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as stream:
            return json.load(io.TextIOWrapper(stream, encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise NDSImportError(f"{path} is not JSON ({err.msg} at line {err.lineno} column {err.colno}); expected "
                             "NDS's DARTS.json") from None
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as err:
        raise NDSImportError(f"{path} is not JSON text ({type(err).__name__}: {err}); expected NDS's "
                             "DARTS.json") from None


def _entries(data, path: Path) -> list[tuple[str, object]]:
    """``(label, entry)`` pairs: ``entry 3`` for a list, ``entry top[3]`` for NDS's {"top": [...], "mid": [...]}."""
    if isinstance(data, list):
        entries = [(f"entry {i}", entry) for i, entry in enumerate(data)]
    elif isinstance(data, dict) and set(data) == {"top", "mid"} and all(isinstance(v, list) for v in data.values()):
        entries = [(f"entry {part}[{i}]", entry) for part in ("top", "mid") for i, entry in enumerate(data[part])]
    else:
        shown = f"an object with keys {', '.join(map(repr, list(data)[:5]))}" if isinstance(data, dict) else \
            f"a JSON {type(data).__name__}"
        raise NDSImportError(f"{path} is {shown}, not NDS's list of trained networks (entries with net, "
                             "test_ep_top1, params, ...)")
    if not entries:
        raise NDSImportError(f"{path} holds no entries")
    return entries


# The skip reason of a cell with a none input, when the import does not keep them.
NONE_SKIPPED = "op 'none'"


def outside_space(genotype) -> str | None:
    """Why a well-formed NDS genotype is not in lrnas's DARTS space (another op, node count or concat), or None when
    it is malformed instead (or in the space): only a genotype of another cell space is skipped, not a broken one."""
    cells = ("normal", "reduce")
    if not (isinstance(genotype, dict) and all(isinstance(genotype.get(c), list) for c in cells)
            and all(isinstance(genotype.get(f"{c}_concat"), list) for c in cells)):
        return None
    pairs = [pair for c in cells for pair in genotype[c]]
    if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], int) for p in pairs):
        return None
    unknown = sorted({op for op, _ in pairs} - set(darts.RELAXED_OPS))
    if unknown:
        return f"op {', '.join(map(repr, unknown))}"
    for cell in cells:
        if genotype[f"{cell}_concat"] != darts.CONCAT:
            return f"{cell}_concat {genotype[f'{cell}_concat']}"
        if len(genotype[cell]) != darts.PAIRS_PER_CELL:
            return f"{len(genotype[cell])} pairs per cell"
    return None


def _bad(path: Path, where: str, what: str) -> NDSImportError:
    return NDSImportError(f"{path}: {where} {what}")


def _run(entry, where: str, path: Path, keep_none: bool):
    """``(arch or skip reason, setup, params, flops, epochs, accuracy, seed)`` of one entry; NDSImportError names what
    is malformed. A cell with a ``none`` input is skipped unless ``keep_none``."""
    if not isinstance(entry, dict):
        raise _bad(path, where, f"is a JSON {type(entry).__name__}, not an object with net, test_ep_top1, ...")
    missing = [key for key in REQUIRED if key not in entry]
    net, optim = entry.get("net"), entry.get("optim")
    if isinstance(net, dict) and "genotype" not in net:
        missing.append("net.genotype")
    if isinstance(optim, dict) and "max_ep" not in optim:
        missing.append("optim.max_ep")
    if missing:
        raise _bad(path, where, f"lacks {', '.join(missing)}; expected an entry of NDS's DARTS.json")
    if not isinstance(net, dict) or not isinstance(optim, dict):
        raise _bad(path, where, "has net or optim that is not a JSON object")
    epochs, curve = optim["max_ep"], entry["test_ep_top1"]
    if not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > 0):
        raise _bad(path, where, f"has optim.max_ep {epochs!r}, not a positive number of epochs")
    if not (isinstance(curve, list) and curve and all(map(_number, curve))):
        raise _bad(path, where, "has test_ep_top1 that is not a list of per-epoch test errors (%)")
    if len(curve) != epochs:
        raise _bad(path, where, f"has {len(curve)} epochs of test_ep_top1 but optim.max_ep {epochs}")
    error = curve[-1]
    if not 0 <= error <= 100:  # NaN fails too
        raise _bad(path, where, f"has final test error {error} (test_ep_top1[-1]), not a percentage in 0..100")
    for key in ("params", "flops"):
        value = entry[key]
        if not (_number(value) and math.isfinite(value) and value > 0):
            raise _bad(path, where, f"has {key} {value!r}, not a positive number")
    seed = entry["rng_seed"]
    if not (isinstance(seed, int) and not isinstance(seed, bool)):
        raise _bad(path, where, f"has rng_seed {seed!r}, not an integer")
    genotype = net["genotype"]
    try:
        arch = darts.from_nds_genotype(genotype)
    except darts.InvalidArch as err:
        reason = outside_space(genotype)
        if reason is None:
            raise _bad(path, where, f"has a malformed genotype: {err}") from None
        arch = reason  # a str: the entry is skipped for this reason
    if not keep_none and not isinstance(arch, str) and darts.uses_none(arch):
        arch = NONE_SKIPPED
    setup = json.dumps({"net": {k: v for k, v in net.items() if k != "genotype"}, "optim": optim,
                        "params": entry["params"]}, sort_keys=True)
    return arch, setup, float(entry["params"]), float(entry["flops"]), epochs, 100.0 - error, seed


def build_table(path: Path, keep_none: bool = False) -> tuple[pd.DataFrame, str]:
    """The table (one row per genotype, in order of first appearance) and what was read, as one paragraph; cells with
    a ``none`` input are kept only with ``keep_none``."""
    entries = _entries(_load(path), path)
    genotypes: dict[darts.Arch, Genotype] = {}
    outside: Counter[str] = Counter()
    other_setup = duplicates = 0
    for where, entry in entries:
        arch, setup, params, flops, epochs, accuracy, seed = _run(entry, where, path, keep_none)
        if isinstance(arch, str):
            outside[arch] += 1
            continue
        seen = genotypes.setdefault(arch, Genotype(setup, params, flops, epochs))
        if seen.setup != setup:
            other_setup += 1
        elif seed in seen.seeds:
            duplicates += 1
        else:
            seen.seeds.add(seed)
            seen.accuracies.append(accuracy)
    if not genotypes:
        raise NDSImportError(f"{path}: none of its {len(entries):,} entries is a cell of lrnas's DARTS space "
                             f"({_reasons(outside)}); expected NDS's DARTS.json")
    rows = list(genotypes.items())
    repeats = np.array([len(g.accuracies) for _, g in rows])
    table = pd.DataFrame({
        "arch_str": [darts.format_arch(arch) for arch, _ in rows],
        # 4 decimals, as lrnas's NB101 table: NDS's errors have 2 (10,000 test images), means of repeats more
        "cifar10_test": np.round([float(np.mean(g.accuracies)) for _, g in rows], 4),
        "params_m": [g.params / 1e6 for _, g in rows],
        "flops_m": [g.flops / 1e6 for _, g in rows],
        "repeats": repeats,
        "epochs": [g.epochs for _, g in rows],
    }, columns=list(COLUMNS))
    return table, _summary(path, len(entries), table, outside, other_setup, duplicates)


def _reasons(outside: Counter[str]) -> str:
    shown = ", ".join(f"{n:,} use {reason}" for reason, n in outside.most_common(3))
    return shown + (f", {len(outside) - 3} other reasons" if len(outside) > 3 else "")


def _summary(path: Path, read: int, table: pd.DataFrame, outside: Counter[str], other_setup: int,
             duplicates: int) -> str:
    repeated = table.loc[table["repeats"] > 1, "repeats"]
    times = f"{repeated.min()}" if repeated.min() == repeated.max() else f"{repeated.min()}-{repeated.max()}"
    averaged = (f"{len(repeated):,} of them trained {times} times with different seeds, their final accuracies "
                "averaged" if len(repeated) else "each trained once")
    skipped = []
    with_none = outside.pop(NONE_SKIPPED, 0)
    if with_none:
        skipped.append(f"{with_none:,} with a none input (NDS trained them; keep them with --keep-none)")
    if outside:
        skipped.append(f"{sum(outside.values()):,} outside lrnas's DARTS space, which has the ops "
                       f"{', '.join(darts.RELAXED_OPS)} and concatenates nodes {darts.CONCAT} ({_reasons(outside)})")
    if other_setup:
        skipped.append(f"{other_setup:,} repeating an earlier entry's genotype with another network or training "
                       "setup (depth, width, optim or params), so not a repeat")
    if duplicates:
        skipped.append(f"{duplicates:,} repeating an earlier entry's genotype and rng_seed (a second record of one "
                       "run)")
    epochs = sorted(set(table["epochs"]))
    acc = table["cifar10_test"]
    return (f"read {read:,} entries of {path}: {len(table):,} unique genotypes, {averaged}; skipped "
            + ("; ".join(skipped) if skipped else "none")
            + f". Final test accuracy (100 - test_ep_top1[-1]) after {'/'.join(map(str, epochs))} epochs: "
            f"{acc.min():.2f}-{acc.max():.2f}% (median {acc.median():.2f}%).")


def import_nds(json_path: str | os.PathLike, out: str | os.PathLike = DEFAULT_OUT, force: bool = False,
               keep_none: bool = False) -> str:
    """Convert NDS's ``json_path`` (DARTS.json, or .json.gz) into the table at ``out`` (gzip CSV when it ends in .gz)
    and return a one-paragraph summary ending in where it was written.

    Refuses to overwrite ``out`` unless ``force``; raises NDSImportError (a ValueError) with a one-line message naming
    the file, the entry and what is wrong before anything is written.
    """
    path, out = Path(json_path), Path(out)
    check_paths(path, out, force, NDSImportError, "the DARTS.json file",
                f"NDS's DARTS.json is in {OFFICIAL_URL} (nds_data/DARTS.json)", DEFAULT_OUT)
    table, summary = build_table(path, keep_none)
    write_table(table, out)
    return f"{summary} Wrote {out}."
