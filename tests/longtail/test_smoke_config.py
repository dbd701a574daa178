"""The CIFAR-10-LT smoke configuration (configs/cifar10-lt-smoke.yaml, docs/longtail.md) run
end to end on CPU, on a small CIFAR-format archive the test writes: its data path, views,
pruning and C7 rule as configured; the step count, batch, split sizes, rho grid (10 and the
balanced 1), device and the encoder's size shrunk for the CPU."""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML

from imbcl.core.params import replace
from imbcl.longtail import evaluate, splits, train
from imbcl.longtail.params import RealParams

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "cifar10-lt-smoke.yaml"


def _smoke() -> RealParams:
    base = YAML(typ="safe", pure=True).load((REPO / "params.yaml").read_text())["real"]
    over = YAML(typ="safe", pure=True).load(CONFIG.read_text())["real"]
    return RealParams.model_validate(base | over)


def _write_cifar10(root: Path, per_batch: int, seed: int = 0) -> None:
    """cifar-10-batches-py with five training batches of per_batch images per class."""
    rng = np.random.default_rng(seed)

    def batch(n: int) -> dict:
        y = np.repeat(np.arange(10), n)
        # class-dependent mean so the features carry the label
        x = rng.integers(0, 96, (len(y), 3072)) + (16 * y)[:, None]
        return {b"data": x.astype(np.uint8), b"labels": y.tolist()}

    root.mkdir(parents=True)
    for i in range(1, 6):
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(batch(per_batch)))
    (root / "test_batch").write_bytes(pickle.dumps(batch(4)))
    names = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    (root / "batches.meta").write_bytes(pickle.dumps(names))


def test_the_smoke_configuration_is_a_one_gpu_cifar10_lt_run():
    cfg = _smoke()
    assert (cfg.dataset, cfg.device, cfg.nproc, cfg.flip) == ("cifar10", "cuda", 1, True)
    assert 1.0 in cfg.ratios and cfg.imbalance_ratio == 10.0  # C7's precondition needs rho 1
    flags = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "smoke_flags.py"), str(CONFIG)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "real.extra_ratios=[1.0,100.0]" in flags and flags.count("-S") == len(flags) // 2


def test_the_smoke_configuration_runs_on_cpu(tmp_path):
    archive = tmp_path / "cifar-10-batches-py"
    _write_cifar10(archive, per_batch=4)  # 20 per class: rho 10 leaves two
    cfg = replace(
        _smoke(),
        root=str(archive),
        extra_ratios=[1.0],
        device="cpu",
        steps=2,
        warmup_steps=1,
        batch=16,
        probe_per_class=6,
        curve_every=0,
        threads=0,
        embed_dim=16,
        depth=1,
        heads=2,
        mlp_neurons=16,
        proj_dim=8,
    )
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    lt = splits.build(cfg, seed=0)
    assert lt.train.x.shape[1:] == (3, 32, 32) and lt.counts(10.0)[-1] == 2
    splits.save(data, lt)
    runs.mkdir()
    train.save(runs, train.run(data, cfg, seed=0))
    ev = evaluate.run(data, runs, cfg, 0, tmp_path / "g.png", tmp_path / "c.png")
    assert [c["rho"] for c in ev.row["conditions"]] == [10.0]
    assert all("precondition" in c for c in ev.row["conditions"]) and ev.row["regime"]
    assert "cifar10-LT" in ev.claim.statistic
