"""The table builders' shared output step: each rebuild rewrites only its own section of PROVENANCE.md."""
from __future__ import annotations

import importlib.util

import pytest
from conftest import ROOT

SCRIPTS = ROOT / "scripts"
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


def test_keep_runs_copies_finished_runs_without_checkpoints_and_never_overwrites(tmp_path):
    import json

    spec = importlib.util.spec_from_file_location("keep_runs", SCRIPTS / "keep_runs.py")
    keep_runs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(keep_runs)
    source, dest = tmp_path / "sweep", tmp_path / "kept"
    for name, final in (("epochs20/done", {"kendall_tau": 0.3}), ("epochs20/running", None)):
        (source / name).mkdir(parents=True)
        (source / name / "metrics.json").write_text(json.dumps({"final": final}))
        (source / name / "archs.csv").write_text("arch\n")
        (source / name / "checkpoint.pt").write_bytes(b"weights")
    assert keep_runs.keep_runs(source, dest) == [dest / "epochs20/done"]
    assert sorted(p.name for p in (dest / "epochs20/done").iterdir()) == ["archs.csv", "metrics.json"]
    (dest / "epochs20/done/archs.csv").write_text("kept\n")
    assert keep_runs.keep_runs(source, dest) == [] and (dest / "epochs20/done/archs.csv").read_text() == "kept\n"
