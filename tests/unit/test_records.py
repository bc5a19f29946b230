"""Result files are written atomically and, like any other tool's files, with the permissions the umask allows."""
import os
import stat

import pandas as pd
import pytest
from omegaconf import OmegaConf

from lrnas.records import save_checkpoint, save_csv, save_json, save_run_info


@pytest.fixture
def umask():
    previous = os.umask(0o077)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_respect_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    save_json(tmp_path / "metrics.json", {"final": None})
    save_csv(tmp_path / "archs.csv", pd.DataFrame({"arch": ["a"]}))
    save_checkpoint(tmp_path / "checkpoint.pt", {"epochs_done": 0})
    save_run_info(tmp_path, OmegaConf.create({"seed": 0}), "cpu", [])
    names = ["metrics.json", "archs.csv", "checkpoint.pt", "config.yaml", "run_info.json"]
    assert {name: oct(stat.S_IMODE((tmp_path / name).stat().st_mode)) for name in names} == dict.fromkeys(
        names, oct(mode))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no temp file left behind


def test_the_decoded_image_cache_respects_the_umask(tmp_path, umask):
    from lrnas.data import load_cifar10, write_synthetic_cifar10
    write_synthetic_cifar10(tmp_path / "data", n_train=20, n_test=10, seed=0)
    umask(0o022)
    load_cifar10(tmp_path / "data", cache_dir=tmp_path / "cache")
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in (tmp_path / "cache").iterdir()}
    assert modes and set(modes.values()) == {oct(0o644)}, modes
