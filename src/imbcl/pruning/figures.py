"""Figures of the forward-mask study (Algorithm 1) and its sensitivity map."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imbcl.core.plotting import save, style

ARM_COLORS = {"dense": "#4d4d4d", "magnitude": "#d62728", "random": "#1f77b4"}


def ratio_figure(runs: pd.DataFrame, path: str | Path) -> None:
    """log(minority / majority strength) against rho (log axis), one line per arm."""
    style()
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    sns.lineplot(
        data=runs,
        x="rho",
        y="log_ratio",
        hue="arm",
        hue_order=list(ARM_COLORS),
        palette=ARM_COLORS,
        marker="o",
        errorbar=("ci", 95),
        seed=0,  # the bootstrap of the interval: fixed, so the same data give the same PNG
        ax=ax,
    )
    ax.set_xscale("log")
    ax.set_xlabel("imbalance ratio rho")
    ax.set_ylabel("log(minority / majority strength)")
    ax.set_title("Algorithm 1: does pruning remove the dependence on rho?")
    save(fig, path)


def sensitivity_figure(cells: pd.DataFrame, path: str | Path) -> None:
    """Heatmaps of the mean effect on log(min/maj strength): rows = control, columns = rho;
    in each, alpha (rows) x unit / every (columns). A '*' marks a 95% interval above 0,
    an 'o' one below 0."""
    style()
    controls = ["dense", "random"]
    rhos = sorted(cells["rho"].unique())
    fig, axes = plt.subplots(
        len(controls), len(rhos), figsize=(4.2 * len(rhos), 3.4 * len(controls)), squeeze=False
    )
    lim = float(np.nanmax(np.abs(cells["mean"]))) or 1.0
    for i, control in enumerate(controls):
        for j, rho in enumerate(rhos):
            c = cells[(cells.control == control) & (cells.rho == rho)].copy()
            c["schedule"] = c["unit"] + " / " + c["every"].astype(str)
            grid = c.pivot(index="alpha", columns="schedule", values="mean")
            mark = c.assign(m=np.where(c.ci_low > 0, "*", np.where(c.ci_high < 0, "o", ""))).pivot(
                index="alpha", columns="schedule", values="m"
            )
            labels = grid.map(lambda v: f"{v:.2f}") + mark
            sns.heatmap(
                grid,
                ax=axes[i, j],
                cmap="RdBu_r",
                center=0,
                vmin=-lim,
                vmax=lim,
                annot=labels,
                fmt="",
                cbar=j == len(rhos) - 1,
                cbar_kws={"label": "effect on log(min/maj)"},
            )
            axes[i, j].set_title(f"pruned - {control}, rho = {rho:g}")
            axes[i, j].set_xlabel("unit / recompute every (steps)")
            axes[i, j].set_ylabel("alpha" if j == 0 else "")
    fig.suptitle(
        "Sensitivity of Algorithm 1: effect of the magnitude forward mask on "
        "log(minority / majority strength) (* CI above 0, o below)"
    )
    fig.tight_layout()
    save(fig, path)
