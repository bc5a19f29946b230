from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own data cache, so nothing leaks between tests or from the user's ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LRNAS_CACHE", str(cache))
    return cache
