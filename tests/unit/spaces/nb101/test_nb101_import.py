"""Tests of reading the official NAS-Bench-101 file without TensorFlow (TFRecord, CRC32C, protobuf) and the import.

    .venv/bin/python -m pytest tests/unit/spaces/nb101/test_nb101_import.py -q

The files here are written by an encoder of the official format that shares no code with the reader (its CRC is
bitwise, not table-driven), so a mistake made the same way on both sides cannot cancel out.
"""
from __future__ import annotations

import base64
import json
import re
import struct

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import assert_import_keeps_its_output_without_force

from lrnas.cli import cli
from lrnas.spaces.nb101 import tfrecord
from lrnas.spaces.nb101.importer import COLUMNS, import_nb101, parse_record
from lrnas.spaces.nb101.tfrecord import TFRecordError, crc32c, crc32c_many, crc32c_python, decode_message, iter_records

# ----- an independent writer of the official format -----


def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 * (crc & 1))
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> bytes:
    crc = _crc32c_bitwise(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + _masked(length) + data + _masked(data)


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative ints are 10-byte two's complement varints
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _double(field: int, x: float) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", x)


def _len(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _evaluation(epoch: float, valid: float, test: float) -> bytes:
    return (_double(1, epoch) + _double(2, 1000.0 * epoch) + _double(3, 0.99) + _double(4, valid) + _double(5, test)
            + _len(6, b"gs://bucket/model.ckpt-1234"))


def _record(module_hash: str, adjacency: str, ops: str, params: int, valid: float, test: float,
            epochs: int = 108) -> bytes:
    metrics = (_len(1, _evaluation(0, 0.1, 0.1)) + _len(1, _evaluation(epochs / 2, 0.5, 0.5))
               + _varint(2 << 3) + _varint(params)
               + _varint(9 << 3 | 5) + b"\x01\x02\x03\x04"  # an unknown fixed32 field: skipped
               + _len(1, _evaluation(epochs, valid, test))
               + _double(3, 1234.5))
    row = [module_hash, epochs, adjacency, ops, base64.b64encode(metrics).decode()]
    return json.dumps(row).encode()


SEVEN = "0100110001000000010010000010000001000000010000000"
SEVEN_OPS = "input,conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,conv1x1-bn-relu,output"
FIVE = "0110000010000010000100000"  # a pruned cell: 5 vertices
FIVE_OPS = "input,conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,output"
# hash -> (adjacency, ops, params, valid accuracies, test accuracies) of 3 repeats; listed out of hash order
CELLS = {
    "ff00000000000000000000000000000a": (SEVEN, SEVEN_OPS, 2_694_282, (0.94, 0.945, 0.95), (0.93, 0.935, 0.9401)),
    "0a00000000000000000000000000000b": (FIVE, FIVE_OPS, 1_000_000, (0.80, 0.81, 0.83), (0.79, 0.80, 0.84)),
    "7700000000000000000000000000000c": ("0100", "input,output", 0, (0.1, 0.1, 0.1), (0.1, 0.1, 0.1)),
}


def _official_records() -> list[bytes]:
    """Repeats interleaved, plus one 36-epoch record (as in nasbench_full.tfrecord) that the import skips."""
    records = [_record(h, a, o, p, v[r], t[r]) for r in range(3) for h, (a, o, p, v, t) in CELLS.items()]
    records.insert(4, _record("ff00000000000000000000000000000a", SEVEN, SEVEN_OPS, 2_694_282, 0.5, 0.5, epochs=36))
    return records


@pytest.fixture
def official(tmp_path):
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(b"".join(_frame(r) for r in _official_records()))
    return path


# ----- CRC32C, framing, protobuf -----


def test_crc32c_check_value():
    assert crc32c(b"123456789") == crc32c_python(b"123456789") == _crc32c_bitwise(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_batched_crc_matches_bitwise():
    rng = np.random.default_rng(0)
    buffer = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    starts = rng.integers(0, 4000, 50)
    lengths = rng.integers(0, 1000, 50)
    expected = [_crc32c_bitwise(buffer[s:s + n]) for s, n in zip(starts, lengths, strict=True)]
    assert crc32c_many(buffer, starts, lengths).tolist() == expected


def test_batched_crc_without_c_implementation(monkeypatch):
    monkeypatch.setattr(tfrecord, "_fast_crc32c", None)  # the numpy path, whether or not a C module is installed
    buffer = bytes(range(256)) * 3
    starts, lengths = np.array([0, 5, 100]), np.array([768, 0, 9])
    assert crc32c_many(buffer, starts, lengths).tolist() == [_crc32c_bitwise(buffer[s:s + n])
                                                             for s, n in zip(starts, lengths, strict=True)]


def test_reads_records_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(tfrecord, "CHUNK", 7)  # every record straddles several reads
    records = [b"", b"x" * 100, b"hello"]
    path = tmp_path / "r.tfrecord"
    path.write_bytes(b"".join(_frame(r) for r in records))
    with open(path, "rb") as stream:
        assert list(iter_records(stream)) == records


def test_decode_message_keeps_unknown_fields_and_rejects_truncation():
    message = _varint(2 << 3) + _varint(-5) + _double(3, 2.5) + _len(7, b"abc")
    fields = decode_message(message)
    assert tfrecord.int32(fields[2][0]) == -5 and tfrecord.double(fields[3][0]) == 2.5 and fields[7] == [b"abc"]
    with pytest.raises(ValueError, match="runs past the end"):
        decode_message(message[:-1])
    with pytest.raises(ValueError, match="wire type 3"):
        decode_message(_varint(1 << 3 | 3))


# ----- the import -----


def test_round_trip(official, tmp_path):
    out = tmp_path / "nb101_full.csv.gz"
    summary = import_nb101(official, out, progress=False)
    assert (summary.records, summary.skipped, summary.cells, summary.repeats) == (10, 1, 3, (3, 3))
    assert str(summary) == f"read 10 records (1 with epochs != 108 skipped): 3 cells, 3 repeats each; wrote {out}"

    table = pd.read_csv(out)
    assert tuple(table.columns) == COLUMNS
    assert table["hash"].tolist() == sorted(CELLS)
    table = table.set_index("hash")
    for module_hash, (adjacency, ops, params, valid, test) in CELLS.items():
        row = table.loc[module_hash]
        interior = ",".join(ops.split(",")[1:-1])
        assert row["arch_str"] == f"{adjacency}:{interior}"
        assert row["params"] == params
        assert row["cifar10_valid"] == pytest.approx(round(100 * np.mean(valid), 4), abs=1e-9)  # final, not halfway
        assert row["cifar10_test"] == pytest.approx(round(100 * np.mean(test), 4), abs=1e-9)
        assert row["full"] == 1
    assert table.loc["ff00000000000000000000000000000a", "cifar10_test"] == 93.5033  # 4 decimals, as shipped
    assert table.loc["0a00000000000000000000000000000b", "arch_str"] == (
        "0110000010000010000100000:conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu")
    assert table.loc["7700000000000000000000000000000c", "arch_str"] == "0100:"
    assert table["params"].dtype == np.int64 and table["full"].dtype == np.int64


def test_output_is_reproducible(official, tmp_path):
    first, second = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    import_nb101(official, first, progress=False)
    import_nb101(official, second, progress=False)
    assert first.read_bytes() == second.read_bytes()  # no time or file name in the gzip header


def test_flipped_byte_is_a_checksum_error(official):
    data = bytearray(official.read_bytes())
    third = sum(len(_frame(r)) for r in _official_records()[:2])  # byte offset of record 2
    data[third + 12 + 3] ^= 0x01  # inside record 2's data
    official.write_bytes(bytes(data))
    with pytest.raises(TFRecordError) as error:
        import_nb101(official, official.with_name("out.csv.gz"), progress=False)
    assert str(error.value) == (f"{official}: record 2 at byte {third:,}: data checksum mismatch; the file is corrupt "
                                "or incomplete")
    assert not official.with_name("out.csv.gz").exists()

    data[third + 12 + 3] ^= 0x01
    data[third] ^= 0x01  # record 2's length
    official.write_bytes(bytes(data))
    with pytest.raises(TFRecordError, match=f"record 2 at byte {third:,}: length checksum mismatch"):
        import_nb101(official, official.with_name("out.csv.gz"), progress=False)


def test_truncated_file(official):
    data = official.read_bytes()
    official.write_bytes(data[:-5])
    last = len(data) - len(_frame(_official_records()[-1]))
    with pytest.raises(TFRecordError) as error:
        import_nb101(official, official.with_name("out.csv.gz"), progress=False)
    assert str(error.value) == (f"{official}: record 9 at byte {last:,}: truncated: the record needs "
                                f"{len(data) - last:,} bytes, only {len(data) - last - 5:,} remain; the file is "
                                "corrupt or incomplete")


@pytest.mark.parametrize("content", [b"hash,arch_str\nabc,def\n", b"short"])
def test_not_a_tfrecord(tmp_path, content):
    path = tmp_path / "table.csv"
    path.write_bytes(content)
    with pytest.raises(TFRecordError, match=f"^{path} is not a TFRecord file"):
        import_nb101(path, tmp_path / "out.csv.gz", progress=False)


def test_malformed_records(tmp_path):
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(_frame(_record("a" * 32, "010", "input,output", 1, 0.5, 0.5)))
    with pytest.raises(ValueError, match="record 0 is not a NAS-Bench-101 record: adjacency '010' is not"):
        import_nb101(path, tmp_path / "out.csv.gz", progress=False)
    path.write_bytes(_frame(_record("a" * 32, "0100", "input,output", 1, 0.5, 0.5).replace(b"output", b"outpt")))
    with pytest.raises(ValueError, match="are not input,...,output"):
        import_nb101(path, tmp_path / "out.csv.gz", progress=False)
    path.write_bytes(_frame(_record("a" * 32, FIVE, FIVE_OPS.replace("maxpool3x3", "avgpool3x3"), 1, 0.5, 0.5)))
    with pytest.raises(ValueError, match="unknown operations avgpool3x3; valid are conv3x3-bn-relu, conv1x1-bn-relu"):
        import_nb101(path, tmp_path / "out.csv.gz", progress=False)
    path.write_bytes(_frame(b'{"not": "a list"}'))
    with pytest.raises(ValueError, match="expected the JSON list"):
        import_nb101(path, tmp_path / "out.csv.gz", progress=False)
    cell = ("b" * 32, FIVE, FIVE_OPS, 10, 0.5, 0.5)
    path.write_bytes(_frame(_record(*cell)) + _frame(_record(*cell[:3], 11, 0.5, 0.5)))  # params differ by repeat
    with pytest.raises(ValueError, match="record 1: cell b+ is .* with 11 params, but an earlier repeat"):
        import_nb101(path, tmp_path / "out.csv.gz", progress=False)


@pytest.mark.parametrize("adjacency, ops, test, message", [
    ("0010", "input,output", 0.5, "cell a+: '0010:': edge 1->0 is on or below the diagonal"),
    ("010000000", "input,conv1x1-bn-relu,output", 0.5, "cell a+: '010000000:conv1x1-bn-relu': input is not "
                                                        "connected to output"),
    ("0100", "input,output", 5.0, "record 0 is not a NAS-Bench-101 record: cell a+: test accuracy 5.0 is not a "
                                  "fraction in [0, 1]"),
])
def test_cells_and_accuracies_load_nb101_would_refuse_are_never_written(tmp_path, adjacency, ops, test, message):
    path, out = tmp_path / "bad.tfrecord", tmp_path / "out.csv.gz"
    path.write_bytes(_frame(_record("a" * 32, adjacency, ops, 1, 0.5, test)))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: {message.replace('[', '.').replace('(', '.')}"):
        import_nb101(path, out, progress=False)
    assert not out.exists()


def test_parse_record_reads_the_final_evaluation():
    run = parse_record(_record("c" * 32, FIVE, FIVE_OPS, 42, 0.875, 0.5))
    assert (run.hash, run.epochs, run.params, run.valid, run.test) == ("c" * 32, 108, 42, 0.875, 0.5)


# ----- the command -----


def test_cli_imports_and_refuses_to_overwrite(official, tmp_path):
    out = tmp_path / "table.csv.gz"
    args = ["bench", "import", "nb101", "--tfrecord", str(official), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert out.exists() and f"3 cells, 3 repeats each; wrote {out}" in result.output

    assert_import_keeps_its_output_without_force(args, out)


def test_cli_default_output(official, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "import", "nb101", "--tfrecord", str(official)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "nb101_full.csv.gz").exists()


@pytest.mark.parametrize("args, message", [
    (["nb201", "--tfrecord", "x.tfrecord"], "error: cannot import benchmark 'nb201'; valid benchmarks are nb101"),
    (["nb101", "--tfrecord", "missing.tfrecord"], "error: missing.tfrecord: no such file; download"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["bench", "import", *args, "--out", str(tmp_path / "o.csv.gz")])
    assert result.exit_code == 2
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_cli_corrupt_file_is_one_line(official, tmp_path):
    official.write_bytes(official.read_bytes()[:-1])
    result = CliRunner().invoke(cli, ["bench", "import", "nb101", "--tfrecord", str(official),
                                      "--out", str(tmp_path / "o.csv.gz")])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {official}: record 9 at byte ") and result.output.count("\n") == 1
