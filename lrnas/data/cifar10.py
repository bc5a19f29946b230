"""CIFAR-10 from disk (or the official download) as uint8 arrays, decoded once and cached as .npz.

``root`` (config key ``data.root``) may be
  * a folder holding ``cifar-10-batches-py/`` (official python batches), or that folder itself;
  * an image-folder root: ``train/<class>/*.png|jpg`` and ``test/<class>/*``, the ten CIFAR-10 class names;
  * a ``.tar.gz`` of either layout (read from the stream, nothing unpacked to disk);
  * anything else: the official archive is downloaded into the cache and MD5-checked.
The cache (``cache_dir``, else ``$LRNAS_CACHE``, else ``~/.cache/lrnas``) is keyed by the resolved paths, sizes and
mtimes of the source files, so a changed dataset is decoded again.

    >>> import tempfile
    >>> from lrnas.data import load_cifar10, write_synthetic_cifar10
    >>> folder = tempfile.mkdtemp()
    >>> root = write_synthetic_cifar10(f"{folder}/cifar", n_train=50, n_test=10)
    >>> data = load_cifar10(root, cache_dir=f"{folder}/cache")
    >>> data.train_images.shape, data.train_images.dtype, data.test_labels.dtype
    ((50, 32, 32, 3), dtype('uint8'), dtype('int64'))
"""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import pickle
import tarfile
import urllib.request
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from tqdm import tqdm

from ..records import atomic_write

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
BATCHES_DIR = "cifar-10-batches-py"
SPLIT_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
POOL_MIN_IMAGES = 2000
CACHE_VERSION = 1  # bump when the decoded arrays would change, so old caches are not reused
LAYOUTS_HINT = ("expected cifar-10-batches-py/ (official python batches) or train/<class>/ + test/<class>/ "
                "image folders, or a .tar.gz of either")


class DataNotFoundError(ValueError):
    """data.root holds no CIFAR-10 and it could not be downloaded; the message is one line."""


@dataclass(frozen=True)
class CIFAR10:
    train_images: np.ndarray  # uint8 [50000, 32, 32, 3], NHWC
    train_labels: np.ndarray  # int64 [50000], 0..9 in CLASSES order
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str  # "<layout>:<resolved data.root>"


Downloader = Callable[[str, Path], None]


def default_cache_dir() -> Path:
    return Path(os.environ.get("LRNAS_CACHE") or Path.home() / ".cache" / "lrnas").expanduser()


def load_cifar10(root: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                 download: Downloader | None = None) -> CIFAR10:
    """Load CIFAR-10 from `root` (see module doc); `download(url, dest)` replaces the HTTP fetch (tests, mirrors)."""
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    path = Path(root).expanduser().resolve()
    layout = None if _is_archive(path) else _find_layout(path)
    if layout is None and not _is_archive(path):
        path = _download_official(root, cache, download or _fetch)
    on_disk = None if layout is None else _disk_tree(*layout)
    cached = cache / f"cifar10-{_fingerprint([path] if on_disk is None else on_disk[1].values())}.npz"
    if cached.is_file():
        with np.load(cached) as z:
            return CIFAR10(z["train_images"], z["train_labels"], z["test_images"], z["test_labels"], str(z["source"]))
    kind, tree = on_disk or _archive_tree(root, path)
    data = _decode(kind, tree, f"{kind}:{path}")
    _save_atomic(cached, data)
    return data


