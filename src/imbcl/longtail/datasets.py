"""Readers of labelled images: scikit-learn's bundled digits, CIFAR-10/100 from a local copy
of the python-format archive, or a class-per-folder image tree (the ImageNet-LT layout), with
optional `<relative path> <label>` split lists.

Each reader returns uint8 images (N, C, H, W) with int64 labels and the class names; the
long-tailed splits are built from them in `imbcl.longtail.splits`. Nothing is downloaded: a
missing or malformed path is an `InputError` naming it.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from imbcl.core.errors import InputError
from imbcl.longtail.params import RealParams

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


# --- image folders ----------------------------------------------------------------------------
#
# Hidden entries (names starting with '.': .ipynb_checkpoints/, .DS_Store, ._x.png) are never
# read: not as class folders, not as images, and a split list naming one is refused. Files
# whose suffix is not an image suffix are skipped in the folder walk (README.txt, Thumbs.db).


def hidden(name: str) -> bool:
    """True for a dot-name (a hidden file or folder), which no reader takes as data."""
    return name.startswith(".")


def _int_top(img: Any, path: Path) -> int:
    """The largest value of a mode-I image's format: 16-bit PGM/PPM (Pillow scales to
    65535) or an unsigned integer TIFF (2^bits - 1); anything else has no known range."""
    if img.format == "PPM":
        return 65535
    if img.format == "TIFF":
        bits = img.tag_v2.get(258, (0,))
        bits = bits[0] if isinstance(bits, tuple) else bits
        if img.tag_v2.get(339, (1,))[0] == 1 and bits in (8, 16, 32):  # unsigned integers
            return 2 ** int(bits) - 1
    raise InputError(
        f"{path}: {img.format} image of mode I (signed or 32-bit integers) has no known "
        "value range; expected 8- or 16-bit unsigned pixels"
    )


def _unit_pixels(img: Any, path: Path) -> np.ndarray:
    """(H, W, 3) float64 in [0, 1]: every mode scaled by its own range.

    8-bit modes (1, L, P, RGB, CMYK, YCbCr, ...) through Pillow's conversion to RGB, 16-bit
    grayscale (I;16*) by 65535, mode I by its format's range (`_int_top`). Alpha is dropped
    (the colour channels as stored, torchvision's convention); float images (F) are refused,
    their range being unknown.
    """
    mode = img.mode
    if mode.startswith("I;16"):
        gray = np.asarray(img).astype(np.float64) / 65535
    elif mode == "I":
        gray = np.asarray(img).astype(np.float64) / _int_top(img, path)
        if gray.min() < 0 or gray.max() > 1:
            raise InputError(f"{path}: pixel values outside the range of its format")
    elif mode == "F":
        raise InputError(
            f"{path}: mode F (floating-point pixels) has no fixed value range; "
            "expected 8- or 16-bit integer pixels"
        )
    else:
        try:
            rgb = img.convert("RGBA" if mode in ("P", "PA") else "RGB").convert("RGB")
        except (ValueError, OSError) as err:
            raise InputError(f"{path}: image mode {mode} cannot be read as RGB ({err})") from None
        return np.asarray(rgb).astype(np.float64) / 255
    return np.repeat(gray[:, :, None], 3, axis=2)


def _load_image(path: Path, side: int) -> np.ndarray:
    """(3, side, side) uint8: the image in its own range, resized bilinearly in floating point
    (EXIF orientation applied), then rounded to 8 bits."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.load()
            ImageOps.exif_transpose(opened, in_place=True)  # keeps the format, for mode I
            unit = _unit_pixels(opened, path)  # (H, W, 3) in [0, 1]
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError) as err:
        raise InputError(f"{path}: not a readable image ({err})") from None
    channels = [
        np.asarray(
            Image.fromarray(unit[:, :, c].astype(np.float32)).resize(
                (side, side), Image.Resampling.BILINEAR
            )
        )
        for c in range(3)
    ]
    out = np.round(np.clip(np.stack(channels), 0.0, 1.0) * 255)
    return out.astype(np.uint8)  # (3, side, side)


_LABEL = re.compile(r"[0-9]+")


def read_list(path: Path, root: Path, n_classes: int | None = None) -> list[tuple[Path, int]]:
    """The `<relative path> <label>` lines of a split list, checked line by line.

    Blank lines are skipped, a path may hold spaces (the label is the last field), a UTF-8
    byte-order mark and CRLF line ends are accepted. Refused with `list:line`: a line without
    a label, a label that is not a non-negative decimal integer, or (with `n_classes`, for a
    test list) outside the training classes 0..n_classes-1; a path that is absolute, leaves
    real.root (..), passes through a hidden entry, is not a file under real.root, or is
    listed twice.
    """
    if not path.is_file():
        raise InputError(f"{path}: not found; expected a split list of '<relative path> <label>'")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    items: list[tuple[Path, int]] = []
    seen: dict[PurePosixPath, int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        where = f"{path}:{n}"
        if not line.strip():
            continue
        parts = line.strip().rsplit(None, 1)
        if len(parts) != 2 or not _LABEL.fullmatch(parts[1]):
            raise InputError(f"{where}: expected '<relative path> <integer label>'")
        rel, label = PurePosixPath(parts[0]), int(parts[1])
        if n_classes is not None and label >= n_classes:
            raise InputError(
                f"{where}: label {label} is outside the training classes 0..{n_classes - 1}"
            )
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"{where}: {rel} is not a path inside real.root = {root}")
        hidden_parts = [p for p in rel.parts if hidden(p)]
        if hidden_parts:
            raise InputError(
                f"{where}: {rel} passes through the hidden entry {hidden_parts[0]}; "
                "hidden files and folders are not read"
            )
        if not (root / rel).is_file():
            raise InputError(f"{where}: {rel} is not a file under real.root = {root}")
        if rel in seen:
            raise InputError(f"{where}: {rel} is listed again (first at line {seen[rel]})")
        seen[rel] = n
        items.append((root / rel, label))
    if not items:
        raise InputError(f"{path}: empty; expected lines '<relative path> <label>'")
    return items


