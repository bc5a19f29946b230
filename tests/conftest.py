import os
from pathlib import Path

import pytest

import lrnas

ROOT = Path(__file__).resolve().parents[1]
# `lrnas train` subprocesses import the lrnas this process tests: under `make mutation` that is the mutated copy in
# mutants/, not the editable install, so the end-to-end tests can notice a mutant too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(lrnas.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH")]))


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own data cache, so nothing leaks between tests or from the user's ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LRNAS_CACHE", str(cache))
    return cache
