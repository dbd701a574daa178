"""The long-tailed splits of a labelled image set, their files, and the class groups.

Every dataset becomes splits of uint8 images (N, C, H, W) with integer labels:
- `train` at each rho of `RealParams.ratios`: the long-tailed pre-training split. Class i
  keeps n_i = floor(n_max * rho^(-i / (C - 1))) images (classes in label order, each
  subsampled with a seeded shuffle), as in LDAM-DRW's `imbalance_cifar.py`; n_max is the
  smallest pool size, so every class can meet its count. Every rho takes the first n_i of
  the same shuffle, so the split at a larger rho is a subset of the one at a smaller rho.
  An imagefolder with a training list is taken as already long-tailed and kept as listed.
- `probe`: a balanced set for the linear probe and kNN (up to `probe_per_class` per class,
  drawn from the full training pool, so it may overlap `train`, as in SDCLR's protocol).
- `test`: the balanced held-out split (the official test set for CIFAR, a test list for an
  imagefolder, otherwise `test_per_class` images per class set aside before anything else).

The evaluation reports accuracy per class group (many / medium / few shot, `class_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imbcl.core.cli import require
from imbcl.core.errors import InputError, ParamError
from imbcl.core.io import load_npz, read_json, save_npz, write_json
from imbcl.longtail.datasets import CIFAR_FILES, Images, read_cifar, read_digits
from imbcl.longtail.folders import read_imagefolder
from imbcl.longtail.params import RealParams

GROUPS = ("many", "medium", "few")


@dataclass
class LongTail:
    trains: dict[float, Images]  # rho -> long-tailed pre-training split; C7's rho first
    probe: Images  # balanced probe-training split
    test: Images  # balanced held-out split
    classes: list[str]

    @property
    def train(self) -> Images:
        """The training split at C7's rho (the first)."""
        return next(iter(self.trains.values()))

    def counts(self, rho: float | None = None) -> np.ndarray:
        """(C,) training images per class at `rho` (default: C7's)."""
        part = self.train if rho is None else self.trains[rho]
        return np.bincount(part.y, minlength=len(self.classes))


def rho_key(rho: float) -> str:
    """A rho as it names files and keys: 10.0 -> '10', 2.5 -> '2.5'."""
    return f"{rho:g}"


def longtail_counts(n_max: int, n_classes: int, imbalance_ratio: float) -> np.ndarray:
    """(C,) n_i = floor(n_max * rho^(-i / (C - 1))); rho = 1 gives n_max for every class."""
    i = np.arange(n_classes)
    exponent = -i / max(n_classes - 1, 1)
    # the small epsilon keeps exact powers (rho = 1, i = 0) from flooring to n - 1
    return np.floor(n_max * imbalance_ratio**exponent + 1e-9).astype(np.int64)


def _per_class_shuffle(y: np.ndarray, n_classes: int, rng: np.random.Generator) -> list:
    return [rng.permutation(np.flatnonzero(y == c)) for c in range(n_classes)]


def _check_classes(y: np.ndarray, classes: list[str], where: str) -> None:
    """Every class 0..C-1 has an image; else an InputError naming the empty classes."""
    missing = sorted(set(range(len(classes))) - set(np.unique(y).tolist()))
    if missing:
        named = ", ".join(f"{c} ({classes[c]})" for c in missing[:5])
        raise InputError(f"{where}: no images of class(es) {named}; expected every class")


def split_pool(
    pool: Images, test: Images | None, classes: list[str], cfg: RealParams, seed: int
) -> tuple[dict[float, Images], Images, Images]:
    """({rho: train}, probe, test) from a labelled pool; the test split is carved out when
    absent."""
    rng = np.random.default_rng(seed)
    n_classes = len(classes)
    _check_classes(pool.y, classes, f"{cfg.dataset} training pool")
    order = _per_class_shuffle(pool.y, n_classes, rng)
    if test is None:
        short = [c for c in range(n_classes) if len(order[c]) <= cfg.test_per_class]
        if short:
            c = short[0]
            raise InputError(
                f"class {c} ({classes[c]}) has {len(order[c])} images; expected "
                f"more than real.test_per_class = {cfg.test_per_class}"
            )
        test = pool.take(np.concatenate([o[: cfg.test_per_class] for o in order]))
        order = [o[cfg.test_per_class :] for o in order]
    n_max = min(len(o) for o in order)
    trains = {}
    for rho in cfg.ratios:
        counts = longtail_counts(n_max, n_classes, rho)
        if counts.min() < 1:
            key = "real.imbalance_ratio" if rho == cfg.imbalance_ratio else "real.extra_ratios"
            raise ParamError(
                f"{key}: rho = {rho:g} leaves a class with no training image "
                f"(n_max = {n_max}); expected at most {n_max:g}"
            )
        trains[rho] = pool.take(np.concatenate([o[:n] for o, n in zip(order, counts, strict=True)]))
    probe = pool.take(np.concatenate([o[: cfg.probe_per_class] for o in order]))
    return trains, probe, test