def class_folders(root: Path) -> list[str]:
    """The visible sub-folders of root, sorted: the class names."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not hidden(p.name))


def folder_images(folder: Path) -> list[Path]:
    """The visible image files of one class folder, sorted by name."""
    return sorted(
        f
        for f in folder.iterdir()
        if not hidden(f.name) and f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
    )


def read_imagefolder(cfg: RealParams) -> tuple[Images, Images | None, list[str]]:
    """root/<class>/<image>; classes are the sorted visible folder names, labels their index.

    With `real.train_list` / `real.test_list` (ImageNet-LT's `<relative path> <label>` lists,
    paths relative to root) those lists define the splits instead of the folder walk.
    """
    root = Path(cfg.root)
    if not root.is_dir():
        raise InputError(
            f"real.root = {root}: not found; expected a folder with one "
            "sub-folder of images per class"
        )
    classes = class_folders(root)
    if cfg.train_list:
        items = read_list(Path(cfg.train_list), root)
        n_classes = max(label for _, label in items) + 1
        absent = sorted(set(range(n_classes)) - {label for _, label in items})
        if absent:
            raise InputError(
                f"{cfg.train_list}: no image of label {absent[0]}; expected every label "
                f"0..{n_classes - 1} at least once"
            )
        classes = classes if len(classes) == n_classes else [str(c) for c in range(n_classes)]
    else:
        if not classes:
            raise InputError(f"real.root = {root}: no class folders; expected root/<class>/<image>")
        found = {name: folder_images(root / name) for name in classes}
        empty = [name for name in classes if not found[name]]
        if empty:
            raise InputError(
                f"real.root = {root}: class folder(s) {', '.join(empty[:5])} hold no images "
                f"({', '.join(IMAGE_SUFFIXES)}); expected at least one per class"
            )
        items = [(f, c) for c, name in enumerate(classes) for f in found[name]]

    def load(pairs: list[tuple[Path, int]]) -> Images:
        x = np.stack([_load_image(p, cfg.image_side) for p, _ in pairs])
        return Images(x, np.array([label for _, label in pairs], dtype=np.int64))

    test = None
    if cfg.test_list:
        test_items = read_list(Path(cfg.test_list), root, n_classes=len(classes))
        both = sorted({p for p, _ in items} & {p for p, _ in test_items})
        if both:
            raise InputError(
                f"{cfg.test_list}: {both[0].relative_to(root)} is in the training list too; "
                "expected disjoint splits"
            )
        test = load(test_items)
    return load(items), test, classes


# --- what the data stage reads: a manifest DVC can watch --------------------------------------


def source_files(cfg: RealParams) -> tuple[Path, list[Path]]:
    """(base, files): every file the reader of `cfg.dataset` takes its images from (and the
    split lists), in reading order; base is the folder their names are written relative to."""
    if cfg.dataset == "digits":
        from importlib.resources import files

        bundled = Path(str(files("sklearn.datasets.data") / "digits.csv.gz"))
        return bundled.parent, [bundled]
    root = Path(cfg.root)
    if cfg.dataset in CIFAR_DIRS:
        train_names, test_names, _, meta_name, _ = CIFAR_FILES[cfg.dataset]
        if (root / CIFAR_DIRS[cfg.dataset]).is_dir():
            root = root / CIFAR_DIRS[cfg.dataset]
        names = [n for n in [*train_names, *test_names, meta_name] if (root / n).is_file()]
        if len(names) < len(train_names) + len(test_names):
            read_cifar(root, cfg.dataset)  # raises, naming the missing file
        return root, [root / n for n in names]
    if not root.is_dir():
        read_imagefolder(cfg)  # raises, naming the root
    lists = [Path(p) for p in (cfg.train_list, cfg.test_list) if p]
    if lists:
        listed = [f for lst in lists for f, _ in read_list(lst, root)]
        return root, [*lists, *listed]
    return root, [f for name in class_folders(root) for f in folder_images(root / name)]


def manifest(cfg: RealParams) -> dict[str, Any]:
    """{dataset, files: [{path, bytes, sha256}], sha256}: each file `source_files` names, its
    size and SHA-256, and the SHA-256 of those lines (the data's digest, `real.root_sha256`).
    Paths are relative to the data's folder (a split list outside it: its name), so the same
    data elsewhere give the same digest."""
    import hashlib

    base, paths = source_files(cfg)
    rows = []
    for path in paths:
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as err:
            raise InputError(f"{path}: cannot be read ({err.strerror})") from None
        shown = path.relative_to(base) if path.is_relative_to(base) else path.name
        rows.append(
            {"path": str(shown), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}
        )
    lines = "".join(f"{r['sha256']}  {r['bytes']}  {r['path']}\n" for r in rows)
    total = hashlib.sha256(lines.encode()).hexdigest()
    if cfg.root_sha256 and cfg.root_sha256 != total:
        raise InputError(
            f"real.root = {cfg.root}: its data have the digest {total}; expected "
            f"real.root_sha256 = {cfg.root_sha256} (other data, or a root split by a comma)"
        )
    return {"dataset": cfg.dataset, "files": rows, "sha256": total}
