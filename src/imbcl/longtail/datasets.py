"""Readers of labelled images: scikit-learn's bundled digits, CIFAR-10/100 from a local copy
of the python-format archive; a class-per-folder image tree (the ImageNet-LT layout) is read
in folders.py, and the data stage's manifest of source files made in manifest.py.

Each reader returns uint8 images (N, C, H, W) with int64 labels and the class names; the
long-tailed splits are built from them in `imbcl.longtail.splits`. Nothing is downloaded: a
missing or malformed path is an `InputError` naming it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imbcl.core.errors import InputError

IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
    ".tif",
    ".tiff",
    ".webp",
)


@dataclass
class Images:
    """Images (N, C, H, W) uint8 and labels (N,) int64."""

    x: np.ndarray
    y: np.ndarray

    def take(self, idx: np.ndarray) -> Images:
        return Images(self.x[idx], self.y[idx])


def read_digits() -> tuple[Images, list[str]]:
    """scikit-learn's bundled 8x8 digits (1797 images, pixel values 0..16), no download."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.round(d.images * (255 / 16)).astype(np.uint8)[:, None]  # (N, 1, 8, 8)
    return Images(x, d.target.astype(np.int64)), [str(c) for c in range(10)]


CIFAR_FILES = {
    "cifar10": (
        [f"data_batch_{i}" for i in range(1, 6)],
        ["test_batch"],
        b"labels",
        "batches.meta",
        b"label_names",
    ),
    "cifar100": (["train"], ["test"], b"fine_labels", "meta", b"fine_label_names"),
}
CIFAR_DIRS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise InputError(f"{path}: not a CIFAR python pickle ({err})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a pickled dict with b'data' and labels")
    return obj


def _labels(value: Any, n: int, n_classes: int, path: Path, key: bytes) -> np.ndarray:
    """(n,) int64 from a batch's label field: a list or 1-D array of integers in
    0..n_classes-1, one per image; anything else an InputError naming the file and key."""
    if not isinstance(value, list | tuple | np.ndarray):
        raise InputError(
            f"{path}: {key!r} is {type(value).__name__}; expected a list of {n} labels"
        )
    if any(isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer) for v in value):
        raise InputError(f"{path}: {key!r} holds non-integers; expected integer labels")
    y = np.asarray(value, dtype=np.int64)
    if y.ndim != 1 or len(y) != n:
        raise InputError(
            f"{path}: {key!r} holds {y.size} labels for {n} images; expected one per image"
        )
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(
            f"{path}: {key!r} holds labels {y.min()}..{y.max()}; expected 0..{n_classes - 1}"
        )
    return y


def _pixels(value: Any, path: Path) -> np.ndarray:
    """(N, 3, 32, 32) uint8 from a batch's b'data': an integer array (N, 3072), 0..255."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "ui":
        kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise InputError(f"{path}: b'data' is {kind}; expected a uint8 array (N, 3072)")
    if value.ndim != 2 or value.shape[1] != 3 * 32 * 32 or value.shape[0] == 0:
        raise InputError(f"{path}: b'data' has shape {value.shape}; expected (N, 3072), N > 0")
    if value.dtype != np.uint8 and (value.min() < 0 or value.max() > 255):
        raise InputError(
            f"{path}: b'data' holds pixel values {value.min()}..{value.max()}; expected 0..255"
        )
    return value.astype(np.uint8).reshape(-1, 3, 32, 32)


def _cifar_batches(root: Path, names: list[str], label_key: bytes, n_classes: int) -> Images:
    """Every field of each batch checked: b'data' (`_pixels`), the labels (`_labels`), and,
    where present, b'coarse_labels' (20 classes) and b'filenames' (one per image)."""
    xs, ys = [], []
    for name in names:
        path = root / name
        batch = _unpickle(path)
        if b"data" not in batch or label_key not in batch:
            raise InputError(f"{path}: expected keys b'data' and {label_key!r}")
        x = _pixels(batch[b"data"], path)
        ys.append(_labels(batch[label_key], len(x), n_classes, path, label_key))
        if b"coarse_labels" in batch:
            _labels(batch[b"coarse_labels"], len(x), 20, path, b"coarse_labels")
        names_field = batch.get(b"filenames")
        if names_field is not None and (
            not isinstance(names_field, list | tuple) or len(names_field) != len(x)
        ):
            raise InputError(f"{path}: b'filenames' does not hold one name per image")
        xs.append(x)
    return Images(np.concatenate(xs), np.concatenate(ys))


def read_cifar(root: str | Path, dataset: str) -> tuple[Images, Images, list[str]]:
    """Official train and test splits of the python-format CIFAR archive, already unpacked.

    `root` is the unpacked folder (cifar-10-batches-py / cifar-100-python) or its parent.
    Every field of every batch and of the meta file is checked; a bad one is an InputError
    naming the file.
    """
    train_names, test_names, label_key, meta_name, names_key = CIFAR_FILES[dataset]
    root = Path(root)
    if (root / CIFAR_DIRS[dataset]).is_dir():
        root = root / CIFAR_DIRS[dataset]
    expect = (
        f"the unpacked {dataset} python archive ({CIFAR_DIRS[dataset]}/ with "
        + ", ".join(train_names + test_names)
        + ")"
    )
    if not root.is_dir():
        raise InputError(f"real.root = {root}: not found; expected {expect}")
    missing = [n for n in train_names + test_names if not (root / n).is_file()]
    if missing:
        raise InputError(f"real.root = {root}: {missing[0]} is missing; expected {expect}")
    n_classes = 10 if dataset == "cifar10" else 100
    train = _cifar_batches(root, train_names, label_key, n_classes)
    test = _cifar_batches(root, test_names, label_key, n_classes)
    classes = [str(c) for c in range(n_classes)]
    meta = root / meta_name
    if meta.is_file():
        names = _unpickle(meta).get(names_key)
        if (
            not isinstance(names, list | tuple)
            or len(names) != n_classes
            or not all(isinstance(n, bytes | str) for n in names)
        ):
            raise InputError(f"{meta}: {names_key!r} is not a list of {n_classes} class names")
        classes = [n.decode() if isinstance(n, bytes) else n for n in names]
    return train, test, classes
