"""The training stage under torchrun with 2 processes (gloo, CPU) matches 1 process."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from ruamel.yaml import YAML

from imbcl.core.params import load, replace
from imbcl.longtail import splits as longtail
from imbcl.longtail.params import LongtailTrainStage
from imbcl.longtail.train import VARIANTS

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "steps": 6,
    "warmup_steps": 2,
    "sdclr_every": 2,
    "batch": 16,
    "seeds_per_block": 1,
    "extra_ratios": [],
    "embed_dim": 8,
    "heads": 2,
    "depth": 1,
    "mlp_neurons": 8,
    "proj_dim": 4,
    "test_per_class": 20,
    "probe_per_class": 10,
}


def _train(workdir: Path, nproc: int) -> dict[str, dict[str, torch.Tensor]]:
    yaml = YAML(typ="safe", pure=True)
    raw = yaml.load((REPO / "params.yaml").read_text())
    raw["real"].update(TINY, nproc=nproc)
    with open(workdir / "params.yaml", "w") as fh:
        yaml.dump(raw, fh)
    env = {**os.environ, "IMBCL_PARAMS": str(workdir / "params.yaml"), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, str(REPO / "stages/longtail_train.py"), "data/longtail", "runs/longtail"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    runs = workdir / "runs/longtail"
    states = {p.stem: torch.load(p) for p in sorted(runs.glob("*.pt"))}
    shutil.rmtree(runs)
    return states


def test_two_gloo_processes_match_one(tmp_path):
    p = load(REPO / "params.yaml", LongtailTrainStage)

    cfg = replace(p.real, **TINY)
    longtail.save(tmp_path / "data/longtail", longtail.build(cfg, p.seed))
    one, two = _train(tmp_path, 1), _train(tmp_path, 2)
    assert sorted(one) == sorted(f"{v}_r10_s{s}" for s in (0, 1) for v in VARIANTS)
    assert sorted(two) == sorted(one)
    for run in one:
        for key, value in one[run].items():
            assert torch.allclose(value, two[run][key], atol=1e-4, rtol=1e-3), (run, key)
    moved = one["dense_r10_s0"]["blocks.0.fc1.weight"]
    assert not torch.equal(moved, two["pruned_r10_s0"]["blocks.0.fc1.weight"])
