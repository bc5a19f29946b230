"""Landmark sets: architectures with known stand-alone accuracy, sorted worst (index 0) to best.

``pool`` is a pandas Series mapping an architecture key (the official NB201 string, or a cell key in other spaces)
to its ground-truth accuracy. Only ``hamming`` reads the keys as architectures, of the ``space`` it is given.

    >>> import pandas as pd
    >>> pool = pd.Series({f"arch{i}": float(i) for i in range(100)})
    >>> lms = select_landmarks("fixed", pool, num_landmarks=5, seed=0)
    >>> [lm.arch for lm in lms]
    ['arch0', 'arch25', 'arch50', 'arch74', 'arch99']

Methods (``landmarks.method``):

- ``random``: M keys drawn uniformly without replacement (numpy ``default_rng(seed)``), as the authors'
  ``random_ids`` (kcyu2014/nas-landmarkreg, nasws/cnn/search_space/search_space.py).
- ``fixed``: M evenly spaced ground-truth ranks ``round(linspace(0, N-1, M))``, worst and best included. The
  authors' code instead steps ``N // M`` back from the best, so it usually skips the worst
  (for N=15625, M=30 it starts at rank 544); we follow the issue's "worst to best".
- ``hamming`` (a space with a one-edit walk: NB201): ``num_roots`` uniform roots, each followed by
  ``M / num_roots - 1`` neighbours. As in the authors' ``NASBench201HammingDistancePolicy``
  (nasws/cnn/policy/random_policy/nasbench201_weight_sharing_policy.py) a neighbour is the end of a random walk from
  the root that mutates one edge at a time (a uniform target node, a uniform incoming edge of it, a uniform
  different op) and stops as soon as the Hamming distance to the root (number of differing edge ops) exceeds
  ``distance``; since each step moves the distance by at most one, every neighbour lies at distance exactly
  ``distance + 1``. Unlike the authors, duplicates and archs missing from the pool are redrawn, so the set has M
  distinct members.
- ``file``: a CSV whose header starts ``arch,accuracy`` (the user's stand-alone accuracies; ``pool`` is not consulted).
  Further columns (the provenance ``lrnas landmarks build`` writes: recipe, epochs, seed, data, wall time) are kept
  out of the landmark set.
- ``none``: no landmarks (the plain algorithm).
"""
from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config_rules import Rule, integer, optional, seed

METHODS = ("none", "random", "fixed", "hamming", "file")
_DRAWN = {"num_landmarks": optional(integer()),  # its range depends on the method and the space: lrnas.validation
          "seed": optional(seed())}
# landmarks.* of each method (lrnas.config_rules); every method but none also has refine.* (refinement.REFINE_RULES).
METHOD_RULES = {
    "none": {},
    "random": _DRAWN,
    "fixed": _DRAWN,
    "hamming": {**_DRAWN, "num_roots": integer(1), "distance": integer(0)},  # distance < the space's edges
    "file": {**_DRAWN, "path": Rule("a path to a CSV file with header arch,accuracy", lambda v: isinstance(v, str))},
}
# Options each method accepts besides the common `validate_arch`; anything else is a config typo.
_OPTIONS = {"none": set(), "random": set(), "fixed": set(), "hamming": {"num_roots", "distance"}, "file": {"path"}}
_MAX_WALK_STEPS = 500  # the authors' cap on mutations per neighbour
_MAX_DRAWS = 1000  # redraws per landmark before giving up (duplicate or not in the pool)


@dataclass(frozen=True)
class Landmark:
    arch: str
    accuracy: float


class LandmarkFileError(ValueError):
    """A malformed landmark CSV; the message is one line naming file, line, bad value and what is expected."""


