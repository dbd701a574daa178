"""The long-tail track's figures, readable without the code; each returns its caption."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from imbcl.core.plotting import save, style
from imbcl.longtail.params import RealParams
from imbcl.longtail.results import BASELINES, ENCODERS, labels
from imbcl.longtail.splits import GROUPS


def plot_groups(
    scores: pd.DataFrame,
    path: str | Path,
    title: str,
    group_names: dict[str, list[str]],
    cfg: RealParams,
) -> str:
    """Probe accuracy per group and overall for each encoder at C7's rho, the baselines
    beside them; points are seeds.

    scores: one row per run with columns rho, variant, seed, probe_<group>, probe_overall.
    """
    style()
    names = labels(cfg)
    shown = scores[scores.variant.isin(BASELINES) | (scores.rho == cfg.imbalance_ratio)]
    long = shown.melt(
        id_vars=["variant", "seed"],
        value_vars=[f"probe_{g}" for g in (*GROUPS, "overall")],
        var_name="group",
        value_name="accuracy",
    )
    long["group"] = long["group"].str.removeprefix("probe_")
    long["variant"] = long["variant"].map(names)
    long["accuracy"] *= 100
    order = [names[v] for v in ENCODERS if v in set(shown.variant)]
    fig, ax = plt.subplots(figsize=(9.0, 4.6))
    sns.barplot(
        data=long,
        x="group",
        y="accuracy",
        hue="variant",
        hue_order=order,
        errorbar="sd",
        capsize=0.1,
        alpha=0.75,
        ax=ax,
    )
    sns.stripplot(
        data=long,
        x="group",
        y="accuracy",
        hue="variant",
        hue_order=order,
        dodge=True,
        palette="dark:black",
        size=2.5,
        legend=False,
        ax=ax,
    )
    low = max(0.0, float(long.accuracy.min()) - 10)
    ax.set_ylim(low, 100)
    ax.set_xlabel("class group (by training count) and overall")
    ax.set_ylabel("linear-probe test accuracy (%)")
    ax.set_title(f"{title}: probe accuracy per class group")
    ax.legend(
        title="encoder (bar: mean,\nwhisker: std, dots: seeds)",
        fontsize=8,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    save(fig, path)
    groups = "; ".join(f"{g}: {', '.join(c)}" for g, c in group_names.items())
    return (
        f"Linear-probe accuracy on the balanced test split per class group ({groups}) and "
        f"overall at rho = {cfg.imbalance_ratio:g}: the raw pixels and the untrained ViT "
        "(baselines), dense SimCLR, pruning (the paper's Algorithm 1 unless labelled "
        "otherwise), its random control and SDCLR; bars are means over seeds, whiskers the "
        f"std, dots single seeds. Few-group accuracy (mean, %): {_few(scores, cfg)}."
    )


def _few(scores: pd.DataFrame, cfg: RealParams) -> str:
    """Each encoder's mean few-group probe accuracy at C7's rho (baselines at any rho)."""
    at = scores[(scores.rho == cfg.imbalance_ratio) | scores.rho.isna()]
    means = at.groupby("variant", sort=False)["probe_few"].mean()
    return ", ".join(f"{v} {100 * a:.1f}" for v, a in means.items())


def plot_curve(
    curve: pd.DataFrame, scores: pd.DataFrame, path: str | Path, title: str, cfg: RealParams
) -> str:
    """The dense encoder's balanced-test probe accuracy against training steps (mean ± std
    over seeds, thin lines single seeds), the baselines as horizontal lines.

    curve: seed, step, probe_overall (step 0 = the untrained encoder).
    """
    style()
    names = labels(cfg)
    fig, ax = plt.subplots(figsize=(7.4, 4.4))
    acc = curve.assign(accuracy=100 * curve.probe_overall)
    for _, one in acc.groupby("seed"):
        ax.plot(one.step, one.accuracy, color="tab:blue", alpha=0.25, lw=0.8)
    mean = acc.groupby("step").accuracy.agg(["mean", "std"]).fillna(0.0)
    ax.plot(
        mean.index,
        mean["mean"],
        color="tab:blue",
        lw=2,
        marker="o",
        ms=4,
        label=f"{names['dense']} (mean ± std)",
    )
    ax.fill_between(
        mean.index,
        mean["mean"] - mean["std"],
        mean["mean"] + mean["std"],
        color="tab:blue",
        alpha=0.15,
    )
    lines = [("raw", "black", "--"), ("untrained", "tab:gray", ":")]
    for variant, colour, dash in lines:
        level = 100 * float(scores[scores.variant == variant].probe_overall.mean())
        ax.axhline(level, color=colour, ls=dash, lw=1.5, label=f"{names[variant]} ({level:.1f})")
    pruned = scores[(scores.variant == "pruned") & (scores.rho == cfg.imbalance_ratio)]
    if len(pruned):
        level = 100 * float(pruned.probe_overall.mean())
        ax.axhline(
            level, color="tab:red", ls="-.", lw=1.2, label=f"pruned, end of training ({level:.1f})"
        )
    untrained = 100 * float(scores[scores.variant == "untrained"].probe_overall.mean())
    ax.axhspan(
        untrained,
        untrained + 100 * cfg.health_margin,
        color="tab:orange",
        alpha=0.12,
        label=f"health margin ({100 * cfg.health_margin:g} points over untrained)",
    )
    ax.set_xlabel("training step")
    ax.set_ylabel("linear-probe test accuracy (%)")
    ax.set_title(f"{title}: does the encoder learn?")
    low = float(np.nanmin([mean["mean"].min(), untrained])) - 5
    ax.set_ylim(max(0.0, low), 100)
    ax.legend(fontsize=8, loc="lower right")
    save(fig, path)
    return (
        f"Balanced-test linear-probe accuracy of the dense SimCLR encoder at rho = "
        f"{cfg.imbalance_ratio:g} against training steps (thick: mean ± std over "
        f"{curve.seed.nunique()} seeds; thin: single seeds; step 0 is the untrained encoder), "
        "with the raw-pixel and untrained-ViT probes as horizontal lines and the health "
        "margin shaded above the untrained level: C7 is decided only when the dense encoder "
        f"ends above the band. Measured: untrained {untrained:.1f}%, dense at the end "
        f"{mean['mean'].iloc[-1]:.1f}%, raw pixels "
        f"{100 * float(scores[scores.variant == 'raw'].probe_overall.mean()):.1f}%."
    )
