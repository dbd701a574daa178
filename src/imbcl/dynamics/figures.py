"""Seaborn figures, one file each, readable without the code: titled panels, labelled axes
with units, a legend saying what lines and points are. Each function returns the caption
used in the report."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from imbcl.core.plotting import GROUP_COLORS, STAGE_SHADES, save, style
from imbcl.dynamics.stages import modal_median
from imbcl.synthetic.measures import GROUPS, feature_strength, group_curves
from imbcl.synthetic.train import SavedRuns, Trajectory


def plot_trajectories(
    long: pd.DataFrame, stages: pd.DataFrame, path: str | Path, titles: dict[str, str]
) -> str:
    """(a) Group trajectories per role with detected stages shaded.

    long: columns role, seed, step, group, value. stages: role, seed, stage, start, end.
    """
    style()
    roles = list(titles)
    fig, axes = plt.subplots(1, len(roles), figsize=(6.2 * len(roles), 4.4), sharey=True)
    for ax, role in zip(np.atleast_1d(axes), roles, strict=True):
        for k, (start, end) in enumerate(_modal_spans(stages[stages.role == role])[0]):
            ax.axvspan(start, end, color=STAGE_SHADES[k % len(STAGE_SHADES)], alpha=0.6, lw=0)
            ax.text(
                (start + end) / 2,
                0.98,
                f"S{k + 1}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=9,
                color="#444",
            )
        sns.lineplot(
            data=long[long.role == role],
            x="step",
            y="value",
            hue="group",
            palette=GROUP_COLORS,
            errorbar=("pi", 100),
            ax=ax,
            legend=ax is axes[0],
        )
        ax.set_yscale("log")
        ax.set_title(titles[role])
        ax.set_xlabel("training step")
        ax.set_ylabel("feature strength / noise residual (log scale)")
    np.atleast_1d(axes)[0].legend(
        title="curve (mean; band = range over seeds)",
        fontsize=8,
        title_fontsize=8,
        loc="lower right",
    )
    fig.suptitle("Neuron dynamics: best-neuron feature alignment per group, and noise residual")
    save(fig, path)
    said = []
    for role in roles:
        final = long[long.role == role]
        final = final[final.step == final.step.max()].groupby("group")["value"].mean()
        spans, n_same = _modal_spans(stages[stages.role == role])
        ends = ", ".join(f"{end:g}" for _, end in spans[:-1])
        n_seeds = stages[stages.role == role].seed.nunique()
        said.append(
            f"{titles[role]}: {len(spans)} stages in {n_same} of {n_seeds} seeds, ending at "
            f"steps {ends or '-'} (median); final majority {final.get('majority', np.nan):.3g}, "
            f"minority {final.get('minority', np.nan):.3g}, noise {final.get('noise', np.nan):.3g}"
        )
    return (
        "Feature strength max_i |<u_i, M_j>| averaged over majority and minority features, "
        "and the mean noise residual, over training; shading marks the stages S1, S2, ... "
        "found by change-point detection (medians over the seeds with the most common "
        "count). " + ". ".join(said) + "."
    )


def plot_final_alignment(points: pd.DataFrame, path: str | Path, titles: dict[str, str]) -> str:
    """(b) Final feature strength per feature, one point per seed.

    points: columns role, seed, feature, group, value.
    """
    style()
    roles = list(titles)
    fig, axes = plt.subplots(1, len(roles), figsize=(6.2 * len(roles), 4.0), sharey=True)
    for ax, role in zip(np.atleast_1d(axes), roles, strict=True):
        data = points[points.role == role]
        sns.stripplot(
            data=data,
            x="feature",
            y="value",
            hue="group",
            palette=GROUP_COLORS,
            dodge=False,
            jitter=0.15,
            size=5,
            ax=ax,
            legend=ax is axes[0],
        )
        means = data.groupby("group")["value"].mean()
        for g, v in means.items():
            ax.axhline(v, color=GROUP_COLORS[str(g)], ls="--", lw=1)
        ax.set_title(titles[role])
        ax.set_xlabel("feature j (majority first)")
        ax.set_ylabel("final max_i |<u_i, M_j>|")
    np.atleast_1d(axes)[0].legend(title="group (dashed: group mean)", fontsize=8, title_fontsize=8)
    fig.suptitle("Final strength of each feature in its best neuron (points: seeds)")
    save(fig, path)
    means = points.groupby(["role", "group"])["value"].mean()
    said = "; ".join(
        f"{titles[r]}: majority {means[r, 'majority']:.3g}, minority {means[r, 'minority']:.3g}"
        for r in roles
    )
    return (
        "Final strength of every feature in its best-aligned neuron, one point per seed; "
        f"dashed lines are group means ({said})."
    )


def lucky_curves(traj: Trajectory, majority: np.ndarray) -> dict[str, np.ndarray]:
    """Figure 1's curves of one run, each (S,), averaged over the group's features j.

    lucky_<g>: |<u_i*, M_j>| of feature j's lucky neuron i* (the largest initial alignment
    |<u_i, M_j>| at the first logged step); ordinary_<g>: the median of |<u_i, M_j>| over
    the other neurons; noise_<g>: the lucky neurons' noise residual ||u_i* - M M^T u_i*||.
    """
    a = np.abs(traj.proj)  # (S, m, K)
    lucky = a[0].argmax(axis=0)  # (K,)
    out = {}
    for g, mask in (("majority", majority), ("minority", ~majority)):
        feats = np.flatnonzero(mask)
        out[f"lucky_{g}"] = np.mean([a[:, lucky[j], j] for j in feats], axis=0)
        out[f"ordinary_{g}"] = np.mean(
            [np.median(np.delete(a[:, :, j], lucky[j], axis=1), axis=1) for j in feats], axis=0
        )
        out[f"noise_{g}"] = np.mean([traj.noise[:, lucky[j]] for j in feats], axis=0)
    return out


def _median_bounds(boundaries: list[list[int]]) -> np.ndarray:
    """Median inner stage boundaries over seeds with the most common number of stages."""
    return modal_median([list(b[1:-1]) for b in boundaries])[0]


def _modal_spans(stages: pd.DataFrame) -> tuple[list[tuple[float, float]], int]:
    """(start, end) of each stage, medians over the seeds with the most common number of
    stages (dynamics.stages.modal_median), and that many seeds. stages: seed, stage, start,
    end rows of one role."""
    by_seed = [g.sort_values("stage") for _, g in stages.groupby("seed")]
    starts, n = modal_median([g.start.tolist() for g in by_seed])
    ends, _ = modal_median([g.end.tolist() for g in by_seed])
    return list(zip(starts.tolist(), ends.tolist(), strict=True)), n


def _above_bias(steps: np.ndarray, curve: np.ndarray, bias: np.ndarray) -> str:
    """Where a component stands against the bias: from which step on it stays above, or
    below at the end (inside the BReLU dead zone)."""
    above = curve > bias
    if not above[-1]:
        return "below the bias at the end"
    below = np.flatnonzero(~above)
    return (
        "above the bias throughout"
        if not len(below)
        else (f"above the bias from step {int(steps[below[-1] + 1])}")
    )


def _lucky_frame(
    runs: SavedRuns, majority: np.ndarray, stage_steps: dict[str, list[int]]
) -> tuple[pd.DataFrame, dict[str, list[list[int]]]]:
    """One row per (role, seed, logged step) with the bias and `lucky_curves`; and per role
    the runs' stage boundaries (steps)."""
    frames: list[pd.DataFrame] = []
    stages: dict[str, list[list[int]]] = {}
    for spec, traj in zip(runs.specs, runs.trajectories, strict=True):
        curves = lucky_curves(traj, majority)
        for role in runs.roles_of(spec):
            frames.append(
                pd.DataFrame(
                    {
                        "role": role,
                        "seed": spec.seed,
                        "step": traj.steps,
                        "bias": traj.bias,
                        **curves,
                    }
                )
            )
            stages.setdefault(role, []).append(stage_steps[spec.name])
    return pd.concat(frames), stages


