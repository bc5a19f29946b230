"""Fail unless the wheel holds exactly the package's source files, tables and configs (``make wheel`` runs it).

A folder without ``__init__.py`` is silently left out of a wheel (``lrnas/standalone`` once was: the editable install
never noticed), and so is a config the package data pattern misses; a stale setuptools ``build/lib`` can add modules
the tree no longer has.

    python scripts/check_wheel.py build/wheel-check/dist/lrnas-0.1.0-py3-none-any.whl
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def expected_files() -> set[str]:
    """Paths inside the wheel: lrnas/**/*.py and the shipped tables as they are, conf/**/* under lrnas/conf/."""
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "lrnas").rglob("*.py")}
    tables = {p.relative_to(ROOT).as_posix() for p in (ROOT / "lrnas" / "benchmarks" / "data").iterdir()}
    configs = {"lrnas/conf/" + p.relative_to(ROOT / "conf").as_posix() for p in (ROOT / "conf").rglob("*")
               if p.suffix in (".yaml", ".py")}
    return package | tables | configs


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} WHEEL")
    held = {name for name in zipfile.ZipFile(sys.argv[1]).namelist() if ".dist-info/" not in name}
    missing, extra = sorted(expected_files() - held), sorted(held - expected_files())
    if missing or extra:
        sys.exit(f"{sys.argv[1]} differs from the tree: lacks {', '.join(missing[:10]) or 'nothing'}; "
                 f"has beyond it {', '.join(extra[:10]) or 'nothing'}")
    print(f"{sys.argv[1]}: exactly the tree's package files, tables and configs")
