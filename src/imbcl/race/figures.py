"""The race figure: each cell's observed outcome against its race index (confirmation cells
marked, hit or missed), and the minority / majority ratio against rho (two-scale oracle,
trained encoders, the paper's 1 / rho)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from imbcl.core.plotting import save, style
from imbcl.race.index import OUTCOMES
from imbcl.race.params import Thresholds

LABELS = {
    "dead": "encoder dead",
    "frozen": "minority frozen",
    "weaker": "minority learned,\nweaker",
    "stronger": "minority learned,\nstronger",
}


def race_figure(cells: pd.DataFrame, oracle: pd.DataFrame, t: Thresholds, path: str | Path) -> None:
    """cells: race.csv's rows; oracle: race_oracle.csv's rows; t: the thresholds applied."""
    style()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.4), width_ratios=[1.6, 1])
    finite = cells["index"][np.isfinite(cells["index"])]
    top = float(finite.max()) * 2 if len(finite) else 10.0
    x = cells["index"].clip(upper=top).clip(lower=1.0e-3)
    routes = sorted(cells.route.unique())
    y = cells.observed.map(OUTCOMES.index).astype(float)
    y = y + np.array([(routes.index(r) - len(routes) / 2) * 0.04 for r in cells.route])
    disc = cells.set == "discovery"
    ax.scatter(x[disc], y[disc], s=28, facecolors="none", edgecolors="0.55", label="discovery")
    colors = plt.get_cmap("tab10")
    for k, r in enumerate(r for r in routes if r != "rho x ramp x steps"):
        sel = (~disc) & (cells.route == r)
        hit = sel & (cells.predicted == cells.observed)
        miss = sel & (cells.predicted != cells.observed)
        ax.scatter(x[hit], y[hit], s=40, color=colors(k), marker="o", label=f"{r}")
        ax.scatter(x[miss], y[miss], s=60, color=colors(k), marker="X")
    cuts = [(t.learned, "frozen | learned"), (t.stronger, "weaker | stronger")]
    if t.learned == t.stronger:
        cuts = [(t.learned, "frozen | stronger")]
    for v, name in cuts:
        ax.axvline(v, color="0.3", ls="--", lw=1)
        ax.text(v, len(OUTCOMES) - 0.55, f" {name}", fontsize=7, color="0.3", rotation=90, va="top")
    ax.set_xscale("log")
    ax.set_yticks(range(len(OUTCOMES)), [LABELS[o] for o in OUTCOMES])
    ax.set_ylim(-0.6, len(OUTCOMES) - 0.4)
    ax.set_xlabel(
        "minority race index: stage-1 e-folds before the ramp closes / e-folds to the bias"
    )
    ax.set_title(
        "Observed outcome against the index set before the runs\n"
        "(filled: confirmation, o predicted, X missed; dashed: thresholds from discovery)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="lower right", title="confirmation route", title_fontsize=7)

    bx.plot(oracle.rho, oracle.paper_ratio, "k--", label="paper: eps_min / eps_max = 1 / rho")
    bx.plot(
        oracle.rho,
        oracle.oracle_ratio,
        "o-",
        color="#d62728",
        label="two-scale oracle (loss-optimal)",
    )
    bx.plot(
        oracle.rho, oracle.trained_ratio, "s-", color="#1f77b4", label="trained, max_i |<u_i, M_j>|"
    )
    bx.plot(
        oracle.rho,
        oracle.trained_norm_ratio,
        "^:",
        color="#1f77b4",
        label="trained, response length",
    )
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("imbalance ratio rho")
    bx.set_ylabel("minority / majority scale")
    bx.set_title("Why a learned rare feature ends stronger", fontsize=9)
    bx.legend(fontsize=7)
    save(fig, path)