def _final_values(m: pd.DataFrame, role: str, rho: float) -> str:
    """A role's final lucky and ordinary components per group, from the seed means `m`
    (indexed by step), and when the lucky neuron rose above the bias."""
    steps, b = m.index.to_numpy(), m["bias"].to_numpy()
    parts = [
        f"{g} lucky {m[f'lucky_{g}'].iloc[-1]:.3g} vs ordinary "
        f"{m[f'ordinary_{g}'].iloc[-1]:.3g}, "
        f"{_above_bias(steps, m[f'lucky_{g}'].to_numpy(), b)}"
        for g in ("majority", "minority")
    ]
    return f"{role} (rho = {rho:g}; final bias {b[-1]:.3g}): " + "; ".join(parts)


def plot_neuron_projections(
    runs: SavedRuns, majority: np.ndarray, stage_steps: dict[str, list[int]], path: str | Path
) -> str:
    """The paper's Figure 1: lucky against ordinary neurons' feature components and the
    noise component over training, per group and role, with the stages and the bias b(t)."""
    style()
    roles = [r for r in ("imbalanced", "balanced") if r in runs.roles]
    data, stages = _lucky_frame(runs, majority, stage_steps)
    mean = data.groupby(["role", "step"]).mean(numeric_only=True)
    fig, axes = plt.subplots(
        2, len(roles), figsize=(6.2 * len(roles), 8.2), sharex=True, sharey=True, squeeze=False
    )
    lines = {
        "lucky": ("-", 2.2, "lucky neuron of feature j"),
        "ordinary": ("--", 1.4, "ordinary neurons (median)"),
        "noise": (":", 1.6, "noise residual of the lucky neuron"),
    }
    for col, role in enumerate(roles):
        bounds = _median_bounds(stages[role])
        for row, g in enumerate(("majority", "minority")):
            ax = axes[row, col]
            for kind, (ls, lw, _) in lines.items():
                sns.lineplot(
                    data=data[data.role == role],
                    x="step",
                    y=f"{kind}_{g}",
                    color=GROUP_COLORS[g] if kind != "noise" else GROUP_COLORS["noise"],
                    ls=ls,
                    lw=lw,
                    errorbar=("pi", 100),
                    ax=ax,
                    legend=False,
                )
            m = mean.loc[role]
            ax.plot(m.index, m["bias"], color="black", lw=1.2, ls="-.")
            for k, step in enumerate(np.atleast_1d(bounds)):
                ax.axvline(step, color="#555", lw=0.8)
                ax.text(
                    step,
                    0.02,
                    f" S{k + 1}|S{k + 2}",
                    transform=ax.get_xaxis_transform(),
                    fontsize=8,
                    color="#555",
                )
            ax.set_yscale("log")
            ax.set_title(f"{role} (rho = {runs.roles[role]:g}): {g} features")
            ax.set_xlabel("training step")
            ax.set_ylabel("|<u_i, M_j>| / noise residual")
    handles = [Line2D([], [], color="#444", ls=ls, lw=lw, label=t) for ls, lw, t in lines.values()]
    handles.append(Line2D([], [], color="black", ls="-.", lw=1.2, label="bias b(t)"))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.subplots_adjust(bottom=0.12, hspace=0.3)
    fig.suptitle(
        "Lucky neurons (largest initial alignment with feature j) against ordinary "
        "ones; lines: seed means, bands: range over seeds"
    )
    save(fig, path)
    said = [_final_values(mean.loc[role], role, runs.roles[role]) for role in roles]
    return (
        "The paper's Figure 1 on our runs (default model): per feature j, the component "
        "|<u_i, M_j>| of its lucky neuron (solid), the median over the other neurons "
        "(dashed), the lucky neurons' noise residual (dotted) and the bias b(t) "
        "(dash-dotted), averaged over the group's features; vertical lines are the detected "
        f"stage boundaries (median over seeds). Final values: {'. '.join(said)}."
    )


