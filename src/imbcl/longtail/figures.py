"""The long-tail track's figure, readable without the code; it returns its caption."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from imbcl.core.plotting import save, style
from imbcl.longtail.claims import VARIANT_LABELS
from imbcl.longtail.splits import GROUPS


def plot_groups(
    scores: pd.DataFrame, path: str | Path, title: str, group_names: dict[str, list[str]]
) -> str:
    """Probe accuracy per group and overall for each variant; points are seeds.

    scores: one row per run with columns variant, seed, probe_<group>, probe_overall.
    """
    style()
    long = scores.melt(
        id_vars=["variant", "seed"],
        value_vars=[f"probe_{g}" for g in (*GROUPS, "overall")],
        var_name="group",
        value_name="accuracy",
    )
    long["group"] = long["group"].str.removeprefix("probe_")
    long["variant"] = long["variant"].map(VARIANT_LABELS)
    long["accuracy"] *= 100
    order = [VARIANT_LABELS[v] for v in VARIANT_LABELS if v in set(scores.variant)]
    fig, ax = plt.subplots(figsize=(8.0, 4.4))
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
        size=3,
        legend=False,
        ax=ax,
    )
    ax.set_xlabel("class group (by training count) and overall")
    ax.set_ylabel("linear-probe test accuracy (%)")
    ax.set_title(f"{title}: probe accuracy per class group")
    ax.legend(
        title="run (bar: mean,\nwhisker: std, dots: seeds)",
        fontsize=8,
        title_fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    save(fig, path)
    names = "; ".join(f"{g}: {', '.join(c)}" for g, c in group_names.items())
    return (
        f"Linear-probe accuracy on the balanced test split per class group ({names}) and "
        "overall, for dense SimCLR, magnitude pruning of the MLP neurons, random pruning "
        "at the same ratio and step, and SDCLR; bars are means over seeds, whiskers the "
        "std, dots single seeds."
    )
