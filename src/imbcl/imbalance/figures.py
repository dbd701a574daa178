"""Figures of the imbalance sweep (claims C3-C5), one PNG each, in the style of figures.py.
Each function returns the caption used in the report; captions quote the measured numbers."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imbcl.core.claims import mean_ci
from imbcl.core.plotting import GROUP_COLORS, save, style


def _by_group(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Long format: one row per (run, group) with the measure's value."""
    cols = {f"{measure}_{g}": g for g in ("majority", "minority")}
    long = table.melt(
        id_vars=["imbalance_ratio", "width", "seed"],
        value_vars=list(cols),
        var_name="group",
        value_name="value",
    )
    return long.assign(group=long["group"].map(cols))


def _points_and_means(ax: plt.Axes, long: pd.DataFrame, confidence: float, legend: bool) -> None:
    """Seeds as jittered points, group means with t-intervals, over rho on a log axis."""
    ratios = sorted(long.imbalance_ratio.unique())
    for k, (g, part) in enumerate(long.groupby("group")):
        shift = 1.0 + 0.06 * (k - 0.5)  # keep the two groups apart on the log axis
        rng = np.random.default_rng(k)  # fixed jitter: same data, same bytes
        jitter = np.exp(rng.uniform(-0.03, 0.03, len(part)))
        ax.scatter(
            part.imbalance_ratio * shift * jitter,
            part.value,
            s=14,
            alpha=0.45,
            color=GROUP_COLORS[str(g)],
            lw=0,
            label=f"{g}: one seed" if legend else None,
        )
        ivs = [mean_ci(part[part.imbalance_ratio == r].value, confidence) for r in ratios]
        mean = np.array([iv.mean for iv in ivs])
        err = np.array([[iv.mean - iv.low for iv in ivs], [iv.high - iv.mean for iv in ivs]])
        ax.errorbar(
            np.array(ratios) * shift,
            mean,
            yerr=err,
            color=GROUP_COLORS[str(g)],
            marker="o",
            ms=5,
            capsize=3,
            lw=1.5,
            label=f"{g}: mean, {confidence:.0%} CI" if legend else None,
        )
    ax.set_xscale("log")
    ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
    ax.minorticks_off()
    ax.set_xlabel("imbalance ratio rho (log scale)")


def plot_specialisation(
    table: pd.DataFrame,
    width: int,
    threshold: float,
    floor: float,
    confidence: float,
    path: str | Path,
    regime: str,
) -> str:
    """Specialists per feature (C3's definition, with the strength floor) and best-neuron
    alignment per group, against rho, at one width; regime: C3's regime statement (its
    claims row), quoted in the caption."""
    style()
    wide = table[table.width == width]
    fig, axes = plt.subplots(1, 2, figsize=(12.4, 4.2))
    _points_and_means(axes[0], _by_group(wide, "specialists"), confidence, legend=True)
    axes[0].set_ylabel("specialists per feature (count)")
    axes[0].set_title(f"Specialists per feature (alignment >= {threshold:g}, floor {floor:g})")
    _points_and_means(axes[1], _by_group(wide, "best_align"), confidence, legend=False)
    axes[1].axhline(threshold, color="#444", ls=":", lw=1, label="specialisation threshold")
    axes[1].set_ylabel("best-neuron |<u_i, M_j>| / ||u_i|| (group mean)")
    axes[1].set_title("Threshold-free: best neuron's normalised alignment")
    axes[0].legend(fontsize=8, loc="upper left")
    axes[1].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"C3: capacity given to majority and minority features (width m = {width})")
    save(fig, path)
    top = wide.imbalance_ratio.max()
    lo, hi = (wide[wide.imbalance_ratio == r] for r in (1.0, top))
    return (
        f"C3. Specialists per feature (normalised alignment >= {threshold:g}, the feature the "
        f"neuron's best, and a component >= {floor:g} x the run's strongest: the definition "
        f"C3's verdict uses) and the threshold-free best-neuron alignment, per group, against "
        f"rho at m = {width}; points are seeds, bars {confidence:.0%} t-intervals. Minority "
        f"specialists per feature: {lo.specialists_minority.mean():.2g} at rho = 1, "
        f"{hi.specialists_minority.mean():.2g} at rho = {top:g} (majority "
        f"{lo.specialists_majority.mean():.2g} and {hi.specialists_majority.mean():.2g}). "
        f"C3's verdict per rho (both seed blocks, its claims row): {regime}."
    )


