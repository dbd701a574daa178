"""Readers of labelled images: scikit-learn's bundled digits, CIFAR-10/100 from a local copy
of the python-format archive, or a class-per-folder image tree (the ImageNet-LT layout), with
optional `<relative path> <label>` split lists.

Each reader returns uint8 images (N, C, H, W) with int64 labels and the class names; the
long-tailed splits are built from them in `imbcl.longtail.splits`. Nothing is downloaded: a
missing or malformed path is an `InputError` naming it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imbcl.core.errors import InputError
from imbcl.longtail.params import RealParams

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".webp")


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


def _cifar_batches(root: Path, names: list[str], label_key: bytes) -> Images:
    xs, ys = [], []
    for name in names:
        path = root / name
        batch = _unpickle(path)
        if b"data" not in batch or label_key not in batch:
            raise InputError(f"{path}: expected keys b'data' and {label_key!r}")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise InputError(f"{path}: b'data' has shape {data.shape}; expected (N, 3072)")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[label_key], dtype=np.int64))
    return Images(np.concatenate(xs), np.concatenate(ys))


def read_cifar(root: str | Path, dataset: str) -> tuple[Images, Images, list[str]]:
    """Official train and test splits of the python-format CIFAR archive, already unpacked.

    `root` is the unpacked folder (cifar-10-batches-py / cifar-100-python) or its parent.
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
    train = _cifar_batches(root, train_names, label_key)
    test = _cifar_batches(root, test_names, label_key)
    n_classes = 10 if dataset == "cifar10" else 100
    classes = [str(c) for c in range(n_classes)]
    if (root / meta_name).is_file():
        names = _unpickle(root / meta_name).get(names_key)
        if names and len(names) == n_classes:
            classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    for part, name in ((train, "training"), (test, "test")):
        if part.y.min() < 0 or part.y.max() >= n_classes:
            raise InputError(f"real.root = {root}: {name} labels outside 0..{n_classes - 1}")
    return train, test, classes


def _load_image(path: Path, side: int, mode: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            resized = opened.convert(mode).resize((side, side), Image.Resampling.BILINEAR)
            arr = np.asarray(resized, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise InputError(f"{path}: not a readable image ({err})") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, side, side)


def _read_list(path: Path, root: Path) -> list[tuple[Path, int]]:
    if not path.is_file():
        raise InputError(f"{path}: not found; expected a split list of '<relative path> <label>'")
    items = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise InputError(f"{path}:{n}: expected '<relative path> <integer label>'")
        items.append((root / parts[0], int(parts[1])))
    if not items:
        raise InputError(f"{path}: empty; expected lines '<relative path> <label>'")
    return items


def read_imagefolder(cfg: RealParams) -> tuple[Images, Images | None, list[str]]:
    """root/<class>/<image>; classes are the sorted folder names, labels their index.

    With `real.train_list` / `real.test_list` (ImageNet-LT's `<relative path> <label>` lists,
    paths relative to root) those lists define the splits instead of the folder walk.
    """
    root = Path(cfg.root)
    if not root.is_dir():
        raise InputError(
            f"real.root = {root}: not found; expected a folder with one "
            "sub-folder of images per class"
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    mode = "RGB"
    if cfg.train_list:
        items = _read_list(Path(cfg.train_list), root)
        n_classes = max(label for _, label in items) + 1
        classes = classes if len(classes) == n_classes else [str(c) for c in range(n_classes)]
    else:
        if not classes:
            raise InputError(f"real.root = {root}: no class folders; expected root/<class>/<image>")
        items = [
            (f, c)
            for c, name in enumerate(classes)
            for f in sorted((root / name).iterdir())
            if f.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not items:
            raise InputError(f"real.root = {root}: no images ({', '.join(IMAGE_SUFFIXES)})")

    def load(pairs: list[tuple[Path, int]]) -> Images:
        x = np.stack([_load_image(p, cfg.image_side, mode) for p, _ in pairs])
        return Images(x, np.array([label for _, label in pairs], dtype=np.int64))

    test = load(_read_list(Path(cfg.test_list), root)) if cfg.test_list else None
    return load(items), test, classes
