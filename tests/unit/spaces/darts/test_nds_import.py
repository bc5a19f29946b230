"""Tests of ``lrnas bench import nds``: NDS's DARTS.json into lrnas's DARTS ground-truth table.

    .venv/bin/pytest -q tests/unit/spaces/darts/test_nds_import.py

The files here are written in NDS's format (the keys pycls wrote, as NNI's nni/nas/benchmarks/nds/db_gen.py and
the landmark authors' nds_search_space.py read them) with ``darts.to_nds_genotype``; every expected value is computed
here from what was written, not by the importer's code.
"""
from __future__ import annotations

import gzip
import json
import random

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import assert_import_keeps_its_output_without_force

from lrnas.cli import cli
from lrnas.spaces import darts
from lrnas.spaces.darts.importer import COLUMNS, import_nds

EPOCHS = 4


def _entry(arch, final_error: float, seed: int = 1, params: int = 1_234_567, depth: int = 20, width: int = 16,
           genotype: dict | None = None) -> dict:
    """One NDS entry: a run of ``arch`` whose last epoch's test error is ``final_error`` (its best epoch's is lower)."""
    curve = [70.0, 25.0, final_error - 0.5, final_error]  # pycls's top1 is an error in %
    return {
        "job_id": 1000 + seed, "rng_seed": seed, "exp_mem": 1.5, "params": params, "flops": 3 * params + 7,
        "net": {"genotype": genotype or darts.to_nds_genotype(arch), "depth": depth, "width": width, "aux": False,
                "drop_prob": 0.0},
        "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": EPOCHS, "lr_policy": "cos", "momentum": 0.9},
        "act_mem": 0.1, "prec_time": {"train_fw_bw": 0.05, "test_fw": 0.01}, "iter_time": 0.05,
        "min_test_top1": min(curve), "train_ep_loss": [2.0, 1.0, 0.5, 0.4], "train_ep_top1": [80.0, 40.0, 20.0, 15.0],
        "test_ep_top1": curve, "train_it_loss": [2.3, 0.4], "train_it_top1": [90.0, 15.0],
    }


def _swapped(arch) -> dict:
    """``arch``'s NDS genotype with each node's two pairs in the other order (the same network)."""
    genotype = darts.to_nds_genotype(arch)
    for cell in ("normal", "reduce"):
        pairs = genotype[cell]
        genotype[cell] = [pair for i in range(0, len(pairs), 2) for pair in (pairs[i + 1], pairs[i])]
    return genotype


@pytest.fixture
def archs():
    rng = random.Random(0)
    archs = []
    while len(archs) < 5:
        arch = darts.sample_arch(rng)
        if arch not in archs:
            archs.append(arch)
    return archs


@pytest.fixture
def entries(archs):
    """Six runs of five genotypes (the first trained twice, with seeds 1 and 2), then one cell with NDS's none op."""
    none_cell = darts.to_nds_genotype(archs[0])
    none_cell["reduce"][3] = ["none", 1]
    return [
        _entry(archs[0], 5.5, seed=1, params=2_000_000),
        _entry(archs[1], 7.25, params=1_500_001),
        _entry(archs[2], 9.0, genotype=_swapped(archs[2])),
        _entry(archs[0], 6.25, seed=2, params=2_000_000),
        _entry(archs[3], 10.0, params=987_654),
        _entry(archs[4], 4.13),
        _entry(None, 6.0, genotype=none_cell),
    ]


@pytest.fixture
def official(tmp_path, entries):
    path = tmp_path / "DARTS.json"
    path.write_text(json.dumps(entries))
    return path


def _read(out) -> pd.DataFrame:
    return pd.read_csv(out)  # gzip by the .gz suffix, as lrnas reads tables


def test_import_round_trips_every_genotype(official, entries, archs, tmp_path):
    out = tmp_path / "darts_nds.csv.gz"
    summary = import_nds(official, out)
    with gzip.open(out, "rt") as text:  # really gzip
        assert text.readline().strip() == ",".join(COLUMNS)
    table = _read(out)
    assert list(table.columns) == list(COLUMNS) == ["arch_str", "cifar10_test", "params_m", "flops_m", "repeats",
                                                    "epochs"]
    assert table["arch_str"].is_unique
    assert [darts.parse_arch(s) for s in table["arch_str"]] == archs  # one row per genotype, first-seen order
    assert list(table["arch_str"]) == [darts.format_arch(a) for a in archs]
    # the final epoch's accuracy (not min_test_top1's best epoch), mean over the two seeds of archs[0]
    assert table["cifar10_test"].tolist() == pytest.approx([100 - (5.5 + 6.25) / 2, 92.75, 91.0, 90.0, 95.87],
                                                           abs=1e-9)
    assert table["params_m"].tolist() == pytest.approx([2.0, 1.500001, 1.234567, 0.987654, 1.234567], abs=1e-12)
    assert table["flops_m"].tolist() == pytest.approx([(3 * p + 7) / 1e6 for p in (2_000_000, 1_500_001, 1_234_567,
                                                                                     987_654, 1_234_567)], abs=1e-12)
    assert table["repeats"].tolist() == [2, 1, 1, 1, 1]
    assert table["epochs"].tolist() == [EPOCHS] * 5
    assert summary.startswith(f"read 7 entries of {official}: 5 unique genotypes, 1 of them trained 2 times with "
                              "different seeds")
    assert "skipped 1 with a none input (NDS trained them; keep them with --keep-none)" in summary
    assert "outside lrnas's DARTS space" not in summary
    assert "after 4 epochs: 90.00-95.87%" in summary and summary.endswith(f"Wrote {out}.")
    assert "\n" not in summary


