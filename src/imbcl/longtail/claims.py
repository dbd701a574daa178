"""The long-tail track's results: the table of mean ± std over seeds per variant, its
metrics, and claim C7 with its pre-registered rule and random-pruning control."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.core import tables
from imbcl.core.claims import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    mean_ci,
    paired_difference,
)
from imbcl.longtail.params import RealParams

VARIANT_LABELS = {
    "dense": "dense",
    "pruned": "magnitude-pruned",
    "random": "random-pruned",
    "sdclr": "SDCLR",
}


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: mean and std over seeds of every score column."""
    cols = [c for c in rows.columns if c not in ("variant", "seed")]
    g = rows.groupby("variant", sort=False)[cols]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    out = pd.concat({"mean": mean, "std": std}, axis=1)
    out.columns = [f"{c}_{stat}" for stat, c in out.columns]
    order = [v for v in VARIANT_LABELS if v in out.index]
    return out.loc[order].reset_index()


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """`summary` with the number of seeds of each variant as its second column."""
    out = summary(rows)
    seeds = rows.groupby("variant", sort=False).size().loc[out.variant].values
    out.insert(1, "seeds", seeds)
    return out


def metrics(table: pd.DataFrame) -> dict[str, float]:
    """`<variant>.<score>`: the mean over seeds of every score, from `table`."""
    return {
        f"{r.variant}.{c.removesuffix('_mean')}": getattr(r, c)
        for r in table.itertuples(index=False)
        for c in table.columns
        if c.endswith("_mean")
    }


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


def latex(table: pd.DataFrame, cfg: RealParams) -> str:
    """`formatted(table)` as a booktabs LaTeX table (the project's one writer)."""
    caption = (
        f"Linear-probe accuracy (%) on {cfg.dataset}-LT ($\\rho = {cfg.imbalance_ratio:g}$), "
        f"mean $\\pm$ std over seeds; groups by {cfg.split_rule} of the training counts."
    )
    return tables.latex(formatted(table), caption)


def _paired(rows: pd.DataFrame, a: str, b: str, col: str) -> np.ndarray:
    """(seeds,) col of variant a minus variant b, matched by seed."""
    return paired_difference(rows[rows.variant == a], rows[rows.variant == b], col)


def claim_c7(rows: pd.DataFrame, cfg: RealParams, dataset: str) -> Claim:
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
