"""The saved runs of longtail_train: `<variant>_r<rho>_s<seed>.pt` (the ViT's state dict)
per run, the dense checkpoints `dense_r<rho>_s<seed>_t<step>.pt`, and index.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imbcl.core.cli import require
from imbcl.core.io import read_json, write_json
from imbcl.longtail import splits
from imbcl.longtail.distributed import Context
from imbcl.longtail.loop import RealRun
from imbcl.longtail.params import RealParams
from imbcl.longtail.vit import ViT


@dataclass
class Trained:
    runs: list[RealRun]  # rho by rho, seed by seed, VARIANTS within a seed
    ctx: Context  # the process that trained them
    workers: int  # chain worker processes
    seconds: float

    def summary(self) -> str:
        return (
            f"trained {len(self.runs)} runs on {self.ctx.world} process(es) "
            f"({self.workers} chain worker(s)), {self.ctx.device}, in {self.seconds:.1f} s"
        )


def run_file(directory: str | Path, variant: str, rho: float, seed: int, step: int = 0) -> Path:
    """The weights of one run (step 0) or of one of its curve checkpoints."""
    tail = f"_t{step}" if step else ""
    return Path(directory) / f"{variant}_r{splits.rho_key(rho)}_s{seed}{tail}.pt"


def save(directory: Path, trained: Trained) -> None:
    """Each run's weights, its curve checkpoints and index.json (runs, their first / last
    ten NT-Xent losses, curve steps)."""
    for r in trained.runs:
        torch.save(r.state, run_file(directory, r.variant, r.rho, r.seed))
        for step, state in r.curve.items():
            torch.save(state, run_file(directory, r.variant, r.rho, r.seed, step))
    index = {
        "runs": [
            {
                "variant": r.variant,
                "rho": r.rho,
                "seed": r.seed,
                "loss_first": float(np.mean(r.losses[:10])),
                "loss_last": float(np.mean(r.losses[-10:])),
                "curve": sorted(r.curve),
            }
            for r in trained.runs
        ],
        "processes": trained.ctx.world,
    }
    write_json(directory / "index.json", index)


def read_index(directory: str | Path) -> list[dict[str, Any]]:
    """The runs listed in a saved directory's index.json (variant, rho, seed, losses)."""
    return read_json(require(Path(directory) / "index.json", "the longtail_train stage's output"))[
        "runs"
    ]


def load_state(
    directory: str | Path, variant: str, rho: float, seed: int, step: int = 0
) -> dict[str, torch.Tensor]:
    return torch.load(require(run_file(directory, variant, rho, seed, step), "a trained run"))


def load_model(state: dict[str, torch.Tensor], channels: int, side: int, cfg: RealParams) -> ViT:
    model = ViT(channels, side, cfg)
    model.load_state_dict(state)
    return model.eval()
