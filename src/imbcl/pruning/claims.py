"""From the table of runs (one row per run, see imbcl.pruning.experiment) to C6: paired
effects of a cell, the regime map, the C6 row, the table of variants and the metrics.

Effects are paired by seed: a pruned run minus the dense run it was pruned from, and minus
its random control (same ratio, step and granularity, same seed).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from imbcl.core.claims import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    Interval,
    mean_ci,
    paired_difference,
)
from imbcl.pruning.design import DENSE, MAIN, SWEEP, Cell, candidate
from imbcl.pruning.masks import GRANULARITY, MAGNITUDE
from imbcl.pruning.measures import MEASURES
from imbcl.pruning.params import AblationParams


def select(rows: pd.DataFrame, cell: Cell, control: bool = False) -> pd.DataFrame:
    """The rows of a cell sorted by seed: its pruned runs, or with `control` their random
    controls (for a dense cell, its dense runs)."""
    sel = (rows.part == cell.part) & (rows.role == cell.role) & (rows.bias == cell.bias)
    if cell.dense:
        return rows[sel & (rows.variant == DENSE)].sort_values("seed")
    sel &= (
        (rows.method == cell.method)
        & np.isclose(rows.ratio, cell.ratio)
        & (rows["timing"] == cell.timing)
    )
    sel &= (rows.variant == "random") if control else (rows.variant == cell.method)
    return rows[sel].sort_values("seed")


def effects(
    rows: pd.DataFrame, cell: Cell, col: str, confidence: float
) -> tuple[Interval, Interval]:
    """(pruned - dense, pruned - random) of one column of a cell, t-intervals over seeds."""
    pruned = select(rows, cell)
    return (
        mean_ci(paired_difference(pruned, select(rows, cell.baseline()), col), confidence),
        mean_ci(paired_difference(pruned, select(rows, cell, control=True), col), confidence),
    )


REGIME_MEASURES = ("minority_neurons", "minority_strength")


def regime(rows: pd.DataFrame, ablation: AblationParams, confidence: float) -> pd.DataFrame:
    """Magnitude pruning minus the random mask, and minus the dense run, per (timing, ratio)
    at the default rho, paired by seed, for the C6 statistic (minority neurons per feature)
    and for minority feature strength. `beats` / `loses`: the CI lies above / below 0."""
    out = []
    base = candidate(ablation, SWEEP)
    for measure in REGIME_MEASURES:
        for at in ablation.sweep_at:
            for ratio in ablation.sweep_ratios:
                cell = replace(base, ratio=ratio, timing=str(at))
                vs_dense, vs_random = effects(rows, cell, measure, confidence)
                for versus, iv in (("random", vs_random), ("dense", vs_dense)):
                    out.append(
                        {
                            "measure": measure,
                            "versus": versus,
                            "timing": str(at),
                            "ratio": ratio,
                            "effect": iv.mean,
                            "low": iv.low,
                            "high": iv.high,
                            "beats": iv.excludes_zero() and iv.low > 0,
                            "loses": iv.excludes_zero() and iv.high < 0,
                        }
                    )
    return pd.DataFrame(out)


def c6_verdict(
    neurons_vs_dense: Interval, neurons_vs_random: Interval, sep_vs_dense: Interval
) -> str:
    """Supported if the CIs of minority neurons pruned - dense and pruned - random and of
    minority separation pruned - dense all lie above 0; not supported if either neuron CI
    does not (with more than one seed); otherwise inconclusive."""
    above = [
        iv.excludes_zero() and iv.low > 0
        for iv in (neurons_vs_dense, neurons_vs_random, sep_vs_dense)
    ]
    if all(above):
        return SUPPORTED
    if neurons_vs_dense.n > 1 and not (above[0] and above[1]):
        return NOT_SUPPORTED
    return INCONCLUSIVE


def claim_c6(rows: pd.DataFrame, ablation: AblationParams, confidence: float) -> Claim:
    """The pre-registered variant against the dense run and the random control."""
    cell = candidate(ablation, SWEEP)
    vs_dense, vs_random = effects(rows, cell, "minority_neurons", confidence)
    sep_dense, sep_random = effects(rows, cell, "minority_separation", confidence)
    str_dense, str_random = effects(rows, cell, "minority_strength", confidence)
    probe_dense, probe_random = effects(rows, cell, "probe_minority_auc", confidence)
    balanced = candidate(ablation, SWEEP, role="balanced")
    bal_dense, bal_random = effects(rows, balanced, "minority_neurons", confidence)
    main_dense, main_random = effects(
        rows, candidate(ablation, MAIN), "minority_neurons", confidence
    )
    return Claim.from_interval(
        "C6",
        "Magnitude pruning restores minority features: more neurons specialise in them, "
        "features separate better from noise, downstream quality rises.",
        f"{ablation.method} at ratio {ablation.ratio:g}, step {cell.timing} (pre-registered), rho "
        f"imbalanced, sweep model: minority neurons per feature, pruned - random control "
        f"(paired by seed); pruned - dense {vs_dense}; minority feature-to-noise "
        f"separation pruned - dense {sep_dense}, - random {sep_random}; probe "
        f"minority AUC pruned - dense {probe_dense}, - random {probe_random}; "
        f"minority feature strength pruned - dense {str_dense}, - random {str_random}; "
        f"full-size main runs: pruned - dense {main_dense}, - random {main_random}",
        vs_random,
        f"random mask of the same ratio, step and granularity, and the dense run (same "
        f"seed); balanced rho: pruned - dense {bal_dense}, - random {bal_random}",
        "supported if the CIs of minority neurons pruned - dense and pruned - random and of "
        "minority separation pruned - dense all lie above 0; not supported if either "
        "neuron CI does not; otherwise inconclusive",
        c6_verdict(vs_dense, vs_random, sep_dense),
    )


VARIANT_COLUMNS = (
    "probe_majority_auc",
    "probe_minority_auc",
    "probe_gap_auc",
    "probe_majority_accuracy",
    "probe_minority_accuracy",
    "majority_neurons",
    "minority_neurons",
    "minority_coverage",
    "minority_separation",
)


def variants_table(rows: pd.DataFrame, ablation: AblationParams) -> pd.DataFrame:
    """Rows dense / each magnitude variant / random controls at the pre-registered cell of the
    sweep under its main bias, per rho role: mean ± std over seeds."""
    sel = (
        (rows.part == SWEEP)
        & (rows.bias == ablation.sweep_bias[0])
        & (
            (rows.variant == DENSE)
            | (np.isclose(rows.ratio, ablation.ratio) & (rows["timing"] == str(ablation.at)))
        )
    )
    data = rows[sel].copy()
    data["row"] = np.where(
        data.variant == "random", "random (" + data.method.map(GRANULARITY) + ")", data.variant
    )
    order = {
        name: k
        for k, name in enumerate(
            [DENSE, *MAGNITUDE, "random"] + [f"random ({GRANULARITY[m]})" for m in MAGNITUDE]
        )
    }
    table = []
    for (role, name), grp in data.groupby(["role", "row"], sort=False):
        out = {"rho role": role, "variant": name, "seeds": len(grp)}
        for c in VARIANT_COLUMNS:
            out[c] = f"{grp[c].mean():.3f} ± {grp[c].std(ddof=1):.3f}"
        table.append(out)
    df = pd.DataFrame(table)
    df["_o"] = df["variant"].map(lambda v: order.get(v, 99))
    df["_r"] = df["rho role"].map({"imbalanced": 0, "balanced": 1})
    return df.sort_values(["_r", "_o"]).drop(columns=["_o", "_r"]).reset_index(drop=True)


def variants_caption(ablation: AblationParams) -> str:
    return (
        f"Pruning variants at ratio {ablation.ratio:g}, step {ablation.at} (sweep model, "
        f"{ablation.sweep_seeds} seeds): linear-probe AUC and accuracy per group, "
        "head-tail gap, specialised neurons per feature; mean ± std over seeds."
    )


def metrics(rows: pd.DataFrame, ablation: AblationParams, confidence: float) -> dict[str, float]:
    """Flat means: per part / role / bias / variant at the pre-registered cell, and the
    number of regime cells where magnitude pruning beats or loses to each reference."""
    out: dict[str, float] = {}
    at = str(ablation.at)
    for (part, role, bias, variant), grp in rows.groupby(["part", "role", "bias", "variant"]):
        g = (
            grp
            if variant == DENSE
            else grp[
                np.isclose(grp.ratio, ablation.ratio)
                & (grp["timing"] == at)
                & (grp.method == ablation.method)
            ]
        )
        if g.empty:
            continue
        for col in [*MEASURES, "probe_minority_auc", "probe_gap_auc", "active_fraction"]:
            value = float(g[col].mean()) if col in g else float("nan")
            if np.isfinite(value):  # metrics.json holds numbers only
                out[f"{part}.{role}.{bias}.{variant}.{col}"] = value
    reg = regime(rows, ablation, confidence)
    for (measure, versus), part_rows in reg.groupby(["measure", "versus"]):
        out[f"sweep.regime.{measure}.cells_beating_{versus}"] = float(part_rows.beats.sum())
        out[f"sweep.regime.{measure}.cells_losing_to_{versus}"] = float(part_rows.loses.sum())
    return out
