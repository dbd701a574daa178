"""Regime maps: where the paper's orderings hold and where they reverse, over the two
settings the paper leaves open or fixes by assumption: the bias level (the calibrate
candidates) and the attention (fixed identity, as in the theory, or trained), against rho.

Every cell (attention, bias, rho) trains `regimes.seeds` runs of the small model at the
sweep's widest width, stacked, and measures per run, majority minus minority (> 0: the
paper's direction):

    c2_gap   feature strength max_i |<u_i, M_j>|, group means
    c3_gap   specialised neurons per feature, counting neuron i for feature j only when it
             specialises in j (normalised alignment >= analyze.specialise_threshold, j its
             best) and |<u_i, M_j>| >= regimes.strength_floor x the run's strongest feature
    c5_gap   feature-to-noise separation log10(a_{i*j} / r_{i*}) (imbalance.measures)

and each run's health (synthetic.health: held-out loss / log B at the cell's rho, the
oracle's, the gap closed, non-zero share, sign accuracy by group), judged by the health
rule. A cell reports the mean and the t-interval over seeds (core.claims.mean_ci) of each
statistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.core.claims import mean_ci
from imbcl.core.params import replace
from imbcl.core.parts import Part
from imbcl.imbalance.measures import by_group, feature_separation, strong_specialists
from imbcl.imbalance.params import RegimesParams
from imbcl.synthetic.bias import candidate_bias
from imbcl.synthetic.calibrate import small_configs
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.health import run_health
from imbcl.synthetic.health_rule import mark
from imbcl.synthetic.measures import feature_strength
from imbcl.synthetic.params import (
    AnalyzeParams,
    CalibrateParams,
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
)
from imbcl.synthetic.train import RunSpec, train_runs

STATISTICS = ("c2_gap", "c3_gap", "c5_gap")
HEALTH = (
    "loss_ratio",
    "oracle_ratio",
    "gap_closed",
    "nonzero_share",
    "sign_majority",
    "sign_minority",
)


def run_statistics(
    proj: np.ndarray,
    norm: np.ndarray,
    noise: np.ndarray,
    majority: np.ndarray,
    threshold: float,
    floor: float,
) -> dict[str, float]:
    """The three majority-minus-minority gaps of one run's final neurons."""
    out = {}
    for name, per_feature in (
        ("c2", feature_strength(proj)),
        ("c3", strong_specialists(proj, norm, threshold, floor).astype(float)),
        ("c5", feature_separation(proj, noise)),
    ):
        g = by_group(per_feature, majority)
        out[f"{name}_majority"], out[f"{name}_minority"] = g["majority"], g["minority"]
        out[f"{name}_gap"] = g["majority"] - g["minority"]
    return out