def build(cfg: RealParams, seed: int) -> LongTail:
    """The three splits of `cfg.dataset`, deterministic in (params, seed)."""
    if cfg.dataset == "digits":
        pool, classes = read_digits()
        trains, probe, test = split_pool(pool, None, classes, cfg, seed)
    elif cfg.dataset in CIFAR_FILES:
        pool, test_set, classes = read_cifar(cfg.root, cfg.dataset)
        trains, probe, test = split_pool(pool, test_set, classes, cfg, seed)
    else:
        pool, folder_test, classes = read_imagefolder(cfg)
        if cfg.train_list:  # the list is the long-tailed split already (ImageNet-LT)
            rng = np.random.default_rng(seed)
            _check_classes(pool.y, classes, cfg.train_list)
            order = _per_class_shuffle(pool.y, len(classes), rng)
            probe = pool.take(np.concatenate([o[: cfg.probe_per_class] for o in order]))
            trains = {cfg.imbalance_ratio: pool}
            if folder_test is None:
                raise InputError("real.test_list = '': expected a test list with real.train_list")
            test = folder_test
        else:
            trains, probe, test = split_pool(pool, folder_test, classes, cfg, seed)
    return LongTail(trains, probe, test, classes)


def class_groups(counts: np.ndarray, rule: str, many_min: int, few_max: int) -> np.ndarray:
    """(C,) group per class: 0 many, 1 medium, 2 few; a rule that leaves a group empty is a
    ParamError naming its keys (a table of an empty group would read nan).

    `thirds`: classes sorted by training count (ties by label) and cut into three near-equal
    thirds, as SDCLR does for CIFAR-LT. `counts`: many > many_min, few < few_max, as for
    ImageNet-LT (OLTR / SDCLR thresholds 100 and 20).
    """
    groups = np.empty(len(counts), dtype=np.int64)
    if rule == "thirds":
        if len(counts) < 3:
            raise ParamError(
                f"real.split_rule = thirds: expected at least 3 classes, the data has "
                f"{len(counts)}; C7 compares a many, a medium and a few group"
            )
        order = np.lexsort((np.arange(len(counts)), -counts))  # largest first
        for g, part in enumerate(np.array_split(order, 3)):
            groups[part] = g
    else:
        groups[:] = 1
        groups[counts > many_min] = 0
        groups[counts < few_max] = 2
        empty = [name for g, name in enumerate(GROUPS) if not (groups == g).any()]
        if empty:
            raise ParamError(
                f"real.split_rule = counts with real.many_min = {many_min}, real.few_max = "
                f"{few_max} leaves the {' and '.join(empty)} group(s) empty (training counts "
                f"{counts.max()} .. {counts.min()}); expected a class in each of "
                "many (> many_min), medium and few (< few_max)"
            )
    return groups


def top_bottom(counts: np.ndarray, share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """The classes of Delta20: the round(share * C) (at least 1) most and least frequent by
    training count, ties by label (the lower label counts as more frequent)."""
    k = max(1, int(np.floor(share * len(counts) + 0.5)))
    order = np.lexsort((np.arange(len(counts)), -counts))  # largest first
    return order[:k], order[len(counts) - k :]


def save(directory: Path, lt: LongTail) -> None:
    """The splits as npz files (train_r<rho>, probe, test) and meta.json (classes, counts
    and sizes per rho, shape, and the pixel mean / std every split is normalised by: those of
    the balanced probe split, the same for every rho)."""
    for rho, part in lt.trains.items():
        save_npz(directory / f"train_r{rho_key(rho)}.npz", x=part.x, y=part.y)
    for name in ("probe", "test"):
        part = getattr(lt, name)
        save_npz(directory / f"{name}.npz", x=part.x, y=part.y)
    pixels = lt.probe.x.astype(np.float64) / 255
    write_json(
        directory / "meta.json",
        {
            "classes": lt.classes,
            "counts": {rho_key(r): lt.counts(r).tolist() for r in lt.trains},
            "shape": list(lt.probe.x.shape[1:]),
            "mean": pixels.mean(axis=(0, 2, 3)).tolist(),
            "std": pixels.std(axis=(0, 2, 3)).tolist(),
            "sizes": {
                "train": {rho_key(r): int(len(t.y)) for r, t in lt.trains.items()},
                "probe": int(len(lt.probe.y)),
                "test": int(len(lt.test.y)),
            },
        },
    )


def read_meta(directory: str | Path) -> dict[str, Any]:
    """meta.json of a saved long tail (see `save`)."""
    return read_json(require(Path(directory) / "meta.json", "the longtail_data stage's output"))


def load(directory: str | Path, name: str) -> Images:
    """One saved split: probe, test, or train_r<rho>."""
    path = require(Path(directory) / f"{name}.npz", "the longtail_data stage's output")
    arrays = load_npz(path)
    return Images(arrays["x"], arrays["y"])


def load_train(directory: str | Path, rho: float) -> Images:
    """The saved training split at `rho`."""
    return load(directory, f"train_r{rho_key(rho)}")
