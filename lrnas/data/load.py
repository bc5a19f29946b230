"""The ``data`` config group -> CIFAR-10 arrays: the archive or folder at ``data.root``, or a tiny synthetic set in
the official format (smoke runs, tests), decoded once into the cache."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hydra.utils import to_absolute_path

from ..config_rules import Rule, integer, optional, seed, text
from .cifar10 import CIFAR10, default_cache_dir, load_cifar10, write_synthetic_cifar10

CONFIG_RULES = {  # data.* (lrnas.config_rules)
    "root": text(),
    "cache_dir": optional(text()),
    "split_seed": optional(seed()),
    "synthetic": Rule("null or {train: N, test: N}",
                      lambda v: v is None or (isinstance(v, dict) and set(v) == {"train", "test"})),
    "synthetic.train": integer(10),
    "synthetic.test": integer(2),
}


def load_data(data_cfg) -> CIFAR10:
    """CIFAR-10 arrays from ``data.root``, or a tiny synthetic set in the official format (smoke runs, tests)."""
    cache_dir = Path(data_cfg.cache_dir) if data_cfg.cache_dir else default_cache_dir()
    if data_cfg.synthetic:
        n_train, n_test = data_cfg.synthetic.train, data_cfg.synthetic.test
        root = cache_dir / f"synthetic-{n_train}-{n_test}"
        if not root.is_dir():
            # Written aside and renamed into place: jobs of a parallel sweep never read a half-written set.
            cache_dir.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=cache_dir))
            write_synthetic_cifar10(partial, n_train=n_train, n_test=n_test, seed=0)
            try:
                partial.rename(root)
            except OSError:  # another job was first: its set is the same
                shutil.rmtree(partial)
    else:
        root = data_root(data_cfg)
    return load_cifar10(root, cache_dir=cache_dir)


def data_root(data_cfg) -> Path:
    """``data.root`` as one absolute path: ``~`` expanded, relative to where lrnas was launched (Hydra's original
    cwd), symlinks and ``..`` resolved, so every spelling of one archive is the same root."""
    return Path(to_absolute_path(os.path.expanduser(data_cfg.root))).resolve()


def split_seed(cfg) -> int:
    """The seed of the weights / held-out split: ``data.split_seed``, or the run's ``seed`` when it is null (the
    authors draw the split from each run's seed: kcyu2014/nas-landmarkreg nasws/dataset/cifar.py:19-21)."""
    return cfg.seed if cfg.data.split_seed is None else cfg.data.split_seed


def data_identity(data_cfg) -> str:
    """Which images ``load_data(data_cfg)`` gives: the synthetic set's size, or the resolved root (cache keys), so a
    relative path, an absolute one and a symlink to the same file share the cached proxy scores."""
    if data_cfg.synthetic:
        return f"synthetic-{data_cfg.synthetic.train}-{data_cfg.synthetic.test}"
    return str(data_root(data_cfg))