def select_landmarks(
    method: str,
    pool: pd.Series | None,
    num_landmarks: int | None,
    seed: int,
    validate_arch: Callable[[str], object] | None = None,
    space=None,
    **options,
) -> list[Landmark]:
    """Pick the landmark set, sorted by accuracy ascending (index 0 = worst).

    ``validate_arch`` (e.g. ``nb201.parse_arch``) is called on every landmark key and must raise ValueError on a bad
    one. ``space`` (a space face, ``lrnas.spaces.get_space``): the space ``hamming`` walks. For ``file``,
    ``num_landmarks`` may be None (use every row); otherwise it must match the row count.
    """
    if method not in METHODS:
        raise ValueError(f"landmarks.method={method!r} is unknown; valid: {', '.join(METHODS)}")
    unknown = set(options) - _OPTIONS[method]
    if unknown:
        keys = ", ".join(f"landmarks.{k}" for k in sorted(unknown))
        valid = ", ".join(f"landmarks.{k}" for k in sorted(_OPTIONS[method])) or "none"
        raise ValueError(f"{keys} not used by landmarks.method={method!r}; its options: {valid}")
    if method == "none":
        return []
    if method == "file":
        if "path" not in options:
            raise ValueError("landmarks.path is required for landmarks.method='file' (a CSV with header arch,accuracy)")
        landmarks = _read_csv(options["path"], validate_arch)
        if num_landmarks is not None and num_landmarks != len(landmarks):
            raise ValueError(f"landmarks.num_landmarks={num_landmarks} but {options['path']} has {len(landmarks)} "
                             "landmarks; set it to null or to the row count")
        if len(landmarks) < 2:
            raise LandmarkFileError(f"{options['path']}: has {len(landmarks)} landmark rows; expected at least 2")
        return landmarks

    if pool is None or pool.empty:
        raise ValueError(f"landmarks.method={method!r} needs a ground-truth pool; without one use method 'file'")
    if not pool.index.is_unique:
        dup = pool.index[pool.index.duplicated()][0]
        raise ValueError(f"the ground-truth pool repeats architecture key {dup!r}; expected one row per architecture")
    _check_count(num_landmarks, len(pool))
    # Rank order (ties broken by key) makes every method independent of the pool's row order.
    ranked = sorted(zip(pool.index, pool.to_numpy(dtype=float), strict=True), key=lambda kv: (kv[1], kv[0]))
    rng = np.random.default_rng(seed)
    if method == "random":
        picks = [ranked[i][0] for i in rng.choice(len(ranked), num_landmarks, replace=False)]
    elif method == "fixed":
        picks = [ranked[i][0] for i in np.round(np.linspace(0, len(ranked) - 1, num_landmarks)).astype(int)]
    else:
        groups = hamming_groups([key for key, _ in ranked], num_landmarks, rng, space, **options)
        picks = [arch for group in groups for arch in group]
    landmarks = _sorted(Landmark(str(arch), float(pool[arch])) for arch in picks)
    if validate_arch is not None:
        for lm in landmarks:
            validate_arch(lm.arch)
    return landmarks


