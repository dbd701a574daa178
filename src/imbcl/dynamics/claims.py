"""Stage analysis of the dense runs and the claims C1 (three stages, frequency-ordered growth)
and C2 (majority first, minority later and smaller).

Each claim's statistic is an effect per seed in the paper's direction, the imbalanced run's
effect minus the balanced control's on the same seed, decided on two replication blocks of
seeds (core.verdicts) on healthy runs only, with the theory's prediction measured beside it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imbcl.core.blocks import decide_blocks
from imbcl.core.claims import INCONCLUSIVE, Claim, Interval, mean_ci
from imbcl.core.report import Part
from imbcl.core.verdicts import Decision, claim_metrics, claim_row
from imbcl.synthetic.health import (
    CERTIFICATE,
    claim_health,
    health_table,
    healthy_by_seed,
    mark,
    rule_text,
)
from imbcl.synthetic.measures import (
    GROUPS,
    detect_stages,
    group_curves,
    growth_rates,
    neurons_per_feature,
    time_to_learn,
)
from imbcl.synthetic.params import AnalyzeParams, ClaimRule, HealthParams
from imbcl.synthetic.train import RunSpec, SavedRuns, Trajectory

NO_IMBALANCE = (
    "no imbalance to test: data.imbalance_ratio = train.control_ratio = {rho:g}, so the same "
    "runs are the imbalanced arm and the balanced control"
)


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
    train_loss_ratio: float  # final logged training InfoNCE loss / log B (1 = chance)

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
        out["train_loss_ratio"] = self.train_loss_ratio
        return out


def summarise(
    spec: RunSpec, traj: Trajectory, majority: np.ndarray, cfg: AnalyzeParams, batch: int
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
        train_loss_ratio=float(traj.loss[-1]) / math.log(batch),
    )


def _fmt(iv: Interval) -> str:
    if iv.n == 0:  # no finite per-seed value, e.g. a slope on log rho at rho = 1
        return "not measured"
    return f"{iv.mean:.3g} [{iv.low:.3g}, {iv.high:.3g}]"


def paired(table: pd.DataFrame, imbalanced: float, balanced: float, col: str) -> pd.Series:
    """Per seed: col at the imbalanced rho minus col at the balanced control (same seed)."""
    imb = table[table.imbalance_ratio == imbalanced].set_index("seed")[col]
    bal = table[table.imbalance_ratio == balanced].set_index("seed")[col]
    return (imb - bal).dropna()


def _decide(
    effects: pd.Series, table: pd.DataFrame, rule: ClaimRule, blocks: Blocks, hp: HealthParams
) -> tuple[Decision, dict]:
    decision, summary = decide_blocks(
        effects,
        healthy_by_seed(table),
        blocks.base,
        blocks.per_block,
        rule.min_effect,
        rule.seeds_required(),
        hp.min_healthy_share,
    )
    return decision, claim_health(table, summary, hp, "")


@dataclass(frozen=True)
class Blocks:
    """The seeds of the two replication blocks: base .. base+n-1 and base+n .. base+2n-1."""

    base: int
    per_block: int


def claim_c1(
    table: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    cfg: AnalyzeParams,
    hp: HealthParams,
    blocks: Blocks,
) -> Claim:
    """Stage-1 growth is faster for frequent features: the majority - minority stage-1
    log-growth rate gap at the imbalanced rho minus the same gap at rho = 1, per seed."""
    gap = table.majority_rate_s1 - table.minority_rate_s1
    effects = paired(table.assign(gap=gap), imbalanced, balanced, "gap")
    decision, health = _decide(effects, table, cfg.c1, blocks, hp)
    imb = table[table.imbalance_ratio == imbalanced]
    bal = table[table.imbalance_ratio == balanced]
    # Theory: stage-1 rate = c * eps_j / eps_max; majority at 1, minority at 1 / rho.
    slope = mean_ci(
        (imb.majority_rate_s1 - imb.minority_rate_s1) / (1 - 1 / imbalanced), cfg.confidence
    )
    noise = mean_ci(imb.noise_rate_s1, cfg.confidence)
    return claim_row(
        "C1",
        "Neuron weights evolve in three stages; majority, minority and noise move differently.",
        "per seed: stage-1 log-growth rate (per 1000 steps) majority - minority at "
        f"rho={imbalanced:g}, minus the same gap at rho={balanced:g}; evidence: share of the "
        f"2-stage residual a 3rd stage removes {_fmt(mean_ci(imb.stage_gain, cfg.confidence))} "
        f"(balanced {_fmt(mean_ci(bal.stage_gain, cfg.confidence))})",
        decision,
        f"balanced rho={balanced:g}, same seed (paired difference)",
        cfg.c1.min_effect,
        cfg.c1.seeds_required(),
        prediction=(
            "stage-1 growth rate linear in the relative frequency eps_j / eps_max with a "
            f"positive slope: measured slope {_fmt(slope)} per unit of eps_j / eps_max "
            f"(rho={imbalanced:g}); non-feature rate <= 0: measured {_fmt(noise)}"
        ),
        health=health,
    )


def claim_c2(
    table: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    cfg: AnalyzeParams,
    hp: HealthParams,
    blocks: Blocks,
) -> Claim:
    """Minority features end smaller: the final majority - minority strength gap at the
    imbalanced rho minus the balanced gap, per seed."""
    gap = table.majority_final - table.minority_final
    effects = paired(table.assign(gap=gap), imbalanced, balanced, "gap")
    decision, health = _decide(effects, table, cfg.c2, blocks, hp)
    log_ratio = np.log(np.maximum(table.minority_final, 1e-12)) - np.log(
        np.maximum(table.majority_final, 1e-12)
    )
    slope = mean_ci(
        paired(table.assign(lr=log_ratio), imbalanced, balanced, "lr") / np.log(imbalanced),
        cfg.confidence,
    )
    lag = mean_ci(
        paired(
            table.assign(lag=table.t_learn_minority - table.t_learn_majority),
            imbalanced,
            balanced,
            "lag",
        ),
        cfg.confidence,
    )
    return claim_row(
        "C2",
        "Majority features are learned first and end larger; minority later and smaller.",
        "per seed: final majority - minority feature strength (max_i |<u_i, M_j>|, group "
        f"mean) at rho={imbalanced:g}, minus the same gap at rho={balanced:g}; evidence: "
        f"minority learns {_fmt(lag)} steps later than majority, relative to the balanced run",
        decision,
        f"balanced rho={balanced:g}, same seed (paired difference)",
        cfg.c2.min_effect,
        cfg.c2.seeds_required(),
        prediction=(
            "slope of log(minority / majority strength) on log rho = -1: measured "
            f"{_fmt(slope)} (rho={balanced:g} and {imbalanced:g}, per seed)"
        ),
        health=health,
    )


def claim_rows(
    table: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    cfg: AnalyzeParams,
    hp: HealthParams,
    blocks: Blocks,
) -> list[Claim]:
    """C1 and C2 on the per-run table. With imbalanced = balanced (data.imbalance_ratio =
    train.control_ratio) one set of runs plays both roles, an A/A run: a paired difference
    of a run with itself is 0 by construction, not evidence that the effect is absent, so
    both rows are inconclusive with the reason NO_IMBALANCE."""
    rows = [
        claim_c1(table, imbalanced, balanced, cfg, hp, blocks),
        claim_c2(table, imbalanced, balanced, cfg, hp, blocks),
    ]
    if imbalanced != balanced:
        return rows
    reason = NO_IMBALANCE.format(rho=imbalanced)
    return [dataclasses.replace(r, verdict=INCONCLUSIVE, reason=reason) for r in rows]


def analyze(
    summaries: list[RunSummary],
    majority: np.ndarray,
    cfg: AnalyzeParams,
    hp: HealthParams,
    certificates: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    blocks: Blocks,
) -> tuple[pd.DataFrame, dict, list[dict]]:
    """Per-run table, flat metrics (means over seeds, each claim with its intervals) and the
    C1, C2 rows. certificates: one row per run (`run` and synthetic.health.health's keys, as
    the train stage writes them), judged here by the rule `hp`."""
    measured = pd.DataFrame([s.row(majority) for s in summaries])
    cert = certificates[["run", *CERTIFICATE]]
    table = mark(measured.merge(cert, on="run", how="left", validate="one_to_one"), hp)
    if table[list(CERTIFICATE)].isna().any().any():
        missing = table.run[table[list(CERTIFICATE)].isna().any(axis=1)].tolist()
        raise ValueError(f"no health certificate for the runs {missing}")
    imb = table[table.imbalance_ratio == imbalanced]
    bal = table[table.imbalance_ratio == balanced]
    if imb.empty or bal.empty:
        raise ValueError(f"need runs at rho={imbalanced:g} and the control rho={balanced:g}")
    metrics: dict[str, float] = {}
    numeric = [
        c
        for c in table.columns
        if c not in ("run", "imbalance_ratio", "width", "seed", "failure", "healthy")
    ]
    for role, part in (("imbalanced", imb), ("balanced", bal)):
        for col in numeric:
            metrics[f"{role}.{col}"] = float(part[col].mean())
        metrics[f"{role}.healthy_share"] = float(part.healthy.mean())
    rows = claim_rows(table, imbalanced, balanced, cfg, hp, blocks)
    for row in rows:
        metrics.update(claim_metrics(row))
    return table, metrics, [r.as_dict() for r in rows]


@dataclass(frozen=True)
class Outcome:
    part: Part  # metrics and the C1, C2 rows
    runs: pd.DataFrame  # one row per run
    stage_steps: dict[str, list[int]]  # run name -> stage boundaries (steps)


def decide(
    runs: SavedRuns,
    majority: np.ndarray,
    cfg: AnalyzeParams,
    hp: HealthParams,
    certificates: pd.DataFrame,
    batch: int,
    blocks: Blocks,
) -> Outcome:
    """Summarise every run (stages, growth rates, timing, health) and decide C1 and C2.

    certificates: the train stage's health certificates (one row per run); batch: the
    training batch B (the training loss's chance value is log B)."""
    pairs = zip(runs.specs, runs.trajectories, strict=True)
    summaries = [summarise(s, t, majority, cfg, batch) for s, t in pairs]
    table, metrics, claims = analyze(
        summaries,
        majority,
        cfg,
        hp,
        certificates,
        runs.roles["imbalanced"],
        runs.roles["balanced"],
        blocks,
    )
    section = "Health of the runs deciding C1 and C2"
    text = (
        f"The train stage's runs (m = {summaries[0].spec.width}), each certified on held-out "
        f"pairs at its own rho; {rule_text(hp)}.\n\n"
        + health_table(table, ["imbalance_ratio"]).to_markdown(index=False)
    )
    steps = {s.spec.name: s.stage_steps for s in summaries}
    return Outcome(Part(metrics, claims, section, text=text), table, steps)
