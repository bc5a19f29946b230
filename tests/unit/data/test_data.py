"""CIFAR-10 data layer: readers, archives, cache, download errors, split, augmentation, device batches."""
import hashlib
import io
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lrnas.data import (
    CLASSES,
    MEAN,
    STD,
    DataNotFoundError,
    DeviceBatches,
    cifar10,
    load_cifar10,
    random_crop_flip,
    random_subset,
    split_train,
    to_float_normalized,
    write_synthetic_cifar10,
)


def write_image_folders(root: Path, per_class: int = 2, classes=CLASSES) -> Path:
    """train/<class>/NNNN.png and test/<class>/NNNN.png; pixel (0,0) = (label, file index, 7) to tell them apart."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label, name in enumerate(classes):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                image[0, 0] = (label, i, 7)
                Image.fromarray(image).save(root / split / name / f"{i:04d}.png")
    return root


def tar_gz(folder: Path, archive: Path, prefix: str = "") -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        for child in sorted(folder.iterdir()):
            tar.add(child, arcname=prefix + child.name)
    return archive


def offline(url, dest):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


# --- python batches ----------------------------------------------------------------------------------------------

def test_python_batches_shapes_labels_and_pixel_layout(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "data", n_train=53, n_test=17, seed=1)
    batch_file = root / "cifar-10-batches-py" / "data_batch_1"
    batch = pickle.loads(batch_file.read_bytes())
    batch[b"data"][0, 2 * 1024 + 5 * 32 + 7] = 201  # channel 2 (blue), row 5, column 7 of the first image
    batch[b"data"][0, 0 * 1024 + 31 * 32 + 0] = 3  # red, row 31, column 0
    batch_file.write_bytes(pickle.dumps(batch))

    data = load_cifar10(root, cache_dir=tmp_path / "cache")
    assert data.train_images.shape == (53, 32, 32, 3) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (17, 32, 32, 3) and data.test_labels.shape == (17,)
    assert data.train_labels.dtype == np.int64 and data.test_labels.dtype == np.int64
    assert data.train_images[0, 5, 7, 2] == 201 and data.train_images[0, 31, 0, 0] == 3
    assert data.train_labels[: len(batch[b"labels"])].tolist() == batch[b"labels"]
    assert set(data.train_labels.tolist()) == set(range(10))
    assert data.source.startswith("python-batches:")

    same = load_cifar10(root / "cifar-10-batches-py", cache_dir=tmp_path / "cache2")  # the batches folder itself
    np.testing.assert_array_equal(same.train_images, data.train_images)


def test_synthetic_labels_are_learnable(tmp_path):
    data = load_cifar10(write_synthetic_cifar10(tmp_path, n_train=500, n_test=200), cache_dir=tmp_path / "c")
    train_colour, test_colour = data.train_images.mean(axis=(1, 2)), data.test_images.mean(axis=(1, 2))
    centroids = np.stack([train_colour[data.train_labels == k].mean(0) for k in range(10)])
    predicted = np.linalg.norm(test_colour[:, None] - centroids[None], axis=2).argmin(1)
    assert (predicted == data.test_labels).mean() > 0.95


def test_missing_batch_file_is_a_one_line_error(tmp_path):
    root = write_synthetic_cifar10(tmp_path / "data", n_train=10, n_test=10)
    (root / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataNotFoundError, match="lacks data_batch_4"):
        load_cifar10(root, cache_dir=tmp_path / "cache", download=offline)


class Python2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote for the official batches (protocol 2): every str, dict keys included,
    is a py2 byte string (SHORT_BINSTRING/BINSTRING), and numpy's globals are spelt ``numpy.core.*``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("ascii")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + len(data).to_bytes(4, "little") + data)
        self.memoize(obj)

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", "") or ""
        if not module.startswith("numpy._core"):
            return super().save_global(obj, name)
        module = "numpy.core" + module[len("numpy._core"):]
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = dispatch[str] = save_py2_str
    dispatch[type] = save_global


def write_python2_batches(root: Path, per_batch: int = 4, n_test: int = 3) -> tuple[np.ndarray, ...]:
    """The official cifar-10-batches-py/ layout as Python 2 wrote it; returns the NHWC images and labels written."""
    rng = np.random.default_rng(7)
    out = root / "cifar-10-batches-py"
    out.mkdir(parents=True)

    def dump(name, obj):
        with open(out / name, "wb") as f:
            Python2Pickler(f, protocol=2).dump(obj)

    def batch(name, title, n, first_label):
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        images[:, 0, 0] = 200  # bytes >= 0x80 in the raw data: undecodable as ASCII, as in the real files
        labels = [(first_label + i) % 10 for i in range(n)]
        dump(name, {b"batch_label": title.encode(), b"labels": labels,
                    b"data": images.transpose(0, 3, 1, 2).reshape(n, 3072),  # uint8 rows: R plane, G, B
                    b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]})
        return images, labels

    train = [batch(f"data_batch_{i}", f"training batch {i} of 5", per_batch, i) for i in range(1, 6)]
    test_images, test_labels = batch("test_batch", "testing batch 1 of 1", n_test, 0)
    dump("batches.meta", {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": per_batch,
                          b"num_vis": 3072})
    return (np.concatenate([im for im, _ in train]), np.concatenate([lab for _, lab in train]),
            test_images, np.array(test_labels))


def test_official_python2_pickled_batches_with_byte_keys_load(tmp_path):
    train_images, train_labels, test_images, test_labels = write_python2_batches(tmp_path / "data")
    raw = (tmp_path / "data" / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    assert raw[:2] == b"\x80\x02" and pickle.SHORT_BINSTRING + b"\x04data" in raw  # protocol 2, py2 str keys
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(raw)  # what a reader without encoding="bytes" hits on the real files
    data = load_cifar10(tmp_path / "data", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(data.train_images, train_images)
    np.testing.assert_array_equal(data.train_labels, train_labels)
    np.testing.assert_array_equal(data.test_images, test_images)
    np.testing.assert_array_equal(data.test_labels, test_labels)
    assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int64
    assert data.source.startswith("python-batches:")


# --- image folders -----------------------------------------------------------------------------------------------

def test_image_folders_label_order_is_sorted_class_names(tmp_path):
    data = load_cifar10(write_image_folders(tmp_path / "img", per_class=3), cache_dir=tmp_path / "cache")
    assert data.train_images.shape == (30, 32, 32, 3) and data.test_images.shape == (30, 32, 32, 3)
    assert data.train_labels.tolist() == [k for k in range(10) for _ in range(3)]
    # Pixel (0,0) encodes (label, file index): PNG is lossless, so it must come back exactly.
    np.testing.assert_array_equal(data.train_images[:, 0, 0, 0], data.train_labels)
    np.testing.assert_array_equal(data.test_images[:, 0, 0, 1], np.tile(np.arange(3), 10))
    assert data.source.startswith("image-folder:")


def test_image_folders_decode_the_same_in_worker_processes(tmp_path, monkeypatch):
    root = write_image_folders(tmp_path / "img", per_class=3)
    in_process = load_cifar10(root, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(cifar10, "POOL_MIN_IMAGES", 1)
    in_pool = load_cifar10(root, cache_dir=tmp_path / "cache-pool")
    np.testing.assert_array_equal(in_pool.train_images, in_process.train_images)
    np.testing.assert_array_equal(in_pool.test_labels, in_process.test_labels)


def test_jpeg_image_folders_decode_like_the_real_copy(tmp_path):
    # The only real copy here is train/<class>/*.jpg + test/<class>/*.jpg. A flat colour survives JPEG (quality 100,
    # no chroma subsampling) to within a few levels; the colour encodes (label, file index).
    def colour(label, i):
        return (20 + 23 * label, 40 + 60 * i, 230 - 20 * label)

    for split, per_class in (("train", 3), ("test", 2)):
        for label, name in enumerate(CLASSES):
            (tmp_path / "jpg" / split / name).mkdir(parents=True)
            for i in range(per_class):
                image = Image.new("RGB", (32, 32), colour(label, i))
                suffix = ".jpeg" if (label, i) == (9, 1) else ".JPG" if label == 3 else ".jpg"  # all three spellings
                image.save(tmp_path / "jpg" / split / name / f"{i:04d}{suffix}",
                           format="JPEG", quality=100, subsampling=0)
    data = load_cifar10(tmp_path / "jpg", cache_dir=tmp_path / "cache")
    assert data.source.startswith("image-folder:")
    splits = ((data.train_images, data.train_labels, 3), (data.test_images, data.test_labels, 2))
    for images, labels, per_class in splits:
        assert images.shape == (10 * per_class, 32, 32, 3) and images.dtype == np.uint8
        assert labels.tolist() == [k for k in range(10) for _ in range(per_class)]
        expected = np.array([colour(k, i) for k in range(10) for i in range(per_class)], dtype=np.int64)
        error = np.abs(images.astype(np.int64) - expected[:, None, None, :])
        assert error.max() <= 3, error.max()


class ReversingPool:
    """Stands in for multiprocessing.Pool: results in order from map/imap, in reverse order from imap_unordered
    (a legal order for a real pool, whose workers finish when they finish)."""

    def __init__(self, processes=None, *args, **kwargs):
        self.calls = []  # the chunks handed over, one list per map/imap call

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, func, iterable, chunksize=None):
        self.calls.append(list(iterable))
        return [func(item) for item in self.calls[-1]]

    imap = map

    def imap_unordered(self, func, iterable, chunksize=None):
        return self.map(func, iterable)[::-1]


def test_image_folders_keep_images_matched_to_labels_when_worker_results_arrive_out_of_order(tmp_path, monkeypatch):
    # 51 images per class in train: 510 files, more than one decoding chunk, so chunk order matters.
    per_class = {"train": 51, "test": 2}
    for split, n in per_class.items():
        for label, name in enumerate(CLASSES):
            (tmp_path / "img" / split / name).mkdir(parents=True)
            for i in range(n):
                image = np.zeros((32, 32, 3), np.uint8)
                image[0, 0] = (label, i, 7)
                Image.fromarray(image).save(tmp_path / "img" / split / name / f"{i:04d}.png")
    pools = []
    monkeypatch.setattr(cifar10, "POOL_MIN_IMAGES", 1)
    monkeypatch.setattr(cifar10.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(cifar10.multiprocessing, "Pool", lambda *a, **k: pools.append(ReversingPool()) or pools[-1])
    data = load_cifar10(tmp_path / "img", cache_dir=tmp_path / "cache")
    assert max(len(chunks) for pool in pools for chunks in pool.calls) > 1, "train/ was decoded in one chunk"
    for images, labels, n in ((data.train_images, data.train_labels, 51), (data.test_images, data.test_labels, 2)):
        assert labels.tolist() == [k for k in range(10) for _ in range(n)]
        np.testing.assert_array_equal(images[:, 0, 0, 0], labels)  # each image's own label
        np.testing.assert_array_equal(images[:, 0, 0, 1], np.tile(np.arange(n), 10))  # and its own file


@pytest.mark.parametrize("classes", [CLASSES[:9], ("plane",) + CLASSES[1:]])
def test_image_folders_with_wrong_classes_are_rejected(tmp_path, classes):
    root = write_image_folders(tmp_path / "img", per_class=1, classes=classes)
    with pytest.raises(DataNotFoundError, match="expected the 10 CIFAR-10 classes"):
        load_cifar10(root, cache_dir=tmp_path / "cache")


# --- archives ----------------------------------------------------------------------------------------------------

def test_tar_gz_of_either_layout_matches_the_folder(tmp_path):
    batches = write_synthetic_cifar10(tmp_path / "batches", n_train=20, n_test=10)
    folders = write_image_folders(tmp_path / "folders")
    cases = [(batches, tmp_path / "cifar-10-python.tar.gz", ""), (folders, tmp_path / "jpg.tar.gz", ""),
             (folders, tmp_path / "wrapped.tgz", "cifar10_png/")]  # one wrapping folder, as `tar czf x.tgz dir/` makes
    for folder, archive, prefix in cases:
        cache = tmp_path / f"cache-{archive.name}"
        from_archive = load_cifar10(tar_gz(folder, archive, prefix), cache_dir=cache)
        from_folder = load_cifar10(folder, cache_dir=tmp_path / "cache-folder")
        np.testing.assert_array_equal(from_archive.train_images, from_folder.train_images)
        np.testing.assert_array_equal(from_archive.test_labels, from_folder.test_labels)
        assert from_archive.source.endswith(str(archive))
        assert [p.suffix for p in cache.iterdir()] == [".npz"]  # nothing unpacked to disk, only the cache


def test_archive_without_cifar_or_unreadable_is_a_one_line_error(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    with pytest.raises(DataNotFoundError, match="is an archive with no CIFAR-10 inside"):
        load_cifar10(tar_gz(tmp_path / "notes", tmp_path / "notes.tar.gz"), cache_dir=tmp_path / "cache")
    (tmp_path / "broken.tar.gz").write_bytes(b"not a gzip file")
    with pytest.raises(DataNotFoundError, match="is not a readable .tar.gz"):
        load_cifar10(tmp_path / "broken.tar.gz", cache_dir=tmp_path / "cache")


def test_archive_member_escaping_the_target_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ValueError, match="unsafe to unpack: member '../escaped.txt'"):
        load_cifar10(archive, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "escaped.txt").exists()


# --- cache -------------------------------------------------------------------------------------------------------

def test_second_load_comes_from_the_cache_until_the_files_change(tmp_path, monkeypatch):
    root = write_synthetic_cifar10(tmp_path / "data", n_train=20, n_test=10)
    first = load_cifar10(root, cache_dir=tmp_path / "cache")

    def must_not_decode(*args):
        raise AssertionError("decoded again instead of using the cache")

    monkeypatch.setattr(cifar10, "_read_python_batches", must_not_decode)
    second = load_cifar10(root, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(second.train_images, first.train_images)
    assert second.source == first.source

    write_synthetic_cifar10(tmp_path / "data", n_train=20, n_test=10, seed=5)  # new sizes/mtimes: a new key
    with pytest.raises(AssertionError, match="decoded again"):
        load_cifar10(root, cache_dir=tmp_path / "cache")


def test_image_folder_cache_and_default_cache_dir(tmp_path, monkeypatch, isolated_cache):
    root = write_image_folders(tmp_path / "img")
    first = load_cifar10(root)  # cache_dir=None -> $LRNAS_CACHE
    assert len(list(isolated_cache.glob("cifar10-*.npz"))) == 1
    monkeypatch.setattr(cifar10, "_read_image_folders", lambda *a: pytest.fail("decoded again"))
    np.testing.assert_array_equal(load_cifar10(root).test_images, first.test_images)


# --- download ----------------------------------------------------------------------------------------------------

def test_offline_without_data_is_one_line_naming_root_and_layouts(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        load_cifar10(tmp_path / "nowhere", cache_dir=tmp_path / "cache", download=offline)
    message = str(err.value)
    assert "\n" not in message and isinstance(err.value, ValueError)
    assert f"data.root={str(tmp_path / 'nowhere')!r}" in message
    assert "cifar-10-batches-py/" in message and "train/<class>/" in message and "download failed" in message


def test_download_with_bad_md5_is_deleted(tmp_path):
    def corrupt(url, dest):
        Path(dest).write_bytes(b"not cifar")

    with pytest.raises(DataNotFoundError, match="MD5"):
        load_cifar10(tmp_path / "empty", cache_dir=tmp_path / "cache", download=corrupt)
    assert list((tmp_path / "cache").iterdir()) == []


def test_download_is_verified_kept_and_reused(tmp_path, monkeypatch):
    archive = tar_gz(write_synthetic_cifar10(tmp_path / "src", n_train=20, n_test=10), tmp_path / "official.tar.gz")
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    urls = []

    def fake(url, dest):
        urls.append(url)
        Path(dest).write_bytes(archive.read_bytes())

    data = load_cifar10(tmp_path / "empty", cache_dir=tmp_path / "cache", download=fake)
    assert urls == [cifar10.URL] and data.train_images.shape == (20, 32, 32, 3)
    assert (tmp_path / "cache" / "cifar-10-python.tar.gz").is_file()
    again = load_cifar10(tmp_path / "empty", cache_dir=tmp_path / "cache", download=offline)
    np.testing.assert_array_equal(again.train_images, data.train_images)


# --- split -------------------------------------------------------------------------------------------------------

def test_split_is_seeded_disjoint_and_complete():
    weights, held_out = split_train(11, seed=3)
    assert len(weights) == 6 and len(held_out) == 5
    assert sorted(np.concatenate([weights, held_out]).tolist()) == list(range(11))
    again_w, again_h = split_train(11, seed=3)
    np.testing.assert_array_equal(again_w, weights)
    np.testing.assert_array_equal(again_h, held_out)
    assert not np.array_equal(split_train(1000, seed=0)[0], split_train(1000, seed=1)[0])


# --- augmentation ------------------------------------------------------------------------------------------------

def test_to_float_normalized_values_and_layout():
    images = torch.zeros(2, 32, 32, 3, dtype=torch.uint8)
    images[1] = 255
    x = to_float_normalized(images)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last)
    for c in range(3):
        assert torch.allclose(x[0, c], torch.tensor(-MEAN[c] / STD[c]))
        assert torch.allclose(x[1, c], torch.tensor((1 - MEAN[c]) / STD[c]))
    with pytest.raises(ValueError, match="uint8 NHWC"):
        to_float_normalized(images.float())


def crop_offsets(image: np.ndarray, crop: np.ndarray, padding: int) -> list[tuple[int, int, int]]:
    """Every (dy, dx, flipped) for which `crop` is that window of the zero-padded `image`."""
    padded = np.pad(image, ((padding, padding), (padding, padding), (0, 0)))
    found = []
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            window = padded[dy:dy + 32, dx:dx + 32]
            for flip, candidate in ((0, window), (1, window[:, ::-1])):
                if np.array_equal(candidate, crop):
                    found.append((dy, dx, flip))
    return found


def test_flip_without_padding_gives_the_image_or_its_mirror():
    images = torch.randint(0, 256, (64, 32, 32, 3), dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(0), padding=0)
    assert out.shape == images.shape and out.dtype == torch.uint8
    same = (out == images).flatten(1).all(1)
    mirrored = (out == images.flip(2)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()


def test_crop_with_padding_shifts_content_and_fills_zeros():
    images = torch.randint(1, 256, (32, 32, 32, 3), dtype=torch.uint8)  # no zeros, so padding is recognisable
    out = random_crop_flip(images, torch.Generator().manual_seed(1), padding=4).numpy()
    offsets = []
    for image, crop in zip(images.numpy(), out, strict=True):
        found = crop_offsets(image, crop, padding=4)
        assert len(found) == 1, "output is not a crop of its zero-padded input (or its mirror)"
        offsets += found
    dy, dx, flipped = map(set, zip(*offsets, strict=True))
    assert len(dy) > 3 and len(dx) > 3 and flipped == {0, 1}  # offsets vary per image
    assert any(y != x for y, x, _ in offsets) and (out == 0).any()  # rows and columns shift independently into padding


# --- device batches ----------------------------------------------------------------------------------------------

def test_device_batches_epoch_is_seeded_and_covers_the_indices():
    images = np.repeat(np.arange(40, dtype=np.uint8), 32 * 32 * 3).reshape(40, 32, 32, 3)  # image i is all i
    labels = np.arange(40) % 10
    indices = np.arange(0, 40, 2)
    batches = DeviceBatches(images, labels, indices, device="cpu")
    assert len(batches) == 20 and batches.num_batches(6) == 3 and batches.num_batches(6, drop_last=False) == 4

    def epoch(seed, **kw):
        return list(batches.iterate(6, torch.Generator().manual_seed(seed), **kw))

    first, again, other = epoch(0), epoch(0), epoch(1)
    assert len(first) == 3
    for (x, y), (x2, y2) in zip(first, again, strict=True):
        assert x.shape == (6, 3, 32, 32) and x.is_contiguous(memory_format=torch.channels_last)
        assert y.dtype == torch.int64 and torch.equal(x, x2) and torch.equal(y, y2)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, other, strict=True))

    plain = epoch(0, augment=False, drop_last=False)
    shown = torch.cat([x[:, 0, 0, 0] for x, _ in plain])
    ids = torch.round((shown * STD[0] + MEAN[0]) * 255).long()  # undo normalisation: the image's own index
    assert sorted(ids.tolist()) == indices.tolist()
    assert torch.equal(torch.cat([y for _, y in plain]), torch.from_numpy(labels[ids.numpy()]))


def test_device_batches_sample_draws_distinct_images():
    images = np.repeat(np.arange(10, dtype=np.uint8), 32 * 32 * 3).reshape(10, 32, 32, 3)
    batches = DeviceBatches(images, np.arange(10), device="cpu")
    x, y = batches.sample(10, torch.Generator().manual_seed(0), augment=False)
    assert sorted(y.tolist()) == list(range(10)) and x.shape == (10, 3, 32, 32)
    _, y_again = batches.sample(10, torch.Generator().manual_seed(0))
    assert torch.equal(y, y_again)
    with pytest.raises(ValueError, match="batch_size=11"):
        batches.sample(11, torch.Generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_device_batches_on_gpu_match_cpu_for_the_same_seed():
    images = np.random.default_rng(0).integers(0, 256, (100, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(100) % 10
    cpu, gpu = (DeviceBatches(images, labels, device=device) for device in ("cpu", "cuda"))
    epochs = [b.iterate(16, torch.Generator().manual_seed(0)) for b in (cpu, gpu)]
    for (x, y), (x_gpu, y_gpu) in zip(*epochs, strict=True):
        assert x_gpu.is_cuda and x_gpu.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(x_gpu.cpu(), x)
        assert torch.equal(y_gpu.cpu(), y)
    x, y = cpu.sample(32, torch.Generator().manual_seed(1))
    x_gpu, y_gpu = gpu.sample(32, torch.Generator().manual_seed(1))
    torch.testing.assert_close(x_gpu.cpu(), x)
    assert torch.equal(y_gpu.cpu(), y)


def test_split_halves_and_subsets_mix_classes_even_when_the_layout_is_class_sorted():
    # Image folders are read class by class: any prefix used for training or scoring must still hold every class.
    labels = np.repeat(np.arange(10), 100)
    weights, held_out = split_train(len(labels), seed=0)
    for prefix in (weights[:100], held_out[:100], random_subset(len(labels), 100, seed=0)):
        assert len(set(labels[prefix].tolist())) == 10
    subset = random_subset(1000, 200, seed=4)
    assert len(set(subset.tolist())) == 200 and np.array_equal(subset, random_subset(1000, 200, seed=4))


def test_a_null_split_seed_is_each_runs_seed():
    """data.split_seed=null draws the weights / held-out split from the run's seed, as the authors' loader."""
    from conftest import compose_config

    from lrnas.data import split_seed

    assert split_seed(compose_config("seed=3", "data.split_seed=null")) == 3
    assert split_seed(compose_config("seed=3")) == 0


def test_every_spelling_of_one_data_root_is_one_identity(tmp_path, monkeypatch):
    """The proxy cache is keyed by data_identity: a relative path, a path through '..', a symlink and a path under
    '~' to the same archive are the same images, so they must not score the same sample twice."""
    from omegaconf import OmegaConf

    from lrnas.data import data_identity

    archive = tmp_path / "data" / "cifar10.tar.gz"
    archive.parent.mkdir()
    archive.touch()
    (tmp_path / "link").symlink_to(archive.parent)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(tmp_path))
    spellings = [str(archive), "../data/cifar10.tar.gz", str(tmp_path / "work" / ".." / "link" / "cifar10.tar.gz"),
                 "~/data/cifar10.tar.gz"]
    identities = {data_identity(OmegaConf.create({"root": root, "synthetic": None})) for root in spellings}
    assert identities == {str(archive.resolve())}