def hamming_groups(
    archs: list[str], num_landmarks: int, rng: np.random.Generator, space, num_roots: int = 1, distance: int = 1
) -> list[list[str]]:
    """``num_roots`` groups ``[root, *neighbours]`` of ``num_landmarks / num_roots`` distinct strings of ``space``,
    walked by its ``one_edit`` and measured by its ``edit_distance``."""
    if space is None or space.one_edit is None:
        where = "no space was given" if space is None else f"{space.__name__} defines no one_edit"
        raise ValueError(f"landmarks.method='hamming' walks a space's one-edit neighbours, but {where}")
    if not isinstance(num_roots, int) or num_roots < 1 or num_landmarks % num_roots:
        raise ValueError(f"landmarks.num_roots={num_roots!r} must be a positive divisor of "
                         f"landmarks.num_landmarks={num_landmarks} (M = roots x per-root)")
    if not isinstance(distance, int) or not 0 <= distance < space.NUM_EDGES:
        raise ValueError(f"landmarks.distance={distance!r} is invalid; neighbours lie at distance + 1, so use an "
                         f"integer in 0..{space.NUM_EDGES - 1} (the paper uses 1..4)")
    by_arch = {space.parse_arch(a): a for a in archs}
    taken: set[str] = set()

    def walk(root):
        arch = root
        for _ in range(_MAX_WALK_STEPS):
            arch = space.one_edit(arch, rng)
            if space.edit_distance(arch, root) > distance:
                return by_arch.get(arch)
        return None

    def draw(root: tuple[str, ...] | None) -> str:
        """A new root (uniform over ``archs``) when ``root`` is None, else a new neighbour of ``root``."""
        for _ in range(_MAX_DRAWS):
            arch = archs[rng.integers(len(archs))] if root is None else walk(root)
            if arch is not None and arch not in taken:
                taken.add(arch)
                return arch
        what = "a new root" if root is None else f"a new neighbour of {space.format_arch(root)}"
        raise ValueError(f"could not find {what} after {_MAX_DRAWS} draws; lower landmarks.num_landmarks or raise "
                         "landmarks.num_roots / landmarks.distance")

    groups = []
    for _ in range(num_roots):
        root = draw(None)
        parsed = space.parse_arch(root)
        groups.append([root] + [draw(parsed) for _ in range(num_landmarks // num_roots - 1)])
    return groups


def landmarks_from_config(landmarks_cfg, pool: pd.Series | None, run_seed: int,
                          validate_arch: Callable[[str], object] | None = None,
                          resolve_path: Callable[[str], str] = str, space=None) -> list[Landmark]:
    """The landmark set a composed ``landmarks`` config group asks for (``refine`` belongs to the training loop);
    ``space``: the run's space (``hamming`` walks it)."""
    options = {k: v for k, v in landmarks_cfg.items() if k not in ("method", "num_landmarks", "seed", "refine")}
    if options.get("path") is not None:
        options["path"] = resolve_path(options["path"])
    seed = run_seed if landmarks_cfg.get("seed") is None else landmarks_cfg.get("seed")
    return select_landmarks(landmarks_cfg["method"], pool, landmarks_cfg.get("num_landmarks"), seed,
                            validate_arch=validate_arch, space=space, **options)


def save_landmarks(landmarks: list[Landmark], path: str | Path) -> None:
    """Write ``arch,accuracy`` rows in landmark order (row 1 = index 0 = worst); readable by the ``file`` method."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["arch", "accuracy"])
        writer.writerows([lm.arch, repr(lm.accuracy)] for lm in landmarks)


def load_landmarks(path: str | Path, validate_arch: Callable[[str], object] | None = None) -> list[Landmark]:
    """Read a CSV written by :func:`save_landmarks` (or any ``arch,accuracy`` file), sorted worst to best."""
    return _read_csv(path, validate_arch)


def _check_count(num_landmarks: int | None, pool_size: int) -> None:
    if not isinstance(num_landmarks, int) or isinstance(num_landmarks, bool) or not 2 <= num_landmarks <= pool_size:
        raise ValueError(f"landmarks.num_landmarks={num_landmarks!r} is invalid; need an integer in 2..{pool_size} "
                         "(at least one pair, at most the candidate pool)")


def _sorted(landmarks: Iterable[Landmark]) -> list[Landmark]:
    return sorted(landmarks, key=lambda lm: (lm.accuracy, lm.arch))


def _read_csv(path: str | Path, validate_arch: Callable[[str], object] | None) -> list[Landmark]:
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise LandmarkFileError(f"{path}: cannot read landmark file ({e.strerror})") from None
    header = [c.strip() for c in rows[0]] if rows else []
    if header[:2] != ["arch", "accuracy"]:
        got = ",".join(rows[0]) if rows else "an empty file"
        raise LandmarkFileError(f"{path}:1: header is {got!r}; expected 'arch,accuracy' (further columns allowed)")
    landmarks, seen = [], set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise LandmarkFileError(f"{path}:{line}: row {','.join(row)!r} has {len(row)} fields; expected "
                                    f"{len(header)} ({','.join(header)})")
        arch, acc_text = row[0].strip(), row[1].strip()
        if not arch:
            raise LandmarkFileError(f"{path}:{line}: arch is empty; expected an architecture key")
        try:
            accuracy = float(acc_text)
        except ValueError:
            accuracy = math.nan
        if not math.isfinite(accuracy):
            raise LandmarkFileError(f"{path}:{line}: accuracy {acc_text!r} is not a finite number; expected e.g. 93.5")
        check_listed_arch(f"{path}:{line}", arch, validate_arch, seen)
        landmarks.append(Landmark(arch, accuracy))
    return _sorted(landmarks)


def check_listed_arch(where: str, arch: str, validate_arch: Callable[[str], object] | None, seen: set[str]) -> None:
    """Add ``arch``, listed at ``where`` (file:line), to ``seen`` if it is valid and not listed before; else one line
    naming the place and why."""
    if validate_arch is not None:
        try:
            validate_arch(arch)
        except ValueError as e:
            raise LandmarkFileError(f"{where}: arch {arch!r} is invalid: {e}") from None
    if arch in seen:
        raise LandmarkFileError(f"{where}: arch {arch!r} is repeated; expected each architecture once")
    seen.add(arch)