def split_train(num_images: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random halves of range(num_images): (weight_indices, held_out_indices), each in random order.

    The super-net weights train on the first half; landmark batches come from the held-out half. With an odd
    count the weights half gets the extra image. The random order makes every prefix a uniform subset: image
    folders are stored class by class, so a prefix of a sorted index list would hold one or two classes.
    """
    if num_images < 0:
        raise ValueError(f"num_images={num_images} must be >= 0")
    order = random_subset(num_images, num_images, seed)
    half = (num_images + 1) // 2
    return order[:half], order[half:]


def random_subset(num_images: int, count: int, seed: int) -> np.ndarray:
    """``count`` seeded uniform indices of range(num_images), in random order (never a class-sorted prefix)."""
    return np.random.default_rng(seed).permutation(num_images)[:count]


# --- finding a layout ------------------------------------------------------------------------------------------
# A layout's files are a Tree: path relative to the layout's base ("data_batch_1", "train/cat/0001.png") -> the file
# on disk, or its bytes when it comes from an archive.
Tree = dict[str, Path | bytes]


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".tar.gz", ".tgz"))


def _find_layout(path: Path) -> tuple[str, Path] | None:
    """("python-batches", dir) or ("image-folder", dir) found at `path`, else None."""
    for d in (path / BATCHES_DIR, path):
        if (d / "data_batch_1").is_file():
            return "python-batches", d
    if (path / "train").is_dir() and (path / "test").is_dir():
        return "image-folder", path
    return None


def _disk_tree(kind: str, base: Path) -> tuple[str, Tree]:
    if kind == "python-batches":
        names = [name for names in SPLIT_BATCHES.values() for name in names]
        return kind, {name: base / name for name in names if (base / name).is_file()}
    class_dirs = [d for split in ("train", "test") for d in (base / split).iterdir() if d.is_dir()]
    return kind, {f"{d.parent.name}/{d.name}/{f.name}": f for d in class_dirs for f in d.iterdir()}


def _archive_tree(root: str | os.PathLike, archive: Path) -> tuple[str, Tree]:
    """The archive's files, re-rooted at the layout inside it, read into memory.

    Nothing is unpacked to disk: on this project's shared disk, unpacking the 60k small files of the JPEG archive
    took 46 s and deleting them 84 s; reading them from the stream takes ~5 s. Members that would unpack outside
    a folder are refused all the same.
    """
    files = {}
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                name = PurePosixPath(member.name)
                if name.is_absolute() or ".." in name.parts:
                    raise ValueError(f"{archive} is unsafe to unpack: member {member.name!r} points outside its folder")
                if member.isfile():
                    files[name.as_posix()] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as e:  # not a tar, bad gzip, truncated
        raise DataNotFoundError(f"data.root={str(root)!r} is not a readable .tar.gz ({e})") from None
    for name in files:
        parts = name.split("/")
        if parts[-1] == "data_batch_1":
            kind, prefix = "python-batches", parts[:-1]
        elif len(parts) >= 3 and parts[-3] in ("train", "test"):
            kind, prefix = "image-folder", parts[:-3]
        else:
            continue
        start = "".join(p + "/" for p in prefix)
        return kind, {n[len(start):]: data for n, data in files.items() if n.startswith(start)}
    raise DataNotFoundError(f"data.root={str(root)!r} is an archive with no CIFAR-10 inside: {LAYOUTS_HINT}")


def _fingerprint(files: Iterable[Path]) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


# --- decoding ---------------------------------------------------------------------------------------------------

def _decode(kind: str, tree: Tree, source: str) -> CIFAR10:
    read = _read_python_batches if kind == "python-batches" else _read_image_folders
    return CIFAR10(*read(tree, "train", source), *read(tree, "test", source), source=source)


def _read_python_batches(tree: Tree, split: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    missing = [name for name in SPLIT_BATCHES[split] if name not in tree]
    if missing:
        raise DataNotFoundError(f"{source} lacks {', '.join(missing)}; the official python batches are "
                                f"data_batch_1..5 and test_batch")
    images, labels = [], []
    for name in SPLIT_BATCHES[split]:
        # The official format is pickle, which can run code: only point data.root at files you trust.
        batch = pickle.loads(_bytes(tree[name]), encoding="bytes")
        # Rows are 3072 bytes: the 32x32 red plane, then green, then blue (CHW) -> NHWC.
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return _checked(f"{source} {split}", np.concatenate(images), np.concatenate(labels))


def _read_image_folders(tree: Tree, split: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    by_class: dict[str, list[tuple[str, Path | bytes]]] = {}
    for name, file in tree.items():
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == split and parts[2].lower().endswith(IMAGE_SUFFIXES):
            by_class.setdefault(parts[1], []).append((name, file))
    if tuple(sorted(by_class)) != CLASSES:
        raise DataNotFoundError(f"{source}: {split}/ has images in class folders {sorted(by_class)}; expected the "
                                f"10 CIFAR-10 classes {list(CLASSES)}")
    files = [item for c in CLASSES for item in sorted(by_class[c], key=lambda item: item[0])]
    labels = np.repeat(np.arange(len(CLASSES), dtype=np.int64), [len(by_class[c]) for c in CLASSES])
    chunks = [files[i:i + 500] for i in range(0, len(files), 500)]
    decoded = []
    # 60k JPEGs take 15-30 s on one core here (0.25-0.5 ms each, mostly Pillow call overhead); 2 processes decode
    # 1.6x faster. Small folders decode in-process, where starting workers would cost more than it saves.
    use_pool = len(files) >= POOL_MIN_IMAGES and (os.cpu_count() or 1) > 1
    with multiprocessing.Pool(2) if use_pool else nullcontext() as pool, \
            tqdm(total=len(files), desc=f"decoding CIFAR-10 {split} images", unit="img") as bar:
        for images in (pool.imap if pool else map)(_decode_images, chunks):
            decoded.append(images)
            bar.update(len(images))
    images = np.concatenate(decoded) if decoded else np.zeros((0, 32, 32, 3), np.uint8)
    return _checked(f"{source} {split}", images, labels)


def _decode_images(files: list[tuple[str, Path | bytes]]) -> np.ndarray:
    from PIL import Image  # only image folders need Pillow

    out = np.empty((len(files), 32, 32, 3), np.uint8)
    for i, (name, file) in enumerate(files):
        with Image.open(io.BytesIO(file) if isinstance(file, bytes) else file) as im:
            if im.size != (32, 32):
                raise ValueError(f"{name} is {im.size[0]}x{im.size[1]}; CIFAR-10 images are 32x32")
            out[i] = np.asarray(im.convert("RGB"))
    return out


def _bytes(file: Path | bytes) -> bytes:
    return file if isinstance(file, bytes) else file.read_bytes()


def _checked(where: str, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(images) != len(labels) or ((labels < 0) | (labels >= len(CLASSES))).any():
        raise ValueError(f"{where}: {len(images)} images, {len(labels)} labels with values "
                         f"{sorted(set(labels.tolist()))[:12]}; expected one label in 0..9 per image")
    return np.ascontiguousarray(images), labels


def _save_atomic(path: Path, data: CIFAR10) -> None:
    # A temp file then a rename (respecting the umask): a crash or a concurrent run never leaves a half-written cache.
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, train_images=data.train_images, train_labels=data.train_labels,
                     test_images=data.test_images, test_labels=data.test_labels, source=np.str_(data.source))

    atomic_write(path, write)


# --- download ---------------------------------------------------------------------------------------------------

def _download_official(root: str | os.PathLike, cache: Path, download: Downloader) -> Path:
    archive = cache / "cifar-10-python.tar.gz"
    if archive.is_file():  # only ever renamed into place after its MD5 matched
        return archive

    def fetch_and_check(tmp: Path) -> None:
        download(URL, tmp)
        md5 = hashlib.md5(tmp.read_bytes()).hexdigest()
        if md5 != MD5:
            raise DataNotFoundError(f"downloaded {URL} has MD5 {md5}, expected {MD5}; deleted it: retry, or put "
                                    f"CIFAR-10 at data.root={str(root)!r}")
    try:
        atomic_write(archive, fetch_and_check)
    except OSError as e:  # urllib's URLError is an OSError: offline, DNS, HTTP errors, timeouts
        reason = " ".join(str(e).split())
        raise DataNotFoundError(f"data.root={str(root)!r} holds no CIFAR-10: {LAYOUTS_HINT}; "
                                f"download failed (offline? {reason})") from None
    return archive


def _fetch(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as f, \
            tqdm(total=int(response.headers.get("Content-Length") or 0) or None, unit="B", unit_scale=True,
                 desc=f"downloading {url}") as bar:
        while chunk := response.read(1 << 20):
            f.write(chunk)
            bar.update(len(chunk))


# --- synthetic data ---------------------------------------------------------------------------------------------

# Ten well-separated colours: the class of a synthetic image is its mean colour, which survives crop + flip.
_PALETTE = np.array([(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                     (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 0, 128)], dtype=np.float32)


def write_synthetic_cifar10(root: str | os.PathLike, n_train: int = 500, n_test: int = 100, seed: int = 0) -> Path:
    """Write a tiny learnable CIFAR-10 look-alike in the official python-batch format under root/cifar-10-batches-py.

    Each image is its class colour plus Gaussian noise (std 40), so a small net learns it in a few steps.
    Returns `root`, ready for load_cifar10.
    """
    rng = np.random.default_rng(seed)
    out = Path(root) / BATCHES_DIR
    out.mkdir(parents=True, exist_ok=True)

    def images_and_labels(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.permutation(np.arange(n) % len(CLASSES))
        images = _PALETTE[labels][:, None, None, :] + rng.normal(0, 40, (n, 32, 32, 3))
        return np.clip(images, 0, 255).round().astype(np.uint8), labels

    def write(name: str, title: str, images: np.ndarray, labels: np.ndarray) -> None:
        batch = {b"batch_label": title.encode(), b"labels": labels.tolist(),
                 b"data": images.transpose(0, 3, 1, 2).reshape(len(images), 3072),
                 b"filenames": [f"synthetic_{name}_{i:05d}.png".encode() for i in range(len(images))]}
        with open(out / name, "wb") as f:
            pickle.dump(batch, f)

    train_images, train_labels = images_and_labels(n_train)
    for i, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        write(f"data_batch_{i}", f"training batch {i} of 5", train_images[part], train_labels[part])
    write("test_batch", "testing batch 1 of 1", *images_and_labels(n_test))
    meta = {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": -(-n_train // 5), b"num_vis": 3072}
    with open(out / "batches.meta", "wb") as f:
        pickle.dump(meta, f)
    return Path(root)
