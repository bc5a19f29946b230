"""Convert the official NAS-Bench-101 file into lrnas's NB101 ground-truth table, without TensorFlow.

    lrnas bench import nb101 --tfrecord nasbench_only108.tfrecord   # writes nb101_full.csv.gz
    lrnas train space=nb101 space.table=nb101_full.csv.gz

``nasbench_only108.tfrecord`` (``OFFICIAL_URL``, 499 MB) has one record per cell and repeat: 423,624 cells, each
trained 3 times for 108 epochs. A record is the JSON list ``[module_hash, epochs, adjacency bits, "input,op,...,output",
base64 ModelMetrics protobuf]``, read here as ``nasbench/api.py`` reads it. The table has one row per cell, by hash:

- ``hash``: the NB101 module hash; ``arch_str``: ``"<n*n adjacency bits>:<interior ops>"`` of the pruned cell;
- ``params``: trainable parameters; ``cifar10_valid``, ``cifar10_test``: final (epoch-108) validation and test
  accuracy in %, mean over the repeats, to 4 decimals; ``full``: 1 (the official file is the whole space: every cell
  is a member of the uniform sample).

These are the columns and number formats of the shipped table (``lrnas.spaces.nb101.benchmark``), which holds a third of
the cells; the imported one holds all of them.

Check the example with ``python -m doctest lrnas/spaces/nb101/importer.py``.

    >>> arch_string("0110000100010000", "input,conv3x3-bn-relu,maxpool3x3,output")
    '0110000100010000:conv3x3-bn-relu,maxpool3x3'
"""
from __future__ import annotations

import base64
import gzip
import io
import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from tqdm import tqdm

from lrnas.spaces.nb101.arch import OPS
from lrnas.spaces.nb101.benchmark import row_problem
from lrnas.spaces.nb101.tfrecord import decode_message, double, int32, iter_records

OFFICIAL_URL = "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"
EPOCHS = 108
COLUMNS = ("hash", "arch_str", "params", "cifar10_valid", "cifar10_test", "full")
# ModelMetrics / EvaluationData field numbers (nasbench/lib/model_metrics.proto)
EVALUATION_DATA, TRAINABLE_PARAMETERS = 1, 2
VALIDATION_ACCURACY, TEST_ACCURACY = 4, 5


class NB101ImportError(ValueError):
    """The input or output of an import is unusable; the message names the file and what is wrong."""


class Evaluation(NamedTuple):
    """One record: one training run of one cell."""

    hash: str
    epochs: int
    arch_str: str
    params: int
    valid: float  # final validation accuracy, fraction
    test: float  # final test accuracy, fraction


@dataclass(frozen=True)
class ImportSummary:
    """What an import read and wrote; ``str()`` is the one line the command prints."""

    records: int
    skipped: int  # records with epochs != 108 (nasbench_full.tfrecord also has 4, 12 and 36)
    cells: int
    repeats: tuple[int, int]  # fewest and most repeats of a cell
    out: Path | None = None  # where the table was written

    def __str__(self) -> str:
        low, high = self.repeats
        repeats = f"{low} repeats each" if low == high else f"{low}-{high} repeats each"
        skipped = f" ({self.skipped:,} with epochs != {EPOCHS} skipped)" if self.skipped else ""
        return f"read {self.records:,} records{skipped}: {self.cells:,} cells, {repeats}; wrote {self.out}"


def arch_string(raw_adjacency: str, raw_operations: str) -> str:
    """lrnas's NB101 arch string from a record's adjacency bits and op list; ValueError says what is malformed."""
    n = math.isqrt(len(raw_adjacency))
    if n * n != len(raw_adjacency) or not set(raw_adjacency) <= {"0", "1"}:
        raise ValueError(f"adjacency {raw_adjacency!r} is not the 0/1 bits of a square matrix")
    ops = raw_operations.split(",")
    if len(ops) != n or n < 2 or ops[0] != "input" or ops[-1] != "output":
        raise ValueError(f"operations {raw_operations!r} are not input,...,output with one op per vertex ({n})")
    unknown = set(ops[1:-1]) - set(OPS)
    if unknown:
        raise ValueError(f"unknown operations {', '.join(sorted(unknown))}; valid are {', '.join(OPS)}")
    return f"{raw_adjacency}:{','.join(ops[1:-1])}"


def parse_record(data: bytes) -> Evaluation:
    """Decode one record of the official file; ValueError says what is malformed."""
    row = json.loads(data)
    if not (isinstance(row, list) and len(row) == 5 and all(isinstance(v, str) for v in row[:1] + row[2:])
            and isinstance(row[1], int)):
        raise ValueError("expected the JSON list [module_hash, epochs, adjacency, operations, metrics]")
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = row
    metrics = decode_message(base64.b64decode(raw_metrics, validate=True))
    evaluations = metrics.get(EVALUATION_DATA)
    if not evaluations:
        raise ValueError("the metrics have no evaluation data")
    # The last evaluation is the end of training (api.py's evaluation_data[2], after the start and halfway points).
    # A field left out means its proto2 default, 0, as the official API reads it.
    final = decode_message(evaluations[-1])
    run = Evaluation(
        hash=module_hash,
        epochs=epochs,
        arch_str=arch_string(raw_adjacency, raw_operations),
        params=int32(metrics.get(TRAINABLE_PARAMETERS, [0])[-1]),
        valid=double(final.get(VALIDATION_ACCURACY, [bytes(8)])[-1]),
        test=double(final.get(TEST_ACCURACY, [bytes(8)])[-1]),
    )
    for name, accuracy in (("validation", run.valid), ("test", run.test)):
        if not 0 <= accuracy <= 1:  # NaN fails too
            raise ValueError(f"cell {module_hash}: {name} accuracy {accuracy} is not a fraction in [0, 1]")
    return run