def draw(
    runs: SavedRuns,
    majority: np.ndarray,
    stage_steps: dict[str, list[int]],
    figure_dir: str | Path,
) -> tuple[pd.DataFrame, list[dict]]:
    """Both figures of the dense runs, into `figure_dir`.

    majority (K,) bool; stage_steps: run name -> stage boundaries (the analyze stage's).
    Returns the seed-mean group curves, one column per (role, group) (the data of
    `dvc plots`), and the figures' index [{"file", "caption"}].
    """
    titles = {r: f"{r} (rho = {runs.roles[r]:g})" for r in ("imbalanced", "balanced")}
    long, stages, points = [], [], []
    for spec, traj in zip(runs.specs, runs.trajectories, strict=True):
        curves, b = group_curves(traj, majority), stage_steps[spec.name]
        final = feature_strength(traj.proj[-1])
        for role in runs.roles_of(spec):
            for g in GROUPS:
                frame = {"role": role, "seed": spec.seed, "step": traj.steps, "group": g}
                long.append(pd.DataFrame({**frame, "value": curves[g]}))
            stages += [
                {"role": role, "seed": spec.seed, "stage": k, "start": b[k], "end": b[k + 1]}
                for k in range(len(b) - 1)
            ]
            points += [
                {
                    "role": role,
                    "seed": spec.seed,
                    "feature": j,
                    "group": "majority" if majority[j] else "minority",
                    "value": final[j],
                }
                for j in range(len(final))
            ]
    curves_long = pd.concat(long)
    wide = curves_long.groupby(["step", "role", "group"])["value"].mean().unstack(["role", "group"])
    wide.columns = [f"{role}_{group}" for role, group in wide.columns]
    out = Path(figure_dir)
    index = [
        {
            "file": "trajectories.png",
            "caption": plot_trajectories(
                curves_long, pd.DataFrame(stages), out / "trajectories.png", titles
            ),
        },
        {
            "file": "neuron_projections.png",
            "caption": plot_neuron_projections(
                runs, majority, stage_steps, out / "neuron_projections.png"
            ),
        },
        {
            "file": "final_alignment.png",
            "caption": plot_final_alignment(
                pd.DataFrame(points), out / "final_alignment.png", titles
            ),
        },
    ]
    return wide, index
