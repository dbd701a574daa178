"""Labelled images from a class-per-folder tree (the ImageNet-LT layout), with optional
`<relative path> <label>` split lists.

Hidden entries (names starting with '.': .ipynb_checkpoints/, .DS_Store, ._x.png) are never
read: not as class folders, not as images, and a split list naming one is refused. Files
whose suffix is not an image suffix are skipped in the folder walk (README.txt, Thumbs.db).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from imbcl.core.errors import InputError
from imbcl.longtail.datasets import IMAGE_SUFFIXES, Images
from imbcl.longtail.params import RealParams


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
