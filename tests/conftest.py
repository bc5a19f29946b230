import os
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]

# pytest-xdist workers share the cores: each gets its share of torch threads, and so do the `lrnas` runs it starts
# (they inherit the variable), or every worker's threads spin against the others'.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))


def compose_config(*overrides, config="config", hydra=False):
    """The config ``lrnas train OVERRIDES`` composes (``config="build"``: ``lrnas landmarks build``'s), as the CLI does;
    ``hydra``: with Hydra's own node (the launcher a sweep would use)."""
    from hydra import compose, initialize_config_dir
    from lrnas.conf import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name=config, overrides=list(overrides), return_hydra_config=hydra)


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own data cache, so nothing leaks between tests or from the user's ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LRNAS_CACHE", str(cache))
    return cache


def assert_import_keeps_its_output_without_force(args: list[str], out: Path) -> None:
    """``lrnas <args>`` (a `bench import` that wrote ``out``) run again: refused in one line, ``out`` untouched; with
    --force it runs."""
    from lrnas.cli import cli

    before = out.stat().st_mtime_ns
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output == f"error: output {out} already exists; pass --force to overwrite it\n"
    assert out.stat().st_mtime_ns == before
    result = CliRunner().invoke(cli, [*args, "--force"])
    assert result.exit_code == 0, result.output
