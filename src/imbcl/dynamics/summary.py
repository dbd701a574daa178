"""What the claims and figures read from one dense run: its penalised stages, per-group
growth rates, initial / final / peak strengths, learning times and specialised neurons."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imbcl.dynamics.stages import segments
from imbcl.synthetic.measures import (
    GROUPS,
    Stages,
    group_curves,
    growth_rates,
    neurons_per_feature,
    stage_signal,
    time_to_learn,
)
from imbcl.synthetic.params import AnalyzeParams
from imbcl.synthetic.train import RunSpec, Trajectory


@dataclass(frozen=True)
class RunSummary:
    """Everything the claims and figures need from one run."""

    spec: RunSpec
    stage_steps: list[int]  # first step of each penalised segment, then the final step
    segments: int  # segments chosen by the penalised criterion (dynamics.stages)
    null_segments: int  # the same on the step-shuffled curves
    rates: dict[str, list[float]]  # group -> log-growth rate per segment (per 1000 steps)
    initial: dict[str, float]  # group -> first logged value of its curve
    final: dict[str, float]  # group -> final value of its curve
    peak: dict[str, float]  # group -> largest logged value of its curve
    plateau: dict[str, float]  # group -> relative change of its curve over the last window
    t_learn: dict[str, float]  # majority / minority -> step reaching learned_fraction; NaN
    # when the group never reaches analyze.learned_strength (censored: not learned)
    neurons: np.ndarray  # (K,) specialised neurons per feature at the end
    train_loss_ratio: float  # final logged training InfoNCE loss / log B (1 = chance)
    final_step: int

    def row(self, majority: np.ndarray) -> dict:
        out: dict = {
            "run": self.spec.name,
            "imbalance_ratio": self.spec.imbalance_ratio,
            "width": self.spec.width,
            "seed": self.spec.seed,
            "segments": self.segments,
            "null_segments": self.null_segments,
        }
        for k, s in enumerate(self.stage_steps[1:-1], start=1):
            out[f"stage{k}_end"] = s
        for g in GROUPS:
            out[f"{g}_initial"] = self.initial[g]
            out[f"{g}_final"] = self.final[g]
            out[f"{g}_peak"] = self.peak[g]
            out[f"{g}_rate_s1"] = self.rates[g][0]
        for g in GROUPS:
            out[f"{g}_plateau_change"] = self.plateau[g]
        out["t_learn_majority"] = self.t_learn["majority"]
        out["t_learn_minority"] = self.t_learn["minority"]
        out["neurons_majority"] = float(self.neurons[majority].mean())
        out["neurons_minority"] = float(self.neurons[~majority].mean())
        out["train_loss_ratio"] = self.train_loss_ratio
        out["final_step"] = self.final_step
        return out


def plateau_change(
    curves: dict[str, np.ndarray], steps: np.ndarray, window: float
) -> dict[str, float]:
    """Per group |c(T) - c(T - window T)| / |c(T)|: 0 for a flat final curve."""
    start = steps[-1] - window * (steps[-1] - steps[0])
    i = int(np.searchsorted(steps, start))
    return {g: float(abs(c[-1] - c[i]) / max(abs(c[-1]), 1e-12)) for g, c in curves.items()}


def summarise(
    spec: RunSpec, traj: Trajectory, majority: np.ndarray, cfg: AnalyzeParams, batch: int
) -> RunSummary:
    curves = group_curves(traj, majority)
    steps = np.asarray(traj.steps)
    seg = segments(
        stage_signal(curves),
        steps,
        cfg.stage_penalty,
        cfg.max_stages,
        cfg.min_stage_logs,
        spec.seed,
    )
    bounds = [int(np.searchsorted(steps, s)) for s in seg.steps[:-1]] + [len(steps)]
    stages = Stages(bounds=bounds, steps=seg.steps, cost=seg.bic, gain=0.0)

    def learn(g: str) -> float:
        if curves[g].max() < cfg.learned_strength:
            return math.nan
        return float(time_to_learn(curves[g], steps, cfg.learned_fraction))

    return RunSummary(
        spec=spec,
        stage_steps=seg.steps,
        segments=seg.count,
        null_segments=seg.null_count,
        rates=growth_rates(curves, steps, stages),
        initial={g: float(curves[g][0]) for g in GROUPS},
        final={g: float(curves[g][-1]) for g in GROUPS},
        peak={g: float(curves[g].max()) for g in GROUPS},
        plateau=plateau_change(curves, steps, cfg.plateau_window),
        t_learn={g: learn(g) for g in ("majority", "minority")},
        neurons=neurons_per_feature(traj.proj[-1], traj.norm[-1], cfg.specialise_threshold),
        train_loss_ratio=float(traj.loss[-1]) / math.log(batch),
        final_step=int(steps[-1]),
    )
