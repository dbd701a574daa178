"""The long-tail track's table: mean ± std over seeds per (rho, encoder), the raw-pixel and
untrained baselines beside the trained encoders, its metrics, its Markdown and LaTeX forms,
and the paper's numbers beside ours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.core import tables
from imbcl.core.claims import Claim
from imbcl.core.verdicts import claim_metrics
from imbcl.longtail.params import RealParams
from imbcl.longtail.splits import rho_key

BASELINES = ("raw", "untrained")


ENCODERS = (*BASELINES, "dense", "pruned", "random", "sdclr")


def labels(cfg: RealParams) -> dict[str, str]:
    """What each encoder is called in tables and figures."""
    pruned = f"pruned (Algorithm 1, forward mask, alpha {cfg.prune_alpha:g})"
    random = "random forward mask (control)"
    return {
        "raw": "raw pixels",
        "untrained": "untrained ViT",
        "dense": "dense SimCLR",
        "pruned": pruned,
        "random": random,
        "sdclr": "SDCLR",
    }


def _rho_label(rho: float) -> str:
    return "–" if np.isnan(rho) else rho_key(rho)


def summary(rows: pd.DataFrame, cfg: RealParams) -> pd.DataFrame:
    """One row per (rho, encoder): mean and std over seeds of every score column; the
    baselines first (rho '–': not trained on any split), then rho ascending."""
    cols = [c for c in rows.columns if c not in ("rho", "variant", "seed")]
    keyed = rows.assign(rho=[_rho_label(r) for r in rows.rho])
    g = keyed.groupby(["rho", "variant"], sort=False)[cols]
    mean, std = g.mean(), g.std(ddof=1).fillna(0.0)
    out = pd.concat({"mean": mean, "std": std}, axis=1)
    out.columns = [f"{c}_{stat}" for stat, c in out.columns]
    out.insert(0, "seeds", g.size())
    order = [("–", v) for v in BASELINES] + [
        (rho_key(r), v) for r in sorted(cfg.ratios) for v in ENCODERS if v not in BASELINES
    ]
    return out.loc[[k for k in order if k in out.index]].reset_index()


def table(rows: pd.DataFrame, cfg: RealParams) -> pd.DataFrame:
    """`summary`: rho, variant, seeds, <score>_mean, <score>_std."""
    return summary(rows, cfg)


def metrics(table: pd.DataFrame, claim: Claim) -> dict[str, float]:
    """`<rho>.<variant>.<score>` (rho 'baseline' for the baselines): the mean over seeds of
    every score; then C7's value, interval and blocks, and the encoder's health."""
    out = {
        f"{'baseline' if r.rho == '–' else 'rho' + r.rho}.{r.variant}.{c.removesuffix('_mean')}": (
            getattr(r, c)
        )
        for r in table.itertuples(index=False)
        for c in table.columns
        if c.endswith("_mean")
    }
    out |= claim_metrics(claim)
    out |= {f"C7.health.{k}": v for k, v in claim.health.items() if isinstance(v, float)}
    return out


TABLE_COLUMNS = [
    ("probe_overall", "overall"),
    ("probe_many", "many"),
    ("probe_medium", "medium"),
    ("probe_few", "few"),
    ("probe_d20", "Δ20"),
    ("probe_gap", "many - few"),
    ("probe_balancedness", "balancedness (std)"),
    ("knn_overall", "kNN overall"),
    ("knn_few", "kNN few"),
]


def formatted(table: pd.DataFrame, cfg: RealParams | None = None) -> pd.DataFrame:
    """Percentages as 'mean ± std' strings, one row per (rho, encoder)."""
    names = labels(cfg or RealParams())
    out = pd.DataFrame(
        {
            "rho": table["rho"],
            "encoder": [names[v] for v in table["variant"]],
            "seeds": table["seeds"],
        }
    )
    for col, label in TABLE_COLUMNS:
        out[label] = [
            f"{100 * m:.1f} ± {100 * s:.1f}"
            for m, s in zip(table[f"{col}_mean"], table[f"{col}_std"], strict=True)
        ]
    return out


def markdown(table: pd.DataFrame, cfg: RealParams) -> str:
    """The table as the report shows it, with a note on what the rows are."""
    note = (
        f"Linear-probe (and kNN) accuracy (%) on the balanced test split of {cfg.dataset}-LT, "
        "mean ± std over seeds (both blocks); groups by the training counts at rho = "
        f"{cfg.imbalance_ratio:g} ({cfg.split_rule}). rho '–': baselines trained on no split "
        "(raw pixels: the probe on the normalised pixels; untrained ViT: each seed's "
        "initialisation). The paper's numbers beside ours: "
        "[longtail_paper.md](longtail_paper.md).\n\n"
    )
    return note + formatted(table, cfg).to_markdown(index=False) + "\n"


def latex(table: pd.DataFrame, cfg: RealParams) -> str:
    """`formatted(table)` as a booktabs LaTeX table (the project's one writer)."""
    caption = (
        f"Linear-probe accuracy (%) on {cfg.dataset}-LT, mean $\\pm$ std over seeds; groups "
        f"by {cfg.split_rule} of the training counts at $\\rho = {cfg.imbalance_ratio:g}$; "
        "baselines (raw pixels, untrained ViT) beside the trained encoders."
    )
    return tables.latex(formatted(table, cfg), caption)


# The paper's real-data table (SPEC, from the public reading notes; other data, other
# backbone): (data, rho, accuracy without -> with pruning, Delta20 without -> with).
PAPER_ROWS = [
    ("CIFAR-10-LT", 1, 90.93, 91.52, 1.54, 1.28),
    ("CIFAR-10-LT", 10, 79.25, 84.92, 3.42, 2.99),
    ("CIFAR-10-LT", 50, 75.58, 83.60, 3.92, 3.35),
    ("CIFAR-10-LT", 100, 74.24, 81.31, 5.69, 5.62),
    ("CIFAR-100-LT", 10, 51.21, 56.33, 2.45, 1.37),
    ("CIFAR-100-LT", 50, 49.32, 56.12, 4.95, 2.57),
    ("CIFAR-100-LT", 100, 47.12, 54.93, 7.11, 4.38),
    ("ImageNet-LT", 256, 63.21, 65.12, 8.47, 7.21),
]


def paper_table(table: pd.DataFrame, cfg: RealParams) -> str:
    """Markdown: the paper's rows (labelled as the paper's, on its data) and ours, dense ->
    pruned, overall accuracy and Delta20 in percent (ours: mean ± std over seeds)."""
    rows = [
        {
            "source": "paper (reported)",
            "data": data,
            "rho": str(rho),
            "accuracy dense → pruned": f"{a0:.2f} → {a1:.2f}",
            "Δ accuracy": f"{a1 - a0:+.2f}",
            "Δ20 dense → pruned": f"{d0:.2f} → {d1:.2f}",
            "Δ20 change": f"{d1 - d0:+.2f}",
        }
        for data, rho, a0, a1, d0, d1 in PAPER_ROWS
    ]
    by = table.set_index(["rho", "variant"])
    for rho in sorted(cfg.ratios):
        key = rho_key(rho)
        if (key, "dense") not in by.index or (key, "pruned") not in by.index:
            continue
        d, p = by.loc[(key, "dense")], by.loc[(key, "pruned")]

        def cell(r, col):
            return f"{100 * r[f'{col}_mean']:.2f} ± {100 * r[f'{col}_std']:.2f}"

        rows.append(
            {
                "source": "this pipeline",
                "data": f"{cfg.dataset}-LT",
                "rho": key,
                "accuracy dense → pruned": (
                    f"{cell(d, 'probe_overall')} → {cell(p, 'probe_overall')}"
                ),
                "Δ accuracy": f"{100 * (p.probe_overall_mean - d.probe_overall_mean):+.2f}",
                "Δ20 dense → pruned": f"{cell(d, 'probe_d20')} → {cell(p, 'probe_d20')}",
                "Δ20 change": f"{100 * (p.probe_d20_mean - d.probe_d20_mean):+.2f}",
            }
        )
    note = (
        "The paper's real-data rows (as reported in the public reading notes of arXiv "
        "2602.10357; its backbone, epochs and pruning ratio are not reported) beside this "
        f"pipeline's {cfg.dataset}-LT runs ({labels(cfg)['pruned']}). The paper's rows are "
        "on other data and another encoder: set side by side, not compared number for "
        "number. Percent; ours mean ± std over "
        f"{2 * cfg.seeds_per_block} seeds.\n\n"
    )
    return note + pd.DataFrame(rows).to_markdown(index=False) + "\n"
