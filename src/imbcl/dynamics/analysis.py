"""The dense runs analysed: the per-run table with its health marks, flat metrics, the C1
and C2 rows, and the health section of the report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from imbcl.core.parts import Part
from imbcl.dynamics.claims import claim_metrics, claim_rows, stage_ends
from imbcl.dynamics.conditions import Blocks
from imbcl.dynamics.params import AnalyzeStage
from imbcl.dynamics.summary import RunSummary, summarise
from imbcl.synthetic.health import CERTIFICATE, MAJORITY_ORACLE, with_majority_oracle
from imbcl.synthetic.health_rule import health_table, mark, rule_text
from imbcl.synthetic.params import AnalyzeParams, HealthParams
from imbcl.synthetic.train import SavedRuns


def analyze(
    summaries: list[RunSummary],
    majority: np.ndarray,
    cfg: AnalyzeParams,
    hp: HealthParams,
    certificates: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    blocks: Blocks,
    setting: dict | None = None,
) -> tuple[pd.DataFrame, dict, list[dict]]:
    """Per-run table, flat metrics (means over seeds, each claim with its intervals) and the
    C1, C2 rows; setting: the condition's labels beside rho (e.g. bias, ramp).
    certificates: one row per run (`run` and synthetic.health.health's keys, with the
    MAJORITY_ORACLE columns), judged here by the rule `hp`."""
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
    times = [c for c in numeric if c.startswith("stage") and c.endswith(("_start", "_end"))]
    for role, part in (("imbalanced", imb), ("balanced", bal)):
        for col in numeric:  # means over seeds; the stage times as C1's row gives them
            if col not in times:
                metrics[f"{role}.{col}"] = float(part[col].mean())
        ends = stage_ends(part, [c for c in times if c.endswith("_end")])
        metrics |= {f"{role}.{k}": v for k, v in ends.items()}
        metrics[f"{role}.healthy_share"] = float(part.healthy.mean())
    rows = claim_rows(table, imbalanced, balanced, cfg, hp, blocks, setting)
    out = []
    for row, extra in rows:
        metrics.update(claim_metrics(row, extra))
        out.append({**row.as_dict(), **extra})
    return table, metrics, out


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
    setting: dict | None = None,
) -> Outcome:
    """Summarise every run (stages, growth rates, timing, health) and decide C1 and C2.

    certificates: the train stage's health certificates (one row per run, with the
    MAJORITY_ORACLE columns: synthetic.health.with_majority_oracle); batch: the training
    batch B (the training loss's chance value is log B); setting: the labels the runs share
    beside rho (the bias level and ramp they trained with), named in every condition."""
    missing = [c for c in MAJORITY_ORACLE if c not in certificates.columns]
    if missing:
        raise ValueError(f"certificates lack {missing}: complete them (with_majority_oracle)")
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
        setting,
    )
    section = "Health of the runs deciding C1 and C2"
    ungated = "; ".join(
        f"{c['id']}: {c['verdict']} (ungated: {c['verdict_ungated']})" for c in claims
    )
    text = (
        f"The train stage's runs (m = {summaries[0].spec.width}), each certified on held-out "
        f"pairs at its own rho; {rule_text(hp)}. Verdicts with and without the gate: "
        f"{ungated}.\n\n" + health_table(table, ["imbalance_ratio"]).to_markdown(index=False)
    )
    steps = {s.spec.name: s.stage_steps for s in summaries}
    return Outcome(Part(metrics, claims, section, text=text), table, steps)


def certified(p: AnalyzeStage, certificates: pd.DataFrame, arrays: dict) -> pd.DataFrame:
    """The train stage's certificates completed with the MAJORITY_ORACLE columns, from the
    stage's params and the dictionary's arrays ("M" (d, K), "majority" (K,))."""
    return with_majority_oracle(
        certificates,
        p.data,
        arrays["M"],
        arrays["majority"],
        p.train.temperature,
        p.train.batch,
        p.health,
        p.seed,
    )