def plot_coverage(table: pd.DataFrame, path: str | Path) -> str:
    """Share of minority (and majority) features with a specialist over (rho, m)."""
    style()
    fig, axes = plt.subplots(1, 2, figsize=(12.4, 4.2), sharey=True)
    for ax, g in zip(axes, ("minority", "majority"), strict=True):
        grid = table.pivot_table(
            index="width", columns="imbalance_ratio", values=f"coverage_{g}", aggfunc="mean"
        ).sort_index(ascending=False)
        grid.columns = [f"{c:g}" for c in grid.columns]
        sns.heatmap(
            grid,
            vmin=0,
            vmax=1,
            cmap="viridis",
            annot=True,
            fmt=".2f",
            ax=ax,
            cbar=ax is axes[-1],
            cbar_kws={"label": "coverage (share of features)"},
        )
        ax.set_title(f"{g} features with >= 1 specialist")
        ax.set_xlabel("imbalance ratio rho")
        ax.set_ylabel("width m (neurons)" if ax is axes[0] else "")
    fig.suptitle("C4: coverage over imbalance ratio and width (share of features, mean over seeds)")
    save(fig, path)
    full = table.groupby(["imbalance_ratio", "width"]).coverage_minority.mean()
    return (
        "C4. Coverage: the share of minority (left) and majority (right) features that "
        "have at least one specialist (alignment and strength floor, as in C3), mean over "
        f"seeds, for every (rho, m) of the grid. Minority coverage at the widest width falls from "
        f"{full.loc[(1.0, table.width.max())]:.2f} at rho = 1 to "
        f"{full.loc[(table.imbalance_ratio.max(), table.width.max())]:.2f} at rho = "
        f"{table.imbalance_ratio.max():g}."
    )


