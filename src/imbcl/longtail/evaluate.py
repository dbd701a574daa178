"""Evaluation of the long-tail runs: frozen features, linear probe and kNN accuracy per
many / medium / few group, the long-tail table and claim C7.

Features are the ViT's mean-pooled output f(x) before the projection head. The probe is a
full-batch multinomial logistic regression (scikit-learn, L-BFGS, deterministic) on
standardised features of the balanced probe split; kNN is the weighted vote of the k
nearest probe images by cosine similarity, each weighted exp(cos / T) (solo-learn / DINO).
Both are scored on the balanced test split. Balancedness is the (population) std of the
three group accuracies, as in SDCLR; the head-tail gap is many - few.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from imbcl.core.claims import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    mean_ci,
    paired_difference,
)
from imbcl.core.config import RealConfig
from imbcl.longtail.vit import ViT

GROUPS = ("many", "medium", "few")
VARIANT_LABELS = {
    "dense": "dense",
    "pruned": "magnitude-pruned",
    "random": "random-pruned",
    "sdclr": "SDCLR",
}


@torch.no_grad()
def features(model: ViT, x: torch.Tensor, chunk: int = 1024) -> np.ndarray:
    """x (N, C, H, W) normalised -> f(x) (N, embed_dim) float64."""
    model.eval()
    parts = [model.features(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    return torch.cat(parts).double().cpu().numpy()


def linear_probe(f_fit: np.ndarray, y_fit: np.ndarray, f_test: np.ndarray, c: float) -> np.ndarray:
    """Predicted labels (N_test,) of a logistic regression fitted on (f_fit, y_fit)."""
    scaler = StandardScaler().fit(f_fit)
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(scaler.transform(f_fit), y_fit)
    return clf.predict(scaler.transform(f_test))


def knn_predict(
    f_fit: np.ndarray,
    y_fit: np.ndarray,
    f_test: np.ndarray,
    k: int,
    temperature: float,
    n_classes: int,
    chunk: int = 1024,
) -> np.ndarray:
    """Weighted kNN on cosine similarity; (N_test,) predicted labels.

    Test rows go in chunks so the similarity matrix stays (chunk, N_fit) at CIFAR sizes.
    """
    a = f_fit / np.linalg.norm(f_fit, axis=1, keepdims=True).clip(1e-12)
    b = f_test / np.linalg.norm(f_test, axis=1, keepdims=True).clip(1e-12)
    k = min(k, len(a))
    pred = np.empty(len(b), dtype=np.int64)
    for lo in range(0, len(b), chunk):
        sim = b[lo : lo + chunk] @ a.T  # (chunk, N_fit)
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]  # (chunk, k)
        weight = np.exp(np.take_along_axis(sim, top, axis=1) / temperature)
        votes = np.zeros((len(sim), n_classes))
        np.add.at(votes, (np.arange(len(sim))[:, None], y_fit[top]), weight)
        pred[lo : lo + chunk] = votes.argmax(axis=1)
    return pred


def group_scores(pred: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Overall accuracy, mean per-class accuracy within each group, balancedness, gap."""
    n_classes = len(groups)
    per_class = np.array([(pred[y == c] == c).mean() for c in range(n_classes)])
    out = {"overall": float((pred == y).mean())}
    for g, name in enumerate(GROUPS):
        out[name] = float(per_class[groups == g].mean()) if (groups == g).any() else np.nan
    three = np.array([out[g] for g in GROUPS])
    out["balancedness"] = float(np.nanstd(three))
    out["gap"] = out["many"] - out["few"]
    return out


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: mean and std over seeds of every score column."""
    cols = [c for c in rows.columns if c not in ("variant", "seed")]
    g = rows.groupby("variant", sort=False)[cols]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    out = pd.concat({"mean": mean, "std": std}, axis=1)
    out.columns = [f"{c}_{stat}" for stat, c in out.columns]
    order = [v for v in VARIANT_LABELS if v in out.index]
    return out.loc[order].reset_index()


TABLE_COLUMNS = [
    ("probe_overall", "overall"),
    ("probe_many", "many"),
    ("probe_medium", "medium"),
    ("probe_few", "few"),
    ("probe_balancedness", "balancedness (std)"),
    ("probe_gap", "many - few"),
    ("knn_overall", "kNN overall"),
    ("knn_few", "kNN few"),
]


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Percentages as 'mean ± std' strings, one row per variant."""
    out = pd.DataFrame(
        {"variant": [VARIANT_LABELS[v] for v in table["variant"]], "seeds": table["seeds"]}
    )
    for col, label in TABLE_COLUMNS:
        out[label] = [
            f"{100 * m:.1f} ± {100 * s:.1f}"
            for m, s in zip(table[f"{col}_mean"], table[f"{col}_std"], strict=True)
        ]
    return out


