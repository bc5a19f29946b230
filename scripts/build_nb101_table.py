"""Build the shipped NAS-Bench-101 ground-truth table from the source CSV in shared/data.

    python scripts/build_nb101_table.py --src ../shared/data/nb101/nb101_tsn_151k.csv.gz \
        --out lrnas/benchmarks/data/nb101.csv.xz

(run from the repo root; those are also the defaults). Takes about a minute: it recomputes every cell's module hash.

Writes the xz table (one row per unique cell, sorted by ``arch_str``, which compresses 11% smaller than hash order;
xz: 4.1 MB against gzip's 5.3 MB) and replaces the NB101 section of PROVENANCE.md next to it. The output is
byte-reproducible (xz stores no timestamp), so its
sha256 identifies the data: the loader accepts only the table whose sha256 is ``TABLE_SHA256`` in
lrnas/spaces/nb101/benchmark.py, and this script exits 1 when a rebuild differs from it.
"""
from __future__ import annotations

import argparse
import lzma
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout, no install needed

from table_output import relative_command, sha256, write_table  # noqa: E402

from lrnas.spaces.nb101 import format_arch, module_hash, parse_arch, prune  # noqa: E402
from lrnas.spaces.nb101.benchmark import SHIPPED_CELLS, TABLE_SHA256  # noqa: E402

FULL_CELLS = 28_963  # the source's `full` tag: a uniform sample of the whole space
BEST = ("02e5a0247bbdcf2860b7e96f74961594", 94.3176)  # best mean test accuracy (shared/data/PROVENANCE.md)

MEANINGS = {
    "hash": "official NB101 module hash (`ModelSpec.hash_spec`), the dataset's key; recomputed and checked per row",
    "arch_str": "the pruned cell as `<n*n adjacency bits, row-major>:<interior ops joined by ','>` "
                "(`lrnas.spaces.nb101.format_arch`); the table is sorted by it",
    "params": "trainable parameter count of the NB101 network (TensorFlow count)",
    "cifar10_valid": "108-epoch CIFAR-10 validation accuracy (%, 10k images held out of train), mean of 3 repeats",
    "cifar10_test": "108-epoch CIFAR-10 test accuracy (%), mean of 3 repeats",
    "full": "1 if the cell is in the source's `full` sub-space (sampled uniformly from all of NB101), else 0",
}

SOURCE = """\
- `nb101_tsn_151k.csv.gz` (sha256 `{sha}`): apourchot/to_share_or_not_to_share (arXiv 2002.04289), HEAD
  538a50636c2d293215fe2cd9097ea72b50d843a0, `results_paper/*/*/*/eval_results.pkl` (210 pickles, tree 2229ad3d,
  added in a7237c31), each record the raw NB101 `(fixed_metrics, computed_metrics)` of `nasbench_only108.tfrecord`;
  merged and deduplicated by NB101 hash. Licence: MIT (Copyright (c) 2020 Gleamer); the google-research/nasbench
  code is Apache-2.0 and its README states no separate data licence.
  151,644 of NB101's 423,624 unique cells (35.8%), not a uniform sample: most rows come from the paper's sub-spaces
  (by number of vertices feeding the output, or with/without an input -> output edge). Only the rows tagged `full`
  (28,963) were drawn uniformly from the whole space."""



