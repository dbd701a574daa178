"""Seaborn figures of the pruning experiments (claim C6). Each function writes one PNG and
returns its caption for the report."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imbcl.figures import save, style

VARIANT_COLORS = {"dense": "#7f7f7f", "magnitude": "#d62728", "random": "#1f77b4"}


def _label(rows: pd.DataFrame, method: str) -> pd.Series:
    return rows.variant.map(lambda v: "magnitude" if v == method else v)


def versus_ratio(rows: pd.DataFrame, method: str, timing: str, path: str | Path) -> str:
    """Minority strength and specialised neurons per minority feature against the ratio.

    rows: the sweep's runs at the default rho and the shared bias.
    """
    style()
    pruned = rows[(rows.method == method) & (rows["timing"] == timing)].copy()
    pruned["curve"] = _label(pruned, method)
    dense = rows[rows.variant == "dense"]
    panels = [
        ("minority_strength", "minority feature strength max_i |<u_i, M_j>|"),
        ("minority_neurons", "specialised neurons per minority feature"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (col, ylabel) in zip(axes, panels, strict=True):
        sns.lineplot(
            data=pruned,
            x="ratio",
            y=col,
            hue="curve",
            palette=VARIANT_COLORS,
            marker="o",
            errorbar="se",
            ax=ax,
        )
        ax.axhline(dense[col].mean(), color=VARIANT_COLORS["dense"], ls="--", label="dense")
        ax.set_xlabel("pruning ratio (share of weights removed)")
        ax.set_ylabel(ylabel)
        ax.legend(title="run (mean over seeds; band = ±1 s.e.)", fontsize=8, title_fontsize=8)
    axes[0].set_title("Minority feature strength")
    axes[1].set_title("Neurons specialised in minority features")
    fig.suptitle(f"{method} vs random mask (same ratio, step {timing}) vs dense")
    save(fig, path)
    return (
        f"Sweep model at the default rho: minority feature strength and specialised neurons "
        f"per minority feature after {method} pruning (red) and a random mask of the same "
        f"ratio, step and granularity (blue) at step {timing}, against the pruning ratio; "
        "dashed: the dense run. Mean over seeds, band ±1 standard error."
    )


def probe_vs_ratio(rows: pd.DataFrame, method: str, timing: str, path: str | Path) -> str:
    """Linear-probe AUC per group against the ratio (dense as a dashed line)."""
    style()
    pruned = rows[(rows.method == method) & (rows["timing"] == timing)].copy()
    pruned["curve"] = _label(pruned, method)
    dense = rows[rows.variant == "dense"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, group in zip(axes, ("majority", "minority"), strict=True):
        col = f"probe_{group}_auc"
        sns.lineplot(
            data=pruned,
            x="ratio",
            y=col,
            hue="curve",
            palette=VARIANT_COLORS,
            marker="o",
            errorbar="se",
            ax=ax,
        )
        ax.axhline(dense[col].mean(), color=VARIANT_COLORS["dense"], ls="--", label="dense")
        ax.axhline(0.5, color="black", lw=0.8, ls=":", label="chance")
        ax.set_title(f"{group} features")
        ax.set_xlabel("pruning ratio (share of weights removed)")
        ax.set_ylabel("linear-probe test AUC (feature present?)")
        ax.legend(title="run (mean; band = ±1 s.e.)", fontsize=8, title_fontsize=8)
    fig.suptitle(f"Linear probe on the frozen encoder: {method} vs random vs dense")
    save(fig, path)
    active = rows["active_fraction"].mean()
    return (
        f"Linear-probe test AUC (logistic regression on standardised f(X) of the balanced "
        f"held-out set) per group against the pruning ratio, pruned at step {timing}; "
        f"dashed: dense, dotted: chance. Mean over seeds, band ±1 standard error. On "
        f"average {active:.1%} of the encoder outputs are nonzero at the final bias."
    )


def trajectories(long: pd.DataFrame, step: float, path: str | Path, title: str) -> str:
    """Group feature strength over training for dense, magnitude and random runs.

    long: columns curve (dense / magnitude / random), seed, step, group, value.
    """
    style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, group in zip(axes, ("majority", "minority"), strict=True):
        sns.lineplot(
            data=long[long.group == group],
            x="step",
            y="value",
            hue="curve",
            palette=VARIANT_COLORS,
            errorbar=("pi", 100),
            ax=ax,
        )
        ax.axvline(step, color="black", ls=":", lw=1, label="pruning step")
        ax.set_yscale("log")
        ax.set_title(f"{group} features")
        ax.set_xlabel("training step")
        ax.set_ylabel("feature strength max_i |<u_i, M_j>| (log scale)")
        ax.legend(title="run (mean; band = range over seeds)", fontsize=8, title_fontsize=8)
    fig.suptitle(title)
    save(fig, path)
    return (
        f"Main runs (default size, default rho): feature strength per group over training "
        f"for the dense run, the magnitude-pruned run and the random mask of the same "
        f"ratio; the dotted line marks the pruning step ({step:g})."
    )


def regime_map(regime: pd.DataFrame, method: str, path: str | Path) -> str:
    """Heatmap over (timing, ratio) of magnitude - random minority neurons per feature."""
    style()
    mean = regime.pivot(index="timing", columns="ratio", values="effect")
    order = list(dict.fromkeys(regime["timing"]))
    mean = mean.loc[order]
    text = regime.assign(
        txt=[
            f"{r.effect:+.2f}\n[{r.low:+.2f}, {r.high:+.2f}]" + (" *" if r.beats_random else "")
            for r in regime.itertuples()
        ]
    ).pivot(index="timing", columns="ratio", values="txt")
    text = text.loc[order]
    fig, ax = plt.subplots(figsize=(7, 4.6))
    lim = float(np.nanmax(np.abs(mean.to_numpy()))) or 1.0
    sns.heatmap(
        mean,
        annot=text,
        fmt="",
        cmap="RdBu_r",
        vmin=-lim,
        vmax=lim,
        ax=ax,
        cbar_kws={"label": "magnitude - random (neurons per minority feature)"},
        annot_kws={"fontsize": 8},
    )
    ax.set_xlabel("pruning ratio (share of weights removed)")
    ax.set_ylabel("pruning time (step, init, or end of stage 1)")
    ax.set_title(
        f"Regime map: {method} minus random mask, paired by seed\n(mean [95% CI]; * = CI above 0)"
    )
    save(fig, path)
    wins = [f"step {r.timing} at ratio {r.ratio:g}" for r in regime.itertuples() if r.beats_random]
    where = (
        ("magnitude beats random (95% CI above 0) at " + "; ".join(wins))
        if wins
        else "magnitude pruning beats random pruning in no cell of the grid (no CI lies above 0)"
    )
    return (
        f"The search: for every pruning time and ratio of the sweep, specialised neurons per "
        f"minority feature of {method} pruning minus the random mask of the same ratio and "
        f"step (default rho, paired by seed, mean and 95% CI); {where}."
    )