def latex(table: pd.DataFrame, caption: str) -> str:
    """A booktabs table of `formatted(table)`; written by hand to avoid pandas' jinja2 path."""
    f = formatted(table)
    head = " & ".join(str(c).replace("±", r"$\pm$") for c in f.columns) + r" \\"
    body = [
        " & ".join(str(v).replace("±", r"$\pm$") for v in row) + r" \\"
        for row in f.itertuples(index=False)
    ]
    spec = "l" + "r" * (len(f.columns) - 1)
    return "\n".join(
        [
            r"\begin{table}[t]",
            r"\centering",
            rf"\caption{{{caption}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            head,
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
            "",
        ]
    )


def _paired(rows: pd.DataFrame, a: str, b: str, col: str) -> np.ndarray:
    """(seeds,) col of variant a minus variant b, matched by seed."""
    return paired_difference(rows[rows.variant == a], rows[rows.variant == b], col)


def claim_c7(rows: pd.DataFrame, cfg: RealConfig, dataset: str) -> Claim:
    """Pruning raises tail (few-shot) probe accuracy and narrows the head-tail gap."""
    tail = mean_ci(_paired(rows, "pruned", "dense", "probe_few"), cfg.confidence)
    gap = mean_ci(_paired(rows, "pruned", "dense", "probe_gap"), cfg.confidence)
    tail_rand = mean_ci(_paired(rows, "pruned", "random", "probe_few"), cfg.confidence)
    tail_sdclr = mean_ci(_paired(rows, "sdclr", "dense", "probe_few"), cfg.confidence)
    if tail.excludes_zero() and tail.low > 0 and gap.high < 0 and tail_rand.low > 0:
        verdict = SUPPORTED
    elif tail.n > 1 and (tail.mean <= 0 or gap.mean >= 0):
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Claim.from_interval(
        "C7",
        "On real long-tailed images, pruning improves linear-probe accuracy on tail classes "
        "and narrows the head-tail gap.",
        f"{dataset}-LT (rho = {cfg.imbalance_ratio:g}): few-group probe accuracy, "
        f"magnitude-pruned - dense, paired by seed; head-tail gap (many - few) change "
        f"pruned - dense = {gap}",
        tail,
        f"random pruning at the same ratio and step: pruned - random few accuracy "
        f"{tail_rand}; SDCLR - dense few accuracy {tail_sdclr}",
        f"supported if the tail gain's {cfg.confidence:.0%} CI lies above 0, the gap "
        "change's CI below 0, and pruned - random tail accuracy's CI above 0; not supported "
        "if the mean tail gain is <= 0 or the mean gap change is >= 0; otherwise inconclusive",
        verdict,
    )


def figure_groups(
    scores: pd.DataFrame, path: str, title: str, group_names: dict[str, list[str]]
) -> str:
    """Probe accuracy per group and overall for each variant; points are seeds."""
    from imbcl.core import plotting as figures

    figures.style()
    import matplotlib.pyplot as plt
    import seaborn as sns

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
    figures.save(fig, path)
    names = "; ".join(f"{g}: {', '.join(c)}" for g, c in group_names.items())
    return (
        f"Linear-probe accuracy on the balanced test split per class group ({names}) and "
        "overall, for dense SimCLR, magnitude pruning of the MLP neurons, random pruning "
        "at the same ratio and step, and SDCLR; bars are means over seeds, whiskers the "
        "std, dots single seeds."
    )
