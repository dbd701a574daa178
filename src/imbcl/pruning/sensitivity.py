"""The sensitivity map of Algorithm 1: alpha x every x unit at each rho of the grid.

Per cell (rho, alpha, every, unit) and seed, the effect of the magnitude forward mask on
log(minority / majority strength) against the dense run and against the random forward mask
of the same cell (paired by seed); per cell, the mean and its 95% t-interval over seeds.
The map shows where Algorithm 1 moves the balance and decides nothing.
"""

from __future__ import annotations

import pandas as pd

from imbcl.core.claims import mean_ci
from imbcl.pruning.params import PruneForwardStage

KEYS = ["rho", "alpha", "every", "unit"]


def cell_effects(runs: pd.DataFrame, measure: str = "log_ratio") -> pd.DataFrame:
    """One row per (cell, control): mean effect, 95% interval, seeds."""
    dense = runs[runs.arm == "dense"].set_index(["rho", "seed"])[measure]
    masked = runs[runs.arm != "dense"]
    rows = []
    for key, g in masked.groupby(KEYS, sort=True):
        mag = g[g.arm == "magnitude"].set_index("seed")[measure].sort_index()
        rnd = g[g.arm == "random"].set_index("seed")[measure].sort_index()
        den = dense.loc[key[0]].loc[mag.index]
        for control, base in (("dense", den), ("random", rnd)):
            iv = mean_ci((mag - base.to_numpy()).to_numpy(), 0.95)
            rows.append(
                {
                    **dict(zip(KEYS, key, strict=True)),
                    "control": control,
                    "mean": iv.mean,
                    "ci_low": iv.low,
                    "ci_high": iv.high,
                    "seeds": iv.n,
                }
            )
    return pd.DataFrame(rows)


def sensitivity_caption(p: PruneForwardStage, n_seeds: int) -> str:
    """The sensitivity table's caption: the design and what each mask schedule means."""
    q = p.prune
    return (
        f"Sensitivity of Algorithm 1 (small model, m = {q.width}, {n_seeds} seeds per "
        "cell, one block: a reduced design that shows intervals and decides nothing): the "
        "effect of the magnitude forward mask on log(minority / majority strength) against "
        "the dense run and against the random forward mask of the same alpha, unit and "
        "schedule, mean and 95% t-interval over seeds. every = 1: Algorithm 1; "
        f"{q.sensitivity_every[1:2]}: once per data block (an epoch); "
        f">= {p.small.steps}: one-shot (the mask of step 0 kept)."
    )