def build(src: Path) -> pd.DataFrame:
    """Convert and check the source rows: canonical pruned strings, official hashes, the known optimum."""
    source = pd.read_csv(src, dtype={"adjacency": str, "hash": str, "subspaces": str})
    assert len(source) == SHIPPED_CELLS and source["hash"].is_unique, (len(source), source["hash"].nunique())
    ops = source["ops"].str.split("|")
    assert (ops.str[0] == "input").all() and (ops.str[-1] == "output").all(), "ops must run input ... output"
    table = pd.DataFrame({
        "hash": source["hash"],
        "arch_str": source["adjacency"] + ":" + ops.str[1:-1].str.join(","),
        "params": source["params"],
        # fractions with 6 decimals; rounding to 4 in % drops only float noise (0.926416 * 100 = 92.64160000000001)
        "cifar10_valid": (source["val_acc_mean"] * 100).round(4),
        "cifar10_test": (source["test_acc_mean"] * 100).round(4),
        # tags are '|'-joined (e.g. "2|full|full_0"); `full_0`/`full_1` are different sub-spaces, hence exact match
        "full": source["subspaces"].str.split(r"[|,\s]+").map(lambda tags: int("full" in tags)).astype("int8"),
    })
    for key, arch_str, n in zip(table["hash"], table["arch_str"], source["n_vertices"], strict=True):
        arch = parse_arch(arch_str)
        assert format_arch(arch) == arch_str and len(arch[0]) == n, arch_str
        assert prune(arch) == arch, f"{arch_str} is not pruned"
        assert module_hash(arch) == key, f"{arch_str}: module hash {module_hash(arch)}, table says {key}"
    assert table["full"].sum() == FULL_CELLS, table["full"].sum()
    assert not table.isna().any().any(), "missing values"
    best = table.loc[table["cifar10_test"].idxmax()]
    assert (best["hash"], best["cifar10_test"]) == BEST, best
    return table.sort_values("arch_str", ignore_index=True)


def provenance(src: Path, out: Path, table: pd.DataFrame, command: str) -> str:
    cols = "\n".join(f"| `{c}` | {m} |" for c, m in MEANINGS.items())
    best = table.loc[table["cifar10_test"].idxmax()]
    vertices = table["arch_str"].str.index(":").pow(0.5).astype(int).value_counts().sort_index(ascending=False)
    return f"""# Provenance of `{out.name}`

NAS-Bench-101 ground truth for {len(table):,} of the 423,624 unique cells (108 epochs, mean of 3 repeats), one row
per cell. Generated by `scripts/build_nb101_table.py`; do not edit by hand. Command:

    {command}

## Source (copied from shared/data/PROVENANCE.md)

{SOURCE.format(sha=sha256(src))}

The script asserts that every `adjacency`/`ops` pair parses with `lrnas.spaces.nb101.parse_arch`, is already pruned,
and that `lrnas.spaces.nb101.module_hash` reproduces the source `hash` on every row; that {FULL_CELLS:,} rows carry
the `full` tag; and that the best test accuracy is the known NB101 optimum. Accuracies are the source fractions times
100 (4 decimals keep all 6 source digits); the per-repeat, train, halfway and timing columns are dropped (unused).

## Columns

| column | meaning |
|---|---|
{cols}

## Output

- `{out.name}`: {out.stat().st_size:,} bytes, sha256 `{sha256(out)}` (xz has no timestamp, so rebuilding reproduces it).
- Vertices per cell: {", ".join(f"{n}: {c:,}" for n, c in vertices.items())}; `full` rows: {table["full"].sum():,}.
- Best cifar10_test: hash {best["hash"]}, {best["cifar10_test"]:.4f} (NB101 paper: 94.32).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=REPO.parent / "shared/data/nb101/nb101_tsn_151k.csv.gz",
                        help="source CSV (shared/data/PROVENANCE.md, NB101 section)")
    parser.add_argument("--out", type=Path, default=REPO / "lrnas/benchmarks/data/nb101.csv.xz", help="xz table")
    args = parser.parse_args(argv)
    table = build(args.src)
    command = relative_command("build_nb101_table.py", args.src, args.out)
    data = lzma.compress(table.to_csv(index=False, lineterminator="\n").encode(), preset=9 | lzma.PRESET_EXTREME)
    write_table(args.out, data, lambda: provenance(args.src, args.out, table, command), TABLE_SHA256,
                "lrnas/spaces/nb101/benchmark.py")

if __name__ == "__main__":
    main()
