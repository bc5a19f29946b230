"""Zero-cost proxies of a run's evaluation sample (``eval.proxies``), computed once and cached, so every run of a
sweep on the same sample pays for them once.

The networks are those of the stand-alone recipe ``eval.proxy_recipe`` (``conf/standalone/<name>.yaml``: the space's
own by default), initialised from ``eval.sample_seed`` and scored on a minibatch of training images drawn with it: the
sample's seed, not the run's, so runs with different seeds, with and without landmarks, get the same free rankings.
The cache (``<data cache>/proxies/<key>.csv``: arch, proxy, score) is keyed by the space, the network config, the
seed and the data, and only missing scores are computed.

    lrnas train experiment=cpu 'eval.proxies=[naswot,synflow]' data.root=PATH
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from ..conf import CONFIG_DIR
from ..config_rules import ConfigError
from ..data import random_subset, to_float_normalized
from .proxies import BATCH_SIZE, score_network


def _composed(recipe: str):
    """The stand-alone recipe ``recipe`` (a YAML in lrnas's conf/standalone/), the recipes its defaults list names
    merged under it as Hydra composes them; None when there is no such file."""
    path = CONFIG_DIR / "standalone" / f"{recipe}.yaml"
    if not path.is_file():
        return None
    node = OmegaConf.load(path)
    parents = [_composed(parent) for parent in node.pop("defaults", []) if parent != "_self_"]
    return OmegaConf.merge(*parents, node)


def has_network(recipe: str) -> bool:
    composed = _composed(recipe)
    return composed is not None and "_target_" in composed.get("network", {})


def proxy_network_config(recipe: str):
    """The ``network`` node of the stand-alone recipe ``recipe``."""
    if not has_network(recipe):
        raise ConfigError(f"eval.proxy_recipe={recipe!r} names no stand-alone recipe with a network")
    return _composed(recipe).network


def proxy_batch(data, seed: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The minibatch every network is scored on: a seeded draw of training images, normalised, not augmented."""
    rows = random_subset(len(data.train_labels), max(BATCH_SIZE.values()), seed)
    images = to_float_normalized(torch.from_numpy(data.train_images[rows]).to(device))
    return images, torch.from_numpy(data.train_labels[rows]).to(device)


def sample_proxies(names: list[str], archs: list[str], space, space_name: str, recipe: str, seed: int, data,
                   data_identity: str, cache_dir: Path, device) -> dict[str, np.ndarray]:
    """Each proxy's score of each arch, in order: from the cache, computing (and caching) only what it lacks."""
    network = proxy_network_config(recipe)
    key = json.dumps({"space": space_name, "network": OmegaConf.to_container(network), "seed": seed,
                      "data": data_identity}, sort_keys=True)
    cache = cache_dir / "proxies" / f"{space_name}-{recipe}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.csv"
    known: dict[tuple[str, str], float] = {}
    if cache.is_file():
        with cache.open(newline="") as f:
            known = {(row["arch"], row["proxy"]): float(row["score"]) for row in csv.DictReader(f)}
    missing = [arch for arch in archs if any((arch, name) not in known for name in names)]
    if missing:
        images, labels = proxy_batch(data, seed, device)
        build = instantiate(network, _partial_=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        new_file = not cache.is_file()
        with cache.open("a", newline="") as f:
            writer = csv.writer(f)
            if new_file:
                writer.writerow(["arch", "proxy", "score"])
            for arch in tqdm(missing, desc="zero-cost proxies", unit="arch", leave=False):
                torch.manual_seed(seed)
                scores = score_network(build(space.parse_arch(arch)).to(device), names, images, labels)
                for name, score in scores.items():
                    known[(arch, name)] = score
                    writer.writerow([arch, name, repr(score)])
    return {name: np.array([known[(arch, name)] for arch in archs]) for name in names}