def test_keep_none_keeps_the_cells_with_a_none_input_and_lrnas_trains_them(official, entries, tmp_path):
    """--keep-none: every NDS genotype, as the authors' darts_nds table; the super-net and the stand-alone network run
    a none input as zeros (DARTS's Zero op)."""
    import torch

    from lrnas.spaces.darts.network import DARTSNetwork
    from lrnas.spaces.darts.supernet import DARTSSuperNet

    out = tmp_path / "all.csv"
    summary = import_nds(official, out, keep_none=True)
    table = _read(out)
    assert len(table) == 6 and "with a none input" not in summary
    none_arch = darts.parse_arch(table["arch_str"].iloc[-1])
    assert darts.uses_none(none_arch) and darts.from_nds_genotype(entries[-1]["net"]["genotype"]) == none_arch
    net = DARTSSuperNet(C=4, N=1)
    assert net(torch.randn(2, 3, 32, 32), none_arch).shape == (2, 10)
    without = net.path_parameters(darts.parse_arch(table["arch_str"].iloc[0]))  # the same cell, max_pool where none is
    assert len(net.path_parameters(none_arch)) <= len(without)
    assert DARTSNetwork(none_arch, C=4, layers=5, auxiliary=False)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_lrnas_loads_the_table(official, archs, tmp_path):
    from lrnas.spaces.darts.benchmark import load_darts_table

    out = tmp_path / "darts_nds.csv.gz"
    import_nds(official, out)
    bench = load_darts_table(out)
    assert len(bench) == 5 and bench.training_epochs("cifar10_test") == EPOCHS
    assert bench.accuracies(archs).tolist() == pytest.approx([94.125, 92.75, 91.0, 90.0, 95.87], abs=1e-9)
    assert bench.params(archs[1:2]).tolist() == pytest.approx([1.500001])


def test_output_is_deterministic_and_plain_csv_without_gz(official, tmp_path):
    a, b = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    import_nds(official, a)
    import_nds(official, b)
    assert a.read_bytes() == b.read_bytes()
    plain = tmp_path / "t.csv"
    import_nds(official, plain)
    assert plain.read_text().splitlines()[0] == ",".join(COLUMNS)
    pd.testing.assert_frame_equal(_read(plain), _read(a))


def test_top_mid_and_gzip_inputs(entries, archs, tmp_path):
    split = tmp_path / "split.json.gz"
    with gzip.open(split, "wt") as text:
        json.dump({"top": entries[:2], "mid": entries[2:]}, text)
    import_nds(split, tmp_path / "t.csv")
    assert [darts.parse_arch(s) for s in _read(tmp_path / "t.csv")["arch_str"]] == archs


def test_only_true_repeats_are_averaged(archs, tmp_path):
    path = tmp_path / "DARTS.json"
    path.write_text(json.dumps([
        _entry(archs[0], 5.0, seed=1),
        _entry(archs[0], 9.0, seed=1),  # the same run recorded twice: not a second repeat
        _entry(archs[0], 7.0, seed=3, depth=8),  # another network: not a repeat
        _entry(archs[0], 6.0, seed=2),
    ]))
    summary = import_nds(path, tmp_path / "t.csv")
    table = _read(tmp_path / "t.csv")
    assert table["repeats"].tolist() == [2] and table["cifar10_test"].tolist() == [94.5]
    assert "1 repeating an earlier entry's genotype with another network" in summary
    assert "1 repeating an earlier entry's genotype and rng_seed" in summary


# ----- the command -----


def test_cli_imports_and_refuses_to_overwrite(official, tmp_path):
    out = tmp_path / "table.csv.gz"
    args = ["bench", "import", "nds", "--json", str(official), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"read 7 entries of {official}: 5 unique genotypes")
    assert result.output.endswith(f"Wrote {out}.\n") and result.output.count("\n") == 1
    assert len(_read(out)) == 5

    assert_import_keeps_its_output_without_force(args, out)


def test_cli_default_output(official, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "import", "nds", "--json", str(official)])
    assert result.exit_code == 0, result.output
    assert len(_read(tmp_path / "darts_nds.csv.gz")) == 5
    assert not (tmp_path / "nb101_full.csv.gz").exists()


