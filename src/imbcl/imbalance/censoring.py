"""C4's censoring study: is a minority that no sweep width covers lost for want of width or
of time? The sweep's small model at rho in censoring.ratios, widths censoring.widths (up to
4x the sweep's widest) and steps censoring.steps (the sweep's and longer), every run with
the sweep's calibrated bias and health certificate.

Per (rho, steps, width) cell: the censored share (seeds whose minority is not fully covered,
coverage as in C4: imbalance.measures), with a Wilson interval. Two contrasts per rho, each
against censoring.margin (a share of seeds), fixed before the runs:

    width effect  censored share at the widest width minus at the narrowest, first steps
    time effect   censored share at the last steps minus at the first, widest width

"width-limited": the width effect < -margin and the time effect > -margin; "time-limited" the
reverse; "both"; "neither" (lost at every width and time: the race of docs/design.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from imbcl.core.params import replace
from imbcl.imbalance.grid import run_sweep
from imbcl.imbalance.measures import sweep_table
from imbcl.imbalance.params import CensoringStage
from imbcl.synthetic.bias import Bias
from imbcl.synthetic.health_rule import mark


def run_cells(p: CensoringStage, bias: Bias) -> pd.DataFrame:
    """One row per run: rho, width, seed, steps, coverage_minority, censored, healthy."""
    c = p.censoring
    sweep = replace(p.sweep, ratios=c.ratios, widths=c.widths, seeds_per_block=c.seeds // 2)
    parts = []
    for steps in c.steps:
        small = replace(p.small, steps=steps)
        states, majority = run_sweep(
            p.data, p.model, p.train, small, sweep, p.health, p.seed, bias=bias
        )
        table = sweep_table(
            states, majority, p.analyze.specialise_threshold, p.sweep.strength_floor, bias.level
        )
        health = pd.DataFrame([s.health for s in states])
        health[["imbalance_ratio", "width", "seed"]] = [
            (s.spec.imbalance_ratio, s.spec.width, s.spec.seed) for s in states
        ]
        table = table.merge(health, on=["imbalance_ratio", "width", "seed"])
        parts.append(mark(table, p.health).assign(steps=steps))
    runs = pd.concat(parts, ignore_index=True)
    runs["censored"] = runs.coverage_minority < 1.0
    keep = ["imbalance_ratio", "steps", "width", "seed", "coverage_minority", "censored"]
    return runs[[*keep, "healthy"]]


def cells(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Per (rho, steps, width): seeds, censored share with its Wilson interval, healthy share."""
    rows = []
    for (rho, steps, width), g in runs.groupby(["imbalance_ratio", "steps", "width"]):
        k, n = int(g.censored.sum()), len(g)
        ci = binomtest(k, n).proportion_ci(confidence, method="wilson")
        rows.append(
            {
                "imbalance_ratio": rho,
                "steps": steps,
                "width": width,
                "seeds": n,
                "censored_share": k / n,
                "ci_low": ci.low,
                "ci_high": ci.high,
                "healthy_share": float(g.healthy.mean()),
            }
        )
    return pd.DataFrame(rows)


def contrasts(table: pd.DataFrame, margin: float) -> pd.DataFrame:
    """Per rho: the width and time effects on the censored share, and the reading."""
    rows = []
    for rho, g in table.groupby("imbalance_ratio"):
        first, last = g.steps.min(), g.steps.max()
        narrow, wide = g.width.min(), g.width.max()

        def share(steps: int, width: int, g: pd.DataFrame = g) -> float:
            return float(g[(g.steps == steps) & (g.width == width)].censored_share.iloc[0])

        width_effect = share(first, wide) - share(first, narrow)
        time_effect = share(last, wide) - share(first, wide)
        by_width, by_time = width_effect < -margin, time_effect < -margin
        reading = {
            (True, False): "width-limited",
            (False, True): "time-limited",
            (True, True): "both",
            (False, False): "neither" if share(last, wide) > margin else "covered",
        }[(by_width, by_time)]
        rows.append(
            {
                "imbalance_ratio": rho,
                "censored_first": share(first, narrow),
                "width_effect": width_effect,
                "time_effect": time_effect,
                "reading": reading,
            }
        )
    return pd.DataFrame(rows)


def check_prediction(effects: pd.DataFrame, predicted: Mapping[float, str]) -> dict[str, object]:
    """The pre-registered readings (censoring.prediction) against the observed ones."""
    observed = dict(zip(effects.imbalance_ratio.astype(float), effects.reading, strict=True))
    hits = [float(r) for r, want in predicted.items() if observed.get(float(r)) == want]
    return {
        "predicted": {f"{r:g}": v for r, v in predicted.items()},
        "observed": {f"{r:g}": v for r, v in observed.items()},
        "held": len(hits) == len(predicted),
        "held_at": [f"{r:g}" for r in hits],
        "rhos": int(np.size(list(predicted))),
    }