def plot_min_width(trend: dict, share: float, confidence: float, path: str | Path) -> str:
    """m*(rho) of both groups with seed-bootstrap ranges; censored m* drawn as open
    triangles beyond the grid, never as a number."""
    style()
    ratios, widths = trend["ratios"], trend["widths"]
    beyond = 2.0 * widths.max()  # the drawing position of "beyond the grid" only
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    lo_q, hi_q = 50 * (1 - confidence), 50 * (1 + confidence)
    for k, g in enumerate(("majority", "minority")):
        color, shift = GROUP_COLORS[g], 1.0 + 0.05 * (k - 0.5)
        mstar, boot = trend[f"mstar_{g}"], trend[f"boot_{g}"]  # (R,), (B, R)
        drawn = np.where(np.isfinite(boot), boot, beyond)
        low, high = np.percentile(drawn, lo_q, axis=0), np.percentile(drawn, hi_q, axis=0)
        ax.vlines(ratios * shift, low, high, color=color, lw=2, alpha=0.4)
        ok = np.isfinite(mstar)
        ax.plot(
            ratios[ok] * shift,
            mstar[ok],
            "o",
            color=color,
            ms=7,
            label=f"{g}: m* ({confidence:.0%} bootstrap range over seeds)",
        )
        if (~ok).any():
            ax.plot(
                ratios[~ok] * shift,
                np.full((~ok).sum(), beyond),
                "^",
                color=color,
                ms=8,
                mfc="none",
                label=f"{g}: censored (m* > {widths.max():g})",
            )
    ax.set_xscale("log")
    ax.set_yscale("log", base=2)
    ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
    ax.set_yticks([*widths, beyond], [*(f"{w:g}" for w in widths), f">{widths.max():g}"])
    ax.minorticks_off()
    ax.set_xlabel("imbalance ratio rho (log scale)")
    ax.set_ylabel("smallest covering width m* (neurons, log scale)")
    ax.set_title(
        f"C4: width needed to cover every feature of a group in > {share:.0%} of seeds", fontsize=10
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save(fig, path)
    cens = ", ".join(f"{r:g}" for r in trend["censored"]) or "none"
    return (
        f"C4. Smallest width m* of the grid at which every feature of the group has a "
        f"specialist in more than {share:.0%} of seeds, against rho; bars are "
        f"{confidence:.0%} seed-bootstrap ranges, open triangles mark censored m* (beyond "
        f"the widest width {widths.max():g}; no value is imputed). Minority censored at rho: "
        f"{cens}."
    )


def plot_separation(
    table: pd.DataFrame, width: int, confidence: float, path: str | Path, regime: str
) -> str:
    """Feature-to-noise separation of each group's best neurons against rho; regime: C5's
    regime statement (its claims row), quoted in the caption."""
    style()
    wide = table[table.width == width]
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    _points_and_means(ax, _by_group(wide, "separation"), confidence, legend=True)
    ax.set_ylabel("log10(feature alignment / noise residual)")
    ax.set_title(
        f"C5: feature-to-noise separation of each feature's best neuron (m = {width})", fontsize=10
    )
    ax.legend(fontsize=8)
    save(fig, path)
    gaps = wide.assign(gap=wide.separation_majority - wide.separation_minority)
    by_rho = gaps.groupby("imbalance_ratio").gap.mean()
    return (
        f"C5. Feature-to-noise separation log10(|<u_i*, M_j>| / ||noise part of u_i*||) of "
        f"each feature's best neuron i*, group means, against rho at m = {width}; points are "
        f"seeds, bars {confidence:.0%} t-intervals. Majority - minority gap "
        f"{by_rho.loc[1.0]:.2f} at rho = 1 and {by_rho.iloc[-1]:.2f} at rho = "
        f"{by_rho.index[-1]:g}. C5's verdict per rho (both seed blocks, its claims row): "
        f"{regime}."
    )


_STAT_TITLES = {
    "c2_gap": "C2: feature strength, majority - minority",
    "c3_gap": "C3: strong specialists per feature, maj. - min.",
    "c5_gap": "C5: feature-noise separation, maj. - min.",
}


def plot_regimes(cells: pd.DataFrame, path: str | Path) -> str:
    """Heatmaps, one panel per attention x statistic, bias (rows) x rho (columns); cells
    annotated with the seed mean, '*' where the interval excludes 0, '!' where a run of the
    cell is unhealthy. Red: the paper's direction (majority > minority); blue: reversed."""
    style()
    attentions = list(dict.fromkeys(cells.attention))
    stats = list(_STAT_TITLES)
    fig, axes = plt.subplots(
        len(attentions),
        len(stats),
        figsize=(4.6 * len(stats), 3.4 * len(attentions)),
        squeeze=False,
    )
    biases = list(dict.fromkeys(cells.bias))
    for a, att in enumerate(attentions):
        part = cells[cells.attention == att]
        for s, stat in enumerate(stats):
            ax = axes[a, s]
            grid = part.pivot(index="bias", columns="imbalance_ratio", values=stat).loc[biases]
            sig = part.pivot(index="bias", columns="imbalance_ratio", values=f"{stat}_excludes_0")
            ok = part.pivot(index="bias", columns="imbalance_ratio", values="healthy_share")
            labels = grid.copy().astype(object)
            for b in grid.index:
                for r in grid.columns:
                    mark = ("*" if sig.loc[b, r] else "") + ("!" if ok.loc[b, r] < 1 else "")
                    labels.loc[b, r] = f"{grid.loc[b, r]:.2g}{mark}"
            lim = float(np.nanmax(np.abs(grid.to_numpy()))) or 1.0
            sns.heatmap(
                grid,
                ax=ax,
                cmap="RdBu_r",
                center=0,
                vmin=-lim,
                vmax=lim,
                annot=labels.to_numpy(),
                fmt="",
                cbar=True,
                linewidths=0.5,
            )
            ax.set_xticklabels([f"{r:g}" for r in grid.columns])
            ax.set_xlabel("imbalance ratio rho")
            ax.set_ylabel("bias b (after the ramp)" if s == 0 else "")
            ax.set_title(f"{att}\n{_STAT_TITLES[stat]}", fontsize=9)
    fig.suptitle(
        "Regime map: red = paper's direction (majority > minority), blue = reversed; "
        "* 95% interval excludes 0, ! some runs unhealthy",
        fontsize=10,
    )
    fig.tight_layout()
    save(fig, path)
    return (
        "Regime map of C2, C3 and C5 over bias level x imbalance ratio, per attention "
        "variant (small model, widest width): the seed mean of majority minus minority; "
        "* marks an interval excluding 0, ! a cell with an unhealthy run."
    )