def run_regimes(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
    width: int,
    cal: CalibrateParams,
    analyze: AnalyzeParams,
    hp: HealthParams,
    reg: RegimesParams,
    seed: int,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per run: attention, bias, imbalance_ratio, seed, the statistics, health."""
    data_s, model_s, train_s = small_configs(data, model, train, small, width)
    dictionary = make_dictionary(data_s, seed)
    M, majority = dictionary.M, dictionary.majority
    specs = [RunSpec(float(r), width, seed + s) for r in reg.ratios for s in range(reg.seeds)]
    train_s = replace(train_s, batched_runs=max(train_s.batched_runs, len(specs)))
    rows = []
    for attention in reg.attentions:
        for c in cal.candidates:
            bias = candidate_bias(c, cal.noise_level)
            m = bias.model(replace(model_s, attention=attention))
            results = train_runs(
                specs, data_s, m, train_s, M, progress=progress, bias_fn=bias.fn(m, M)
            )
            certs = run_health(results, data_s, m, train_s, bias, M, majority, hp, seed)
            for res, cert in zip(results, certs, strict=True):
                traj = res.trajectory
                rows.append(
                    {
                        "attention": attention,
                        "bias": bias.candidate,
                        "imbalance_ratio": res.spec.imbalance_ratio,
                        "seed": res.spec.seed,
                        **run_statistics(
                            traj.proj[-1],
                            traj.norm[-1],
                            traj.noise[-1],
                            majority,
                            analyze.specialise_threshold,
                            reg.strength_floor,
                        ),
                        "loss_ratio": cert["loss_ratio"],
                        "oracle_ratio": cert["oracle_ratio"],
                        "gap_closed": cert["gap_closed"],
                        "nonzero_share": cert["nonzero_share"],
                        "probe_majority_sign_accuracy": cert["probe_majority_sign_accuracy"],
                        "sign_majority": cert["probe_majority_sign_accuracy"],
                        "sign_minority": cert["probe_minority_sign_accuracy"],
                    }
                )
    return mark(pd.DataFrame(rows), hp).drop(columns="probe_majority_sign_accuracy")


def cell_table(runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """One row per (attention, bias, rho) cell: health means, the share of healthy runs, and
    each statistic's mean, interval bounds and whether the interval excludes 0."""
    rows = []
    keys = ["attention", "bias", "imbalance_ratio"]
    for key, cell in runs.groupby(keys, sort=False):
        row: dict = dict(zip(keys, key, strict=True))
        row["seeds"] = len(cell)
        for h in HEALTH:
            row[h] = float(cell[h].mean())
        row["healthy_share"] = float(cell["healthy"].mean())
        for s in STATISTICS:
            iv = mean_ci(cell[s].to_numpy(), confidence)
            row[s], row[f"{s}_low"], row[f"{s}_high"] = iv.mean, iv.low, iv.high
            row[f"{s}_excludes_0"] = iv.excludes_zero()
        rows.append(row)
    return pd.DataFrame(rows)


def direction(cells: pd.DataFrame, statistic: str) -> dict[str, list[str]]:
    """Cells (as 'attention, bias b, rho r') where the paper's ordering holds (interval
    above 0), reverses (below 0), or is unresolved; imbalanced cells (rho > 1) only."""
    out: dict[str, list[str]] = {"holds": [], "reverses": [], "unresolved": []}
    for _, c in cells[cells.imbalance_ratio > 1].iterrows():
        name = f"{c.attention}, b {c.bias}, rho {c.imbalance_ratio:g}"
        if c[f"{statistic}_low"] > 0 and c[f"{statistic}_excludes_0"]:
            out["holds"].append(name)
        elif c[f"{statistic}_high"] < 0 and c[f"{statistic}_excludes_0"]:
            out["reverses"].append(name)
        else:
            out["unresolved"].append(name)
    return out


def markdown(cells: pd.DataFrame) -> str:
    """The cell table as markdown: health, then each statistic as 'mean [low, high]'."""
    show = cells[["attention", "bias", "imbalance_ratio", "seeds", *HEALTH, "healthy_share"]]
    show = show.copy().round(3)
    for s in STATISTICS:
        show[s] = [
            f"{m:.3g} [{lo:.3g}, {hi:.3g}]"
            for m, lo, hi in zip(cells[s], cells[f"{s}_low"], cells[f"{s}_high"], strict=True)
        ]
    return show.to_markdown(index=False)


def regimes_summary(cells: pd.DataFrame) -> tuple[str, dict[str, list[str]]]:
    """The caption's summary of the cell table (`cell_table`): where C2 holds, reverses or
    is unresolved (`direction`), and the imbalanced cells with unhealthy runs; and C2's
    directions."""
    c2 = direction(cells, "c2_gap")
    summary = (
        "A map, not a verdict (one interval per cell; C2 is decided on the default model, "
        "the summary gives it): the majority ends stronger, C2's direction, in "
        f"{len(c2['holds'])} imbalanced cells ({'; '.join(c2['holds']) or 'none'}), weaker in "
        f"{len(c2['reverses'])} ({'; '.join(c2['reverses']) or 'none'}), unresolved in "
        f"{len(c2['unresolved'])}."
    )
    sick = cells[(cells.imbalance_ratio > 1) & (cells.healthy_share < 1)]
    names = [
        f"{c.attention}, b {c.bias}, rho {c.imbalance_ratio:g} ({c.healthy_share:.0%} healthy)"
        for c in sick.itertuples()
    ]
    summary += (
        f" Imbalanced cells with unhealthy runs (read them with care): {'; '.join(names)}."
        if names
        else " Every imbalanced cell's runs are healthy."
    )
    return summary, c2


def regimes_part(c2: dict[str, list[str]], figure: str, caption: str) -> Part:
    """The report part: C2's cell counts per direction and the figure with its caption."""
    return Part(
        metrics={f"c2_{k}": float(len(v)) for k, v in c2.items()},
        section="Regime maps",
        figures=[{"file": figure, "caption": caption}],
    )
