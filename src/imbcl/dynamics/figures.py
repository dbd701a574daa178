"""Seaborn figures, one file each, readable without the code: titled panels, labelled axes
with units, a legend saying what lines and points are. Each function returns the caption
used in the report."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imbcl.core.plotting import GROUP_COLORS, STAGE_SHADES, save, style
from imbcl.synthetic.measures import GROUPS, feature_strength, group_curves
from imbcl.synthetic.train import SavedRuns


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
        st = stages[stages.role == role].groupby("stage")[["start", "end"]].median()
        for k, (start, end) in enumerate(st.itertuples(index=False)):
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
    return (
        "Feature strength max_i |<u_i, M_j>| averaged over majority and minority features, "
        "and the mean noise residual, over training; shading marks the stages S1, S2, ... found by "
        "change-point detection (median over seeds). Left imbalanced, right balanced control."
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
            "file": "final_alignment.png",
            "caption": plot_final_alignment(
                pd.DataFrame(points), out / "final_alignment.png", titles
            ),
        },
    ]
    return wide, index