def _with(entries, index, **changes):
    changed = json.loads(json.dumps(entries))
    changed[index].update(changes)
    return changed


def _without(entries, index, key):
    changed = json.loads(json.dumps(entries))
    del changed[index][key]
    return changed


def _bad_pair(entries, index, pair):
    changed = json.loads(json.dumps(entries))
    changed[index]["net"]["genotype"]["normal"][5] = pair
    return changed


BAD = {
    "not JSON": (b"[{\"net\": ", "is not JSON (Expecting value at line 1 column 10); expected NDS's DARTS.json"),
    "a zip": (b"PK\x03\x04rest", "is a zip archive; unzip NDS's data.zip and pass nds_data/DARTS.json"),
    "not a list": ({"DARTS": []}, "is an object with keys 'DARTS', not NDS's list of trained networks"),
    "empty": ([], "holds no entries"),
    "missing key": (lambda e: _without(e, 2, "test_ep_top1"), ": entry 2 lacks test_ep_top1; expected an entry"),
    "missing max_ep": (lambda e: _with(e, 1, optim={"base_lr": 0.1}), ": entry 1 lacks optim.max_ep"),
    "malformed genotype": (lambda e: _bad_pair(e, 3, ["sep_conv_3x3", 7]),
                           ": entry 3 has a malformed genotype: NDS genotype: normal pair 5 reads state 7; node 4 can "
                           "read states 0..3"),
    "pair not a pair": (lambda e: _bad_pair(e, 4, "sep_conv_3x3"), ": entry 4 has a malformed genotype: "),
    "genotype not an object": (lambda e: _with(e, 0, net={"genotype": "DARTS_V2"}),
                               ": entry 0 has a malformed genotype: "),
    "error over 100": (lambda e: _with(e, 5, test_ep_top1=[50.0, 40.0, 30.0, 120.0]),
                       ": entry 5 has final test error 120.0 (test_ep_top1[-1]), not a percentage in 0..100"),
    "NaN error": (lambda e: _with(e, 4, test_ep_top1=[50.0, 40.0, 30.0, float("nan")]),
                  ": entry 4 has final test error nan (test_ep_top1[-1])"),
    "short curve": (lambda e: _with(e, 1, test_ep_top1=[50.0, 40.0]),
                    ": entry 1 has 2 epochs of test_ep_top1 but optim.max_ep 4"),
    "bad params": (lambda e: _with(e, 2, params=None), ": entry 2 has params None, not a positive number"),
    "none in the space": (lambda e: [e[-1]], ": none of its 1 entries is a cell of lrnas's DARTS space (1 use op "
                                             "'none'); expected NDS's DARTS.json"),
    "another space": (lambda e: [_with(e, 0, net={**e[0]["net"], "genotype": {**e[0]["net"]["genotype"],
                                                                              "normal_concat": [3, 5, 6]}})[0]],
                      ": none of its 1 entries is a cell of lrnas's DARTS space (1 use normal_concat [3, 5, 6])"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_cli_bad_input_is_one_line_naming_file_and_entry(case, entries, tmp_path):
    content, message = BAD[case]
    path = tmp_path / "DARTS.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content(entries) if callable(content) else content))
    out = tmp_path / "o.csv.gz"
    result = CliRunner().invoke(cli, ["bench", "import", "nds", "--json", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}") and result.output.count("\n") == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("args, message", [
    (["nds"], "error: nds needs --json FILE, the official file to convert"),
    (["nds", "--tfrecord", "x.tfrecord"], "error: nds needs --json FILE"),
    (["nds", "--json", "DARTS.json", "--tfrecord", "x"],
     "error: --tfrecord is not an input of nds, which reads --json"),
    (["nb101"], "error: nb101 needs --tfrecord FILE"),
    (["nb101", "--tfrecord", "x", "--json", "y"], "error: --json is not an input of nb101, which reads --tfrecord"),
    (["nb201", "--json", "x"], "error: cannot import benchmark 'nb201'; valid benchmarks are nb101, nds"),
    (["nb101", "--tfrecord", "x", "--keep-none"], "error: --keep-none is an option of nds, not of nb101"),
    (["nds", "--json", "missing.json"], "error: missing.json: no such file; NDS's DARTS.json is in "
                                        "https://dl.fbaipublicfiles.com/nds/data.zip (nds_data/DARTS.json)"),
])
def test_cli_wrong_options_are_one_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "import", *args])
    assert result.exit_code == 2
    assert result.output.startswith(message) and result.output.count("\n") == 1, result.output
    assert not list(tmp_path.iterdir())


def test_cli_help_names_both_benchmarks():
    result = CliRunner().invoke(cli, ["bench", "import", "--help"])
    assert result.exit_code == 0
    assert "lrnas bench import nds --json nds_data/DARTS.json" in result.output
    assert "--tfrecord" in result.output and "--json" in result.output and "darts_nds.csv.gz" in result.output
