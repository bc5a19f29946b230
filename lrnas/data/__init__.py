"""CIFAR-10 for super-net training: readers + cache (cifar10.py) and on-device batches + augmentation (augment.py).

    >>> import tempfile, torch
    >>> from lrnas.data import DeviceBatches, load_cifar10, split_train, write_synthetic_cifar10
    >>> folder = tempfile.mkdtemp()
    >>> data = load_cifar10(write_synthetic_cifar10(f"{folder}/cifar"), cache_dir=f"{folder}/cache")
    >>> weight_indices, held_out_indices = split_train(len(data.train_labels), seed=0)
    >>> train = DeviceBatches(data.train_images, data.train_labels, weight_indices, device="cpu")
    >>> held_out = DeviceBatches(data.train_images, data.train_labels, held_out_indices, device="cpu")
    >>> g = torch.Generator().manual_seed(0)
    >>> images, labels = held_out.sample(64, g)  # a landmark batch
    >>> images.shape, train.num_batches(64)
    (torch.Size([64, 3, 32, 32]), 3)
"""
from lrnas.data.augment import MEAN, STD, DeviceBatches, random_crop_flip, to_float_normalized
from lrnas.data.cifar10 import (
    CIFAR10,
    CLASSES,
    DataNotFoundError,
    default_cache_dir,
    load_cifar10,
    random_subset,
    split_train,
    write_synthetic_cifar10,
)
from lrnas.data.load import data_identity, load_data, split_seed

__all__ = [
    "CIFAR10", "CLASSES", "MEAN", "STD", "DataNotFoundError", "DeviceBatches", "data_identity", "default_cache_dir",
    "load_cifar10", "split_seed",
    "load_data", "random_crop_flip", "random_subset", "split_train", "to_float_normalized", "write_synthetic_cifar10",
]
