"""Shared fixtures: tiny configurations, and a real temporary git + DVC repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from imbcl.core.params import replace
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams

ROOT = Path(__file__).resolve().parents[1]

# Overrides that shrink every section to a pipeline that runs in seconds.
TINY = {
    "data": {"dim": 16, "n_features": 6, "n_majority": 3, "tokens": 4, "eval_samples": 64},
    "model": {"width": 8, "bias_ramp_steps": 30, "init_std": 0.1, "bias_final": 0.1},
    "train": {
        "steps": 60,
        "batch": 32,
        "lr": 0.2,
        "log_every": 5,
        "seeds_per_block": 2,
        "checkpoint_steps": [0, 20],
        "block_steps": 10,
    },
    "small": {
        "dim": 8,
        "n_features": 4,
        "n_majority": 2,
        "steps": 40,
        "batch": 16,
        "bias_ramp_steps": 20,
    },
    "sweep": {"ratios": [1.0, 10.0], "widths": [4, 8], "seeds_per_block": 2, "bootstrap": 50},
    "calibrate": {"candidates": [0.1, "noise"], "seeds": 2, "width": 8, "default_bias": 0.1},
    # tiny runs are not trained to health: thresholds every run passes, so every candidate
    # is eligible (the highest score wins) and every claim is decided
    "health": {
        "min_gap_closed": 0.0,
        "min_sign_accuracy": 0.0,
        "nonzero_min": 0.0,
        "nonzero_max": 1.0,
        "eval_samples": 64,
        "heldout_batches": 1,
    },
    "regimes": {"ratios": [1.0, 10.0], "attentions": ["identity_fixed"], "seeds": 2},
    "prune": {"width": 8, "early_steps": 10, "seeds_per_block": 2, "mechanism_steps": [0, 20]},
    "real": {
        "steps": 12,
        "batch": 32,
        "sdclr_every": 4,
        "seeds_per_block": 1,
        "warmup_steps": 2,
        "curve_every": 4,
        "test_per_class": 5,
        "probe_per_class": 10,
        "embed_dim": 8,
        "mlp_neurons": 8,
        "proj_dim": 8,
    },
}


@pytest.fixture
def tiny() -> tuple[DataParams, ModelParams, TrainParams]:
    return (
        replace(DataParams(), **TINY["data"]),
        replace(ModelParams(), **TINY["model"]),
        replace(TrainParams(), **TINY["train"]),
    )


def tiny_params() -> dict:
    """The project's params.yaml with the TINY overrides applied."""
    params = YAML(typ="safe", pure=True).load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    return params


def write_params(path: Path, params: dict) -> None:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with open(path, "w") as fh:
        yaml.dump(params, fh)


def sh(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {
        **os.environ,
        "PATH": path,
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=check)


@pytest.fixture
def dvc_repo(tmp_path: Path) -> Path:
    """A git + DVC repo holding the project's stages, library and a tiny params.yaml."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("stages", "src", "docs"):
        shutil.copytree(
            ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    for name in ("dvc.yaml", "requirements.lock"):  # the lock: a dep of longtail_source
        shutil.copy(ROOT / name, repo / name)
    (repo / "reports" / "tables").mkdir(parents=True)
    for name in ("pilot.md", "verify.md"):  # committed by make pilot / make verify
        shutil.copy(ROOT / "reports" / "tables" / name, repo / "reports" / "tables" / name)
    write_params(repo / "params.yaml", tiny_params())
    (repo / ".gitignore").write_text("/data/\n/runs/\n__pycache__/\n")
    sh("git", "init", "-q", cwd=repo)
    sh("dvc", "init", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "init", cwd=repo)
    return repo
