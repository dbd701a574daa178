"""The imbalance track end to end: the sweep's final states -> per-run table, m* trend,
claims C3-C5, the four figures and the regime table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from imbcl.core.parts import Part
from imbcl.core.verdicts import claim_metrics
from imbcl.imbalance import figures
from imbcl.imbalance.claims import (
    claim_c3,
    claim_c4,
    claim_c5,
    width_trend,
)
from imbcl.imbalance.grid import FinalState
from imbcl.imbalance.measures import sweep_table, with_floor_measures
from imbcl.imbalance.params import SweepParams
from imbcl.imbalance.summary import metrics, regime_table
from imbcl.synthetic.health_rule import health_table, mark, rule_text
from imbcl.synthetic.params import AnalyzeParams, HealthParams, SmallParams


@dataclass(frozen=True)
class Outcome:
    part: Part  # metrics, claims C3-C5, figures
    runs: pd.DataFrame  # one row per sweep run
    regimes: str  # markdown: the gaps and m* per rho


def decide(
    states: list[FinalState],
    majority: np.ndarray,
    small: SmallParams,
    sweep: SweepParams,
    analyze: AnalyzeParams,
    hp: HealthParams,
    bias: float,
    seed: int,
    figure_dir: str | Path,
) -> Outcome:
    """Measure every run, decide C3-C5 by the rules in `sweep`, draw the figures.

    majority (K,) bool; hp: the health rule applied to each run's certificate; bias: the
    final BReLU threshold b (for the margin measure); seed: the first seed (the discovery
    block's) and the bootstrap's seed. Figures are written to `figure_dir`.
    """
    conf, threshold, width = analyze.confidence, analyze.specialise_threshold, max(sweep.widths)
    floor = sweep.strength_floor

    def measured(runs: list[FinalState]) -> pd.DataFrame:
        base = sweep_table(runs, majority, threshold, floor, bias)
        return mark(with_floor_measures(base, runs, floor, small.batch), hp)

    table = measured(states)
    before = [s.previous for s in states if s.previous is not None]
    earlier = measured(before) if before and len(before) == len(states) else None
    trend = width_trend(table, sweep.cover_share, sweep.bootstrap, conf, seed)
    steps = max((s.step for s in states), default=0) or small.steps
    rows = [
        claim_c3(table, earlier, analyze, sweep, hp, seed, steps),
        claim_c4(table, earlier, trend, analyze, sweep, hp, seed, steps),
        claim_c5(table, earlier, analyze, sweep, hp, seed, steps),
    ]
    claims = [r.as_dict() for r in rows]
    regime = {r.id: r.regime for r in rows}  # the captions state the claims' conditions
    out = Path(figure_dir)
    drawn = {
        "imbalance_specialisation.png": lambda f: figures.plot_specialisation(
            table, width, threshold, floor, conf, f, regime["C3"]
        ),
        "imbalance_coverage.png": lambda f: figures.plot_coverage(table, f),
        "imbalance_min_width.png": lambda f: figures.plot_min_width(
            trend, sweep.cover_share, conf, f
        ),
        "imbalance_separation.png": lambda f: figures.plot_separation(
            table, width, conf, f, regime["C5"]
        ),
    }
    index = [{"file": name, "caption": draw(out / name)} for name, draw in drawn.items()]
    section = (
        f"Imbalance sweeps (C3-C5): d = {small.dim}, K = {small.n_features} "
        f"({small.n_majority} majority), L = {small.tokens}, {small.steps} steps, "
        f"{sweep.seeds} seeds per (rho, m) in two blocks of {sweep.seeds_per_block}"
    )
    flat = metrics(table, trend, width)
    for row in rows:
        flat.update(claim_metrics(row))
        for c in row.conditions:
            if c["value"] is not None:
                flat[f"{row.id}.rho{c['rho']:g}.value"] = c["value"]
    wide = table[table.width == width]
    shares = ", ".join(
        f"m = {m}: {int(g.healthy.sum())}/{len(g)}" for m, g in table.groupby("width")
    )
    text = (
        f"Health of the runs deciding C3-C5 (m = {width}), each certified on held-out pairs "
        f"at its own rho; {rule_text(hp)}. Healthy runs by width (C4 reads every width; "
        f"narrow encoders cannot hold every feature, which C4 measures): {shares}.\n\n"
        + health_table(wide, ["imbalance_ratio"]).to_markdown(index=False)
    )
    flat["healthy_share"] = float(wide.healthy.mean())
    part = Part(flat, claims, section, index, text=text)
    return Outcome(part, table, regime_table(table, trend, width, conf))
