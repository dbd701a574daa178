"""What the data stage reads, as a manifest DVC can watch: every source file of
`real.dataset`, its size and SHA-256, and their digest (`real.root_sha256`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imbcl.core.errors import InputError
from imbcl.longtail.datasets import CIFAR_DIRS, CIFAR_FILES, read_cifar
from imbcl.longtail.folders import class_folders, folder_images, read_imagefolder, read_list
from imbcl.longtail.params import RealParams


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
