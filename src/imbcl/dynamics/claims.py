"""Stage analysis of the dense runs and the claims C1 (three stages) and C2 (majority first,
minority later and smaller), each with the balanced control beside it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, mean_ci
from imbcl.core.report import Part
from imbcl.synthetic.measures import (
    GROUPS,
    detect_stages,
    group_curves,
    growth_rates,
    neurons_per_feature,
    time_to_learn,
)
from imbcl.synthetic.params import AnalyzeParams
from imbcl.synthetic.train import RunSpec, SavedRuns, Trajectory


@dataclass(frozen=True)
class RunSummary:
    """Everything the claims and figures need from one run."""

    spec: RunSpec
    stage_steps: list[int]
    stage_gain: float
    rates: dict[str, list[float]]  # group -> growth rate per stage (log units / 1000 steps)
    final: dict[str, float]  # group -> final value of its curve
    t_learn: dict[str, int]  # majority / minority -> step reaching learned_fraction of final
    neurons: np.ndarray  # (K,) specialised neurons per feature at the end

    def row(self, majority: np.ndarray) -> dict:
        out: dict = {
            "run": self.spec.name,
            "imbalance_ratio": self.spec.imbalance_ratio,
            "width": self.spec.width,
            "seed": self.spec.seed,
        }
        for k, s in enumerate(self.stage_steps[1:-1], start=1):
            out[f"stage{k}_end"] = s
        out["stage_gain"] = self.stage_gain
        for g in GROUPS:
            out[f"{g}_final"] = self.final[g]
            for k, r in enumerate(self.rates[g], start=1):
                out[f"{g}_rate_s{k}"] = r
        out["t_learn_majority"] = self.t_learn["majority"]
        out["t_learn_minority"] = self.t_learn["minority"]
        out["neurons_majority"] = float(self.neurons[majority].mean())
        out["neurons_minority"] = float(self.neurons[~majority].mean())
        return out


def summarise(
    spec: RunSpec, traj: Trajectory, majority: np.ndarray, cfg: AnalyzeParams
) -> RunSummary:
    curves = group_curves(traj, majority)
    stages = detect_stages(curves, traj.steps, cfg.n_stages, cfg.min_stage_logs)
    return RunSummary(
        spec=spec,
        stage_steps=stages.steps,
        stage_gain=stages.gain,
        rates=growth_rates(curves, traj.steps, stages),
        final={g: float(curves[g][-1]) for g in GROUPS},
        t_learn={
            g: time_to_learn(curves[g], traj.steps, cfg.learned_fraction)
            for g in ("majority", "minority")
        },
        neurons=neurons_per_feature(traj.proj[-1], traj.norm[-1], cfg.specialise_threshold),
    )


def _fmt(iv) -> str:
    return f"{iv.mean:.3g} [{iv.low:.3g}, {iv.high:.3g}]"


def claim_c1(imb: pd.DataFrame, bal: pd.DataFrame, cfg: AnalyzeParams) -> Claim:
    """Three stages, in which majority, minority and noise move differently."""
    gain = mean_ci(imb["stage_gain"], cfg.confidence)
    rate_gap = mean_ci(imb["majority_rate_s1"] - imb["minority_rate_s1"], cfg.confidence)
    gain_bal = mean_ci(bal["stage_gain"], cfg.confidence)
    gap_bal = mean_ci(bal["majority_rate_s1"] - bal["minority_rate_s1"], cfg.confidence)
    three = gain.n > 1 and gain.low >= cfg.stage_gain_min
    differ = rate_gap.excludes_zero()
    if three and differ:
        verdict = SUPPORTED
    elif gain.n > 1 and gain.high < cfg.stage_gain_min:
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Claim.from_interval(
        "C1",
        "Neuron weights evolve in three stages; majority, minority and noise move differently.",
        f"share of the best 2-stage residual removed by a 3rd stage (imbalanced runs); "
        f"stage-1 growth-rate gap majority - minority = {_fmt(rate_gap)}",
        gain,
        f"balanced rho=1: gain {_fmt(gain_bal)}, stage-1 rate gap {_fmt(gap_bal)}",
        f"supported if the gain's CI lies above {cfg.stage_gain_min:g} and the stage-1 "
        "rate gap's CI excludes 0; not supported if the gain's CI lies below it",
        verdict,
    )


def claim_c2(imb: pd.DataFrame, bal: pd.DataFrame, cfg: AnalyzeParams) -> Claim:
    """Majority learned first and ends larger; minority later and smaller."""
    gap = mean_ci(imb["majority_final"] - imb["minority_final"], cfg.confidence)
    gap_bal = mean_ci(bal["majority_final"] - bal["minority_final"], cfg.confidence)
    lag = mean_ci(imb["t_learn_minority"] - imb["t_learn_majority"], cfg.confidence)
    if gap.excludes_zero() and gap.low > 0 and lag.mean > 0 and gap_bal.covers_zero():
        verdict = SUPPORTED
    elif gap.n > 1 and not (gap.low > 0):
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Claim.from_interval(
        "C2",
        "Majority features are learned first and end larger; minority later and smaller.",
        "final majority - minority feature strength (max_i |<u_i, M_j>|, group mean), "
        f"imbalanced runs; minority learns {_fmt(lag)} steps after majority",
        gap,
        f"balanced rho=1: gap {_fmt(gap_bal)}",
        "supported if the imbalanced gap's CI lies above 0, minority reaches "
        f"{cfg.learned_fraction:g} of its final value later on average, and the balanced "
        "gap's CI covers 0; not supported if the imbalanced gap's CI reaches 0 or below",
        verdict,
    )


def analyze(
    summaries: list[RunSummary],
    majority: np.ndarray,
    cfg: AnalyzeParams,
    imbalanced: float,
    balanced: float,
) -> tuple[pd.DataFrame, dict, list[dict]]:
    """Per-run table, flat metrics (means over seeds) and the C1, C2 rows."""
    table = pd.DataFrame([s.row(majority) for s in summaries])
    imb = table[table.imbalance_ratio == imbalanced]
    bal = table[table.imbalance_ratio == balanced]
    if imb.empty or bal.empty:
        raise ValueError(f"need runs at rho={imbalanced:g} and the control rho={balanced:g}")
    metrics: dict[str, float] = {}
    numeric = [c for c in table.columns if c not in ("run", "imbalance_ratio", "width", "seed")]
    for role, part in (("imbalanced", imb), ("balanced", bal)):
        for col in numeric:
            metrics[f"{role}.{col}"] = float(part[col].mean())
    claims = [claim_c1(imb, bal, cfg).as_dict(), claim_c2(imb, bal, cfg).as_dict()]
    return table, metrics, claims


@dataclass(frozen=True)
class Outcome:
    part: Part  # metrics and the C1, C2 rows
    runs: pd.DataFrame  # one row per run
    stage_steps: dict[str, list[int]]  # run name -> stage boundaries (steps)


def decide(runs: SavedRuns, majority: np.ndarray, cfg: AnalyzeParams) -> Outcome:
    """Summarise every run (stages, growth rates, timing) and decide C1 and C2."""
    pairs = zip(runs.specs, runs.trajectories, strict=True)
    summaries = [summarise(s, t, majority, cfg) for s, t in pairs]
    table, metrics, claims = analyze(
        summaries, majority, cfg, runs.roles["imbalanced"], runs.roles["balanced"]
    )
    return Outcome(Part(metrics, claims), table, {s.spec.name: s.stage_steps for s in summaries})
