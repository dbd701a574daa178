"""Stage longtail_data: the long-tailed training split at each rho (C7's and
real.extra_ratios), a balanced probe split and a balanced test split of real images (digits by
default; CIFAR-10/100 or an image folder from real.root).

    python stages/longtail_data.py DATA   reads params.yaml [seed, real.dataset .. few_max]
writes DATA/train_r<rho>.npz         images x (N, C, H, W) uint8, labels y (N,), per rho
       DATA/{probe,test}.npz         the balanced splits
       DATA/meta.json                classes, training counts per rho, shape, pixel mean/std
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import OutDir
from imbcl.core.io import atomic_dir
from imbcl.core.params import load
from imbcl.longtail import splits
from imbcl.longtail.manifest import manifest
from imbcl.longtail.params import LongtailDataStage


def main(data: OutDir) -> None:
    p = load(cli.params_path(), LongtailDataStage)
    if p.real.root_sha256:
        manifest(p.real)  # refuses data other than the digest names
    lt = splits.build(p.real, p.seed)
    # the evaluation's class groups must all hold a class: refused here, before training
    splits.class_groups(lt.counts(), p.real.split_rule, p.real.many_min, p.real.few_max)
    with atomic_dir(data) as tmp:
        splits.save(tmp, lt)
    shown = ", ".join(
        f"rho {r:g}: {len(t.y)} ({lt.counts(r).max()} .. {lt.counts(r).min()} per class)"
        for r, t in lt.trains.items()
    )
    print(
        f"{p.real.dataset}-LT: {len(lt.classes)} classes; training images {shown}; "
        f"{len(lt.probe.y)} probe, {len(lt.test.y)} test"
    )


if __name__ == "__main__":
    cli.run(main)