def build_table(tfrecord: Path, progress: bool = True) -> tuple[pd.DataFrame, ImportSummary]:
    """Stream ``tfrecord`` into the table (one row per cell, sorted by hash) and a summary of what was read."""
    # One small tuple per cell, (arch_str, params, sum of valid, sum of test, repeats): the 499 MB file is never held.
    cells: dict[str, tuple[str, int, float, float, int]] = {}
    records = skipped = 0
    # The bar (by bytes) shows on a terminal only, and is erased when done, so an error stays one line.
    bar = tqdm(total=tfrecord.stat().st_size, unit="B", unit_scale=True, leave=False, desc=f"reading {tfrecord.name}",
               disable=None if progress else True)
    with open(tfrecord, "rb") as stream, bar:
        for data in iter_records(stream, str(tfrecord), on_read=bar.update):
            try:
                run = parse_record(data)
            except ValueError as err:
                raise NB101ImportError(f"{tfrecord}: record {records} is not a NAS-Bench-101 record: {err}") from None
            records += 1
            if run.epochs != EPOCHS:
                skipped += 1
                continue
            seen = cells.get(run.hash)
            if seen is None:
                cells[run.hash] = (run.arch_str, run.params, run.valid, run.test, 1)
                continue
            if (seen[0], seen[1]) != (run.arch_str, run.params):
                raise NB101ImportError(f"{tfrecord}: record {records - 1}: cell {run.hash} is {run.arch_str!r} with "
                                       f"{run.params} params, but an earlier repeat was {seen[0]!r} with {seen[1]}")
            cells[run.hash] = (seen[0], seen[1], seen[2] + run.valid, seen[3] + run.test, seen[4] + 1)
    if not cells:
        raise NB101ImportError(f"{tfrecord}: no records with epochs == {EPOCHS} among {records:,}; expected the "
                               f"official nasbench_only108.tfrecord ({OFFICIAL_URL})")
    hashes = sorted(cells)
    arch_strs, params, valid_sums, test_sums, repeats = zip(*(cells[h] for h in hashes), strict=True)
    repeats = np.array(repeats)
    table = pd.DataFrame({
        "hash": hashes,
        "arch_str": arch_strs,
        "params": np.array(params, dtype=np.int64),
        # 4 decimals as in the shipped table: 1e-6 as a fraction, finer than one image in 10,000 over 3 repeats
        "cifar10_valid": (np.array(valid_sums) / repeats * 100).round(4),
        "cifar10_test": (np.array(test_sums) / repeats * 100).round(4),
        "full": 1,
    })
    problem = row_problem(table)  # the checks load_nb101 makes: nothing is written that it would refuse
    if problem:
        row, why = problem
        raise NB101ImportError(f"{tfrecord}: cell {table['hash'].iloc[row]}: {why}; this is not the official "
                               "NAS-Bench-101 data")
    return table, ImportSummary(records, skipped, len(cells), (int(repeats.min()), int(repeats.max())))


def import_nb101(tfrecord: str | os.PathLike, out: str | os.PathLike = "nb101_full.csv.gz", force: bool = False,
                 progress: bool = True) -> ImportSummary:
    """Convert the official ``tfrecord`` into the table at ``out`` (gzip CSV when it ends in .gz).

    Refuses to overwrite ``out`` unless ``force``; raises NB101ImportError (or TFRecordError, both ValueError)
    with a one-line message before anything is written.
    """
    tfrecord, out = Path(tfrecord), Path(out)
    check_paths(tfrecord, out, force, NB101ImportError, "the .tfrecord file",
                f"download the official file from {OFFICIAL_URL}", "nb101_full.csv.gz")
    table, summary = build_table(tfrecord, progress)
    write_table(table, out)
    return replace(summary, out=out)


def check_paths(source: Path, out: Path, force: bool, error: type[ValueError], what: str, where: str,
                example: str) -> None:
    """One line (``error``) unless ``source`` is a file and ``out`` may be written: ``what`` names the file a folder
    given as ``source`` should hold, ``where`` says where to get it, ``example`` is an output file name."""
    if source.is_dir():
        raise error(f"{source} is a directory; give {what} in it")
    if not source.is_file():
        raise error(f"{source}: no such file; {where}")
    if out.is_dir():
        raise error(f"output {out} is a directory; give a file name such as {out / example}")
    if out.exists() and not force:
        raise error(f"output {out} already exists; pass --force to overwrite it")


def write_table(table: pd.DataFrame, out: Path) -> None:
    """Write via a temporary file renamed into place, so an interrupted import leaves no half-written table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with open(tmp, "wb") as raw:
            # gzip with no file name and mtime 0 in its header: the same data gives the same bytes (and sha256).
            binary = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if out.suffix == ".gz" else raw
            with io.TextIOWrapper(binary, encoding="utf-8", newline="") as text:
                table.to_csv(text, index=False, lineterminator="\n")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
