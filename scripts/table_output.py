"""What both table builders do once a table is built: write it, update its section of PROVENANCE.md, check its sha256.

Each table owns the section that starts with its own ``# Provenance of `NAME` `` heading, so rebuilding one table
never touches the other's.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def replace_section(text: str, section: str) -> str:
    """``text`` with the top-level section headed like ``section``'s first line replaced by it (or appended)."""
    heading = section.split("\n", 1)[0]
    start = text.find(heading + "\n")
    if start < 0:
        return text.rstrip("\n") + ("\n\n" if text else "") + section
    end = text.find("\n# ", start + len(heading))
    return text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")


def relative_command(script: str, src: Path, out: Path) -> str:
    """The command that rebuilds the table, run from the repo root."""
    rel = {name: os.path.relpath(path.resolve(), REPO) for name, path in (("src", src), ("out", out))}
    return f"python scripts/{script} --src {rel['src']} --out {rel['out']}"


def write_table(out: Path, data: bytes, provenance, expected_sha256: str, constant_home: str) -> None:
    """Write ``data`` to ``out``, then its PROVENANCE.md section (``provenance()`` may read the written file); exit 1
    when the content differs from the sha256 the loader accepts (``TABLE_SHA256`` in ``constant_home``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    record = out.parent / "PROVENANCE.md"
    record.write_text(replace_section(record.read_text() if record.exists() else "", provenance()))
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    if sha256(out) != expected_sha256:  # lrnas refuses to load it until the constant records the new content
        sys.exit(f"{out} has sha256 {sha256(out)}, not TABLE_SHA256 {expected_sha256}: if the change is intended, "
                 f"set TABLE_SHA256 in {constant_home} to the new value")
