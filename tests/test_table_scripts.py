"""The table builders' shared output step: each rebuild rewrites only its own section of PROVENANCE.md."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
_spec = importlib.util.spec_from_file_location("table_output", SCRIPTS / "table_output.py")
table_output = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(table_output)

NB201 = "# Provenance of `nb201.csv.gz`\n\nold nb201\n\n## Sources\n\nold\n"
NB101 = "# Provenance of `nb101.csv.xz`\n\nold nb101\n"


def test_rebuilding_one_table_keeps_the_other_tables_section():
    both = table_output.replace_section(NB201, NB101)
    assert both == NB201 + "\n" + NB101
    new_nb201 = "# Provenance of `nb201.csv.gz`\n\nnew nb201\n"
    assert table_output.replace_section(both, new_nb201) == new_nb201 + "\n" + NB101
    new_nb101 = "# Provenance of `nb101.csv.xz`\n\nnew nb101\n"
    assert table_output.replace_section(both, new_nb101) == NB201 + "\n" + new_nb101
    assert table_output.replace_section("", NB101) == NB101


def test_write_table_refuses_content_the_loader_would_not_accept(tmp_path):
    out = tmp_path / "t.csv.xz"
    (tmp_path / "PROVENANCE.md").write_text(NB201)
    section = "# Provenance of `t.csv.xz`\n\nsome\n"
    expected = table_output.hashlib.sha256(b"abc").hexdigest()
    table_output.write_table(out, b"abc", lambda: section, expected, "x.py")
    assert (tmp_path / "PROVENANCE.md").read_text() == NB201 + "\n" + section
    with pytest.raises(SystemExit, match="set TABLE_SHA256 in x.py"):
        table_output.write_table(out, b"abd", lambda: section, expected, "x.py")
