"""The BReLU threshold a run trains with: a shared schedule b(t), or a per-neuron b_i(t) tied
to each neuron's noise level (the predecessor, Wen & Li 2021, raises a bias tied to the noise;
the paper writes b_i^(t)).

`Bias` is what the calibrate stage chooses and the train and sweep stages apply: a level
(b after the ramp) and whether the bias is noise-tied. Both use the ramp schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from imbcl.core.errors import InputError
from imbcl.core.io import read_json
from imbcl.core.params import replace
from imbcl.synthetic.model import Params, bias_at, effective_directions
from imbcl.synthetic.params import ModelParams

BiasFn = Callable[[int, Params], torch.Tensor]
NOISE = "noise"  # the candidate name of the noise-tied bias


def noise_tied_bias(model_cfg: ModelParams, M: np.ndarray) -> BiasFn:
    """b_i(t) = b(t) * n_i(t) / mean_k n_k(t), n_i = ||u_i - M M^T u_i|| the noise residual
    of neuron i (R, m); b(t) the shared schedule of model_cfg.

    A noisy neuron needs a larger input to fire. Dividing by the mean keeps the average bias
    on the shared schedule, so only the spread across neurons differs from it.
    """
    Mt = torch.as_tensor(M)

    def bias(t: int, params: Params) -> torch.Tensor:
        with torch.no_grad():
            U = effective_directions(params)  # (R, m, d)
            Md = Mt.to(U.device, U.dtype)
            resid = (U - (U @ Md) @ Md.T).norm(dim=-1)  # (R, m)
            rel = resid / resid.mean(dim=1, keepdim=True).clamp_min(1e-12)
        return bias_at(model_cfg, t) * rel

    return bias


@dataclass(frozen=True)
class Bias:
    """A bias setting: `level` is b after the ramp; `tied`: per neuron, tied to its noise."""

    candidate: str  # as written in calibrate.candidates: "0.1" or "noise"
    level: float
    tied: bool

    def model(self, model_cfg: ModelParams) -> ModelParams:
        """model_cfg with this level on the ramp schedule."""
        return replace(model_cfg, bias_final=self.level, bias_schedule="ramp")

    def fn(self, model_cfg: ModelParams, M: np.ndarray) -> BiasFn | None:
        """The per-neuron b_i(t) for train_group's bias_fn, or None for the shared schedule
        of `self.model(model_cfg)`."""
        return noise_tied_bias(self.model(model_cfg), M) if self.tied else None

    def as_dict(self) -> dict:
        return {"candidate": self.candidate, "level": self.level, "tied": self.tied}

    @classmethod
    def from_dict(cls, d: dict) -> Bias:
        return cls(str(d["candidate"]), float(d["level"]), bool(d["tied"]))


def candidate_bias(candidate: float | str, noise_level: float) -> Bias:
    """A calibrate candidate: a number is a shared level; `noise` the noise-tied bias whose
    mean follows the shared ramp to `noise_level`."""
    if candidate == NOISE:
        return Bias(NOISE, noise_level, tied=True)
    return Bias(f"{float(candidate):g}", float(candidate), tied=False)


SIZES = ("small", "default")


def read_bias(path: str | Path, size: str = "small") -> Bias:
    """The bias of one model size from the calibrate stage's bias.json: {"sizes": {size:
    bias}} (a file with one bias at the top level serves every size)."""
    try:
        d = read_json(path)
        return Bias.from_dict(d["sizes"][size] if "sizes" in d else d)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: not a bias written by the calibrate stage ({err})") from err
