"""The imbalance sweep summarised for the report: the majority - minority gap of a measure at
each rho, the regime table and the flat metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.imbalance.conditions import cell, group_gap
from imbcl.imbalance.measures import width_steps


def regimes(table: pd.DataFrame, width: int, measure: str, confidence: float) -> dict:
    """For each rho at `width`: the majority - minority gap of a measure, with its interval."""
    return {
        float(r): group_gap(cell(table, r, width), measure, confidence)
        for r in sorted(table.imbalance_ratio.unique())
    }


def regime_table(table: pd.DataFrame, trend: dict, width: int, confidence: float) -> str:
    """Markdown: for each rho, the three gaps (majority - minority) and m*, so a reader sees
    where each effect appears and where it does not."""
    gaps = {
        m: regimes(table, width, m, confidence) for m in ("specialists", "best_align", "separation")
    }
    steps = width_steps(table)
    censored = steps.censored.groupby(level="imbalance_ratio").mean()
    cover = table[table.width == width].groupby("imbalance_ratio").coverage_minority.mean()
    rows = []
    for r, mstar in zip(trend["ratios"], trend["mstar_minority"], strict=True):
        rows.append(
            {
                "rho": f"{r:g}",
                f"specialist gap (m={width})": str(gaps["specialists"][r]),
                "best-alignment gap": str(gaps["best_align"][r]),
                "separation gap": str(gaps["separation"][r]),
                f"minority coverage (m={width})": f"{cover.loc[r]:.2f}",
                "minority m*": f"{mstar:g}"
                if np.isfinite(mstar)
                else f"> {trend['widths'].max():g}",
                "seeds censored (minority m* beyond the grid)": f"{censored.loc[r]:.0%}",
            }
        )
    note = (
        f"Gaps are majority - minority, mean over seeds [{confidence:.0%} t-interval]; "
        "an interval above 0 means the effect is present at that rho. Specialists: "
        "normalised alignment above the threshold and a component above the strength floor "
        "(the one definition of C3 and C4).\n\n"
    )
    return note + pd.DataFrame(rows).to_markdown(index=False) + "\n"


def metrics(table: pd.DataFrame, trend: dict, width: int) -> dict[str, float]:
    """Flat means over seeds: per rho at the widest width, coverage per cell, m* and slope."""
    out: dict[str, float] = {}
    wide = table[table.width == width]
    numeric = table.select_dtypes(include=["number", "bool"]).columns  # not `failure`
    cols = [c for c in numeric if c not in ("imbalance_ratio", "width", "seed")]
    for rho, part in wide.groupby("imbalance_ratio"):
        for c in cols:
            out[f"rho{rho:g}.{c}"] = float(part[c].mean())
    for (rho, m), part in table.groupby(["imbalance_ratio", "width"]):
        out[f"coverage_minority.rho{rho:g}_m{m}"] = float(part["coverage_minority"].mean())
    for r, v in zip(trend["ratios"], trend["mstar_minority"], strict=True):
        if np.isfinite(v):
            out[f"mstar_minority.rho{r:g}"] = float(v)
    out["mstar_censored_ratios"] = float(len(trend["censored"]))
    censored = width_steps(table).censored.groupby(level="imbalance_ratio").mean()
    for r, v in censored.items():
        out[f"censored_share_minority.rho{r:g}"] = float(v)
    return out
