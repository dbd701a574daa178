"""Stage imbalance: claims C3-C5 from the sweep, their figures and tables.

    python stages/imbalance.py   reads runs/sweep and params.yaml [seed, sweep, analyze,
                                 model.bias_final]
writes runs/imbalance/metrics.json  flat means over seeds (per rho at the widest width,
                                    minority coverage per (rho, m), m* and its slope)
       runs/imbalance/claims.json   rows C3, C4, C5
       runs/imbalance/figures.json  the four figures and their captions
       reports/figures/imbalance_{specialisation,coverage,min_width,separation}.png
       reports/tables/imbalance_runs.csv      one row per sweep run
       reports/tables/imbalance_regimes.md    per rho: each gap with its interval, and m*
"""

import numpy as np
import pandas as pd

from imbcl.core import cli, config
from imbcl.core.io import atomic_dir, atomic_path, write_json, write_text
from imbcl.imbalance import figures as imbalance_figures
from imbcl.imbalance.claims import (
    claim_c3,
    claim_c4,
    claim_c5,
    metrics,
    regimes,
    sweep_table,
    width_trend,
)
from imbcl.imbalance.grid import load_sweep

SWEEP, OUT, FIG, TABLE = "runs/sweep", "runs/imbalance", "reports/figures", "reports/tables"


def regime_table(table: pd.DataFrame, trend: dict, width: int, confidence: float) -> str:
    """Markdown: for each rho, the three gaps (majority - minority) and m*, so a reader sees
    where each effect appears and where it does not."""
    gaps = {
        m: regimes(table, width, m, confidence) for m in ("neurons", "best_align", "separation")
    }
    cover = table[table.width == width].groupby("imbalance_ratio").coverage_minority.mean()
    rows = []
    for r, mstar in zip(trend["ratios"], trend["mstar_minority"], strict=True):
        rows.append(
            {
                "rho": f"{r:g}",
                f"neuron gap (m={width})": str(gaps["neurons"][r]),
                "best-alignment gap": str(gaps["best_align"][r]),
                "separation gap": str(gaps["separation"][r]),
                f"minority coverage (m={width})": f"{cover.loc[r]:.2f}",
                "minority m*": f"{mstar:g}"
                if np.isfinite(mstar)
                else f"> {trend['widths'].max():g}",
            }
        )
    note = (
        f"Gaps are majority - minority, mean over seeds [{confidence:.0%} t-interval]; "
        "an interval above 0 means the effect is present at that rho.\n\n"
    )
    return note + pd.DataFrame(rows).to_markdown(index=False) + "\n"


def main() -> None:
    p = config.load(cli.params_path(), "model", "analyze", "sweep")
    states, majority = load_sweep(cli.require(SWEEP, "the sweep stage's output"))
    s, conf = p.sweep, p.analyze.confidence
    width = max(s.widths)
    table = sweep_table(states, majority, p.analyze.specialise_threshold, p.model.bias_final)
    trend = width_trend(table, s.cover_share, s.bootstrap, conf, p.seed)
    claims = [
        claim_c3(table, s.test_ratio, width, conf, p.analyze.specialise_threshold).as_dict(),
        claim_c4(trend, s.slope_min, s.cover_share).as_dict(),
        claim_c5(table, s.test_ratio, width, conf).as_dict(),
    ]
    figs = [
        (
            "imbalance_specialisation.png",
            lambda f: imbalance_figures.specialisation(
                table, width, p.analyze.specialise_threshold, conf, f
            ),
        ),
        ("imbalance_coverage.png", lambda f: imbalance_figures.coverage_heatmap(table, f)),
        (
            "imbalance_min_width.png",
            lambda f: imbalance_figures.min_width(trend, s.cover_share, conf, f),
        ),
        ("imbalance_separation.png", lambda f: imbalance_figures.separation(table, width, conf, f)),
    ]
    index = [{"file": name, "caption": draw(f"{FIG}/{name}")} for name, draw in figs]
    with atomic_path(f"{TABLE}/imbalance_runs.csv") as tmp:
        table.round(6).to_csv(tmp, index=False)
    write_text(f"{TABLE}/imbalance_regimes.md", regime_table(table, trend, width, conf))
    with atomic_dir(OUT) as tmp:
        write_json(tmp / "metrics.json", metrics(table, trend, width))
        write_json(tmp / "claims.json", claims)
        write_json(
            tmp / "figures.json",
            {
                "section": f"Imbalance sweeps (C3-C5): d = {s.dim}, K = {s.n_features} "
                f"({s.n_majority} majority), L = {s.tokens}, {s.steps} steps, "
                f"{s.seeds} seeds per (rho, m)",
                "figures": index,
            },
        )


if __name__ == "__main__":
    cli.run(main)
