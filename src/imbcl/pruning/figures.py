"""Seaborn figures of the pruning experiments (claim C6). Each `plot_*` function writes one PNG
and returns its caption for the report; `draw` makes them all from the prune stage's outputs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imbcl.core.cli import require
from imbcl.core.io import load_npz, read_json
from imbcl.core.plotting import save, style
from imbcl.pruning.params import AblationParams
from imbcl.synthetic.measures import group_curves
from imbcl.synthetic.train import load_specs, load_trajectory

VARIANT_COLORS = {"dense": "#7f7f7f", "magnitude": "#d62728", "random": "#1f77b4"}


def _label(rows: pd.DataFrame, method: str) -> pd.Series:
    return rows.variant.map(lambda v: "magnitude" if v == method else v)


def _ratio_panel(ax: plt.Axes, pruned: pd.DataFrame, dense: pd.DataFrame, col: str) -> None:
    """Magnitude and random curves of `col` against the pruning ratio; dense as a dashed line."""
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


def plot_versus_ratio(rows: pd.DataFrame, method: str, timing: str, path: str | Path) -> str:
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
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
    for ax, (col, ylabel) in zip(axes, panels, strict=True):
        _ratio_panel(ax, pruned, dense, col)
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


def plot_probe_vs_ratio(rows: pd.DataFrame, method: str, timing: str, path: str | Path) -> str:
    """Linear-probe AUC per group against the ratio (dense as a dashed line)."""
    style()
    pruned = rows[(rows.method == method) & (rows["timing"] == timing)].copy()
    pruned["curve"] = _label(pruned, method)
    dense = rows[rows.variant == "dense"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharey=True, layout="constrained")
    for ax, group in zip(axes, ("majority", "minority"), strict=True):
        col = f"probe_{group}_auc"
        _ratio_panel(ax, pruned, dense, col)
        ax.axhline(0.5, color="black", lw=0.8, ls=":", label="chance")
        ax.set_title(f"{group} features")
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


def plot_trajectories(long: pd.DataFrame, step: float, path: str | Path, title: str) -> str:
    """Group feature strength over training for dense, magnitude and random runs.

    long: columns curve (dense / magnitude / random), seed, step, group, value.
    """
    style()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
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


def plot_regime_map(regime: pd.DataFrame, method: str, path: str | Path) -> str:
    """Heatmaps over (timing, ratio): rows magnitude - random and magnitude - dense, columns
    the C6 statistic and minority feature strength."""
    style()
    labels = {
        "minority_neurons": "neurons per minority feature (C6 statistic)",
        "minority_strength": "minority feature strength",
    }
    order = list(dict.fromkeys(regime["timing"]))
    measures = list(dict.fromkeys(regime["measure"]))
    versus = list(dict.fromkeys(regime["versus"]))
    fig, axes = plt.subplots(
        len(versus),
        len(measures),
        squeeze=False,
        layout="constrained",
        figsize=(7 * len(measures), 4.4 * len(versus)),
    )
    sentences = []
    for row, other in enumerate(versus):
        for col, measure in enumerate(measures):
            ax = axes[row, col]
            part = regime[(regime.measure == measure) & (regime.versus == other)]
            mean = part.pivot(index="timing", columns="ratio", values="effect").loc[order]
            text = part.assign(
                txt=[
                    f"{r.effect:+.2g}\n[{r.low:+.2g}, {r.high:+.2g}]" + (" *" if r.beats else "")
                    for r in part.itertuples()
                ]
            ).pivot(index="timing", columns="ratio", values="txt")
            lim = float(np.nanmax(np.abs(mean.to_numpy()))) or 1.0
            sns.heatmap(
                mean,
                annot=text.loc[order],
                fmt="",
                cmap="RdBu_r",
                vmin=-lim,
                vmax=lim,
                ax=ax,
                annot_kws={"fontsize": 8},
                cbar_kws={"label": f"magnitude - {other}"},
            )
            ax.set_xlabel("pruning ratio (share of weights removed)")
            ax.set_ylabel("pruning time (step, init, or end of stage 1)")
            ax.set_title(f"{labels[measure]}: magnitude - {other}")
            wins = [f"step {r.timing} / ratio {r.ratio:g}" for r in part.itertuples() if r.beats]
            losses = int(part.loses.sum())
            sentences.append(
                f"on {labels[measure]} it beats {other} "
                + (("at " + ", ".join(wins)) if wins else "in no cell")
                + f" and loses in {losses} of {len(part)} cells"
            )
    fig.suptitle(
        f"The search: {method} minus the random mask of the same ratio and step, "
        "and minus the dense run, paired by seed (mean [95% CI]; * = CI above 0)"
    )
    save(fig, path)
    return (
        f"Regime map of the sweep (default rho): for every pruning time and ratio, "
        f"{method} pruning minus the random mask of the same ratio, step and granularity "
        "(top) and minus the dense run (bottom), paired by seed, mean and 95% CI. "
        "Beating or losing means the CI lies above or below 0: " + "; ".join(sentences) + "."
    )


# --- all figures from the stage outputs --------------------------------------------------------


def trajectories_long(
    train_dir: str | Path, prune_dir: str | Path, majority: np.ndarray, variants: dict[str, str]
) -> pd.DataFrame:
    """Group feature strength over training of the main runs, long format (curve, seed, step,
    group, value): the dense runs of train_dir with the seeds and rho of the pruned runs in
    prune_dir/main, and those (`magnitude` or `random`; variants: run name -> variant)."""
    pruned = load_specs(Path(prune_dir) / "main")
    seeds = {s.seed for s in pruned}
    rho = pruned[0].imbalance_ratio
    runs = [
        (s, Path(train_dir), "dense")
        for s in load_specs(train_dir)
        if s.imbalance_ratio == rho and s.seed in seeds
    ]
    runs += [
        (s, Path(prune_dir) / "main", "random" if variants[s.name] == "random" else "magnitude")
        for s in pruned
    ]
    long = []
    for spec, where, curve in runs:
        traj = load_trajectory(where, spec)
        curves = group_curves(traj, majority)
        for g in ("majority", "minority"):
            long.append(
                pd.DataFrame(
                    {
                        "curve": curve,
                        "seed": spec.seed,
                        "step": traj.steps,
                        "group": g,
                        "value": curves[g],
                    }
                )
            )
    return pd.concat(long)


def draw(
    data_dir: str | Path,
    train_dir: str | Path,
    prune_dir: str | Path,
    fig_dir: str | Path,
    ablation: AblationParams,
) -> list[dict[str, str]]:
    """Every figure of the pruning experiments into fig_dir: [{file, caption}] in report order."""
    what = "the prune stage's output"
    prune_dir, fig_dir = Path(prune_dir), Path(fig_dir)
    rows = pd.read_csv(require(prune_dir / "runs.csv", what), dtype={"timing": str})
    regime = pd.read_csv(require(prune_dir / "regime.csv", what), dtype={"timing": str})
    majority = load_npz(require(Path(data_dir) / "dictionary.npz", "the synthesize output"))[
        "majority"
    ]
    pruning = read_json(require(prune_dir / "main" / "pruning.json", what))
    method, timing = ablation.method, str(ablation.at)
    sweep = rows[
        (rows.part == "sweep") & (rows.role == "imbalanced") & (rows.bias == ablation.sweep_bias[0])
    ]
    long = trajectories_long(train_dir, prune_dir, majority, pruning["variants"])
    step = sorted(pruning["steps"].values())[len(pruning["steps"]) // 2]  # median step
    title = f"Main runs: dense vs {method} vs random mask at ratio {ablation.ratio:g}"
    figures = [
        ("prune_regime.png", lambda f: plot_regime_map(regime, method, f)),
        ("prune_ratio.png", lambda f: plot_versus_ratio(sweep, method, timing, f)),
        ("prune_probe.png", lambda f: plot_probe_vs_ratio(sweep, method, timing, f)),
        ("prune_trajectories.png", lambda f: plot_trajectories(long, step, f, title)),
    ]
    return [{"file": name, "caption": plot(fig_dir / name)} for name, plot in figures]
