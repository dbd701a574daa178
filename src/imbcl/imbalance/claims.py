"""What imbalance costs the encoder, decided on the sweep: capacity (C3), the width needed to
capture every minority feature (C4) and feature-to-noise separation (C5).

Each claim's statistic is a per-seed trend over the rho grid (a slope on log rho, which
compares every rho with the seed's own balanced run), decided on two replication blocks of
seeds on healthy runs only (core.verdicts), the theory's prediction measured beside it.

    trend    least-squares slope of log m* on log rho, censored m* counted at twice the
             widest width (a lower bound, so the slope is underestimated, never inflated);
             the interval resamples seeds (bootstrap)
The per-run measures and m* are defined in `imbcl.imbalance.measures`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.core.blocks import decide_blocks
from imbcl.core.claims import Claim, Interval, mean_ci
from imbcl.core.verdicts import Decision, claim_row
from imbcl.imbalance.measures import (
    GROUPS,
    covered_cube,
    loglog_slope,
    min_width,
    seed_mstar_slopes,
    seed_slopes,
)
from imbcl.imbalance.params import SweepParams
from imbcl.synthetic.health import claim_health, healthy_by_seed
from imbcl.synthetic.params import AnalyzeParams, ClaimRule, HealthParams


def width_trend(
    table: pd.DataFrame, share: float, n_boot: int, confidence: float, seed: int
) -> dict:
    """m*(rho) of both groups, the slope of log m* on log rho, and seed-bootstrap intervals.

    Also the control statistic at rho = 1: log2(m*_minority / m*_majority), 0 = no gap.
    """
    cubes = {g: covered_cube(table, g) for g in GROUPS}
    ratios, widths = cubes["minority"][1], cubes["minority"][2]
    censor_at = 2.0 * widths.max()
    n_seeds = cubes["minority"][0].shape[-1]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_seeds, size=(n_boot, n_seeds))  # resampled seed indices
    out: dict = {"ratios": ratios, "widths": widths, "censor_at": censor_at, "n_seeds": n_seeds}
    for g in GROUPS:
        cube = cubes[g][0]  # (R, W, S)
        out[f"share_{g}"] = cube.mean(axis=-1)  # (R, W)
        out[f"mstar_{g}"] = min_width(cube, widths, share)  # (R,)
        out[f"boot_{g}"] = min_width(cube[..., idx].transpose(2, 0, 1, 3), widths, share)
    lo_q, hi_q = 50 * (1 - confidence), 50 * (1 + confidence)
    slope = float(loglog_slope(ratios, out["mstar_minority"], censor_at))
    boot = loglog_slope(ratios, out["boot_minority"], censor_at)  # (n_boot,)
    out["slope"] = Interval(
        slope, float(np.percentile(boot, lo_q)), float(np.percentile(boot, hi_q)), n_seeds
    )
    control = ratios == 1.0

    def gap(mstar_min: np.ndarray, mstar_maj: np.ndarray) -> np.ndarray:
        capped = [np.minimum(v, censor_at) for v in (mstar_min, mstar_maj)]
        return np.log2(capped[0] / capped[1])

    g0 = float(gap(out["mstar_minority"][control], out["mstar_majority"][control])[0])
    gb = gap(out["boot_minority"][:, control], out["boot_majority"][:, control])[:, 0]
    out["control_gap"] = Interval(
        g0, float(np.percentile(gb, lo_q)), float(np.percentile(gb, hi_q)), n_seeds
    )
    out["censored"] = [
        float(r) for r, v in zip(ratios, out["mstar_minority"], strict=True) if not np.isfinite(v)
    ]
    return out


def _cell(table: pd.DataFrame, rho: float, width: int) -> pd.DataFrame:
    return table[(table.imbalance_ratio == rho) & (table.width == width)]


def _gap(part: pd.DataFrame, measure: str, confidence: float) -> Interval:
    return mean_ci(part[f"{measure}_majority"] - part[f"{measure}_minority"], confidence)


def paired_at(table: pd.DataFrame, rho: float, width: int, column: str) -> pd.Series:
    """Per seed: column at rho minus column at rho = 1, at `width`."""
    cell = table[table.width == width].set_index(["imbalance_ratio", "seed"])[column]
    return (cell.loc[rho] - cell.loc[1.0]).dropna()


# --- claims ------------------------------------------------------------------------------------


def _decide(
    effects: pd.Series,
    table: pd.DataFrame,
    rule: ClaimRule,
    width: int,
    hp: HealthParams,
    sweep: SweepParams,
    seed: int,
) -> tuple[Decision, dict]:
    decision, summary = decide_blocks(
        effects,
        healthy_by_seed(table[table.width == width]),
        seed,
        sweep.seeds_per_block,
        rule.min_effect,
        rule.seeds_required(),
        hp.min_healthy_share,
    )
    return decision, claim_health(table[table.width == width], summary, hp, f" at m={width}")


def _mixing_prediction(table: pd.DataFrame, width: int, confidence: float) -> str:
    fall = mean_ci(seed_slopes(table, width, "specialists_minority"), confidence)
    rise = mean_ci(seed_slopes(table, width, "mixing"), confidence)
    return (
        "specialists per minority feature fall with rho (slope on log rho < 0): measured "
        f"{fall}; mixing (features read above the strength floor per neuron) rises with rho "
        f"(slope > 0): measured {rise}; m={width}, per-seed slopes over the rho grid"
    )


def claim_c3(
    table: pd.DataFrame,
    width: int,
    analyze: AnalyzeParams,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
) -> Claim:
    """Fewer neurons specialise in minority features, the more so the larger rho."""
    gap = table.specialists_majority - table.specialists_minority
    t = table.assign(gap=gap)
    effects = seed_slopes(t, width, "gap")
    decision, health = _decide(effects, t, sweep.c3, width, hp, sweep, seed)
    point = mean_ci(paired_at(t, sweep.test_ratio, width, "gap"), analyze.confidence)
    return claim_row(
        "C3",
        "Imbalance lowers capacity: fewer neurons specialise in minority features.",
        "per seed: slope on log rho, over the rho grid at m="
        f"{width}, of the specialist gap majority - minority (specialists per feature: "
        f"normalised alignment >= {analyze.specialise_threshold:g} and a component >= "
        f"{sweep.strength_floor:g} x the run's strongest); evidence: the gap at "
        f"rho={sweep.test_ratio:g} minus rho=1, per seed: {point}",
        decision,
        "the seed's own rho=1 run (the slope of the gap minus its balanced value)",
        sweep.c3.min_effect,
        sweep.c3.seeds_required(),
        prediction=_mixing_prediction(t, width, analyze.confidence),
        health=health,
    )


def claim_c4(
    table: pd.DataFrame,
    trend: dict,
    analyze: AnalyzeParams,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
) -> Claim:
    """The width needed to cover every minority feature grows with rho."""
    width = int(table.width.max())
    effects = seed_mstar_slopes(table)
    decision, health = _decide(effects, table, sweep.c4, width, hp, sweep, seed)
    beyond = f">{trend['widths'].max():g}"
    mstar = ", ".join(
        f"{r:g}: {format(v, 'g') if np.isfinite(v) else beyond}"
        for r, v in zip(trend["ratios"], trend["mstar_minority"], strict=True)
    )
    return claim_row(
        "C4",
        "Imbalance raises the width needed before every minority feature is captured.",
        "per seed: slope of log m*_s on log rho, m*_s the smallest width at which the seed "
        f"covers every minority feature (censored at {trend['censor_at']:g}, a lower bound); "
        f"evidence: pooled m* (> {sweep.cover_share:g} of seeds) per rho {mstar}, its slope "
        f"{trend['slope']} (bootstrap); rho=1 width gap log2(m* minority / m* majority) "
        f"{trend['control_gap']}",
        decision,
        "the seed's own rho=1 runs (log m*(rho) - log m*(1) enters the slope)",
        sweep.c4.min_effect,
        sweep.c4.seeds_required(),
        prediction=_mixing_prediction(table, width, analyze.confidence),
        health=health,
    )


def claim_c5(
    table: pd.DataFrame,
    width: int,
    analyze: AnalyzeParams,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
) -> Claim:
    """Minority features separate worse from noise, the more so the larger rho."""
    t = table.assign(gap=table.separation_majority - table.separation_minority)
    effects = seed_slopes(t, width, "gap")
    decision, health = _decide(effects, t, sweep.c5, width, hp, sweep, seed)
    point = mean_ci(paired_at(t, sweep.test_ratio, width, "gap"), analyze.confidence)
    noise = {
        g: mean_ci(seed_slopes(t.assign(r=-t[f"separation_{g}"]), width, "r"), analyze.confidence)
        for g in GROUPS
    }
    return claim_row(
        "C5",
        "Imbalance makes minority features harder to separate from noise.",
        "per seed: slope on log rho, over the rho grid at m="
        f"{width}, of the separation gap majority - minority (separation: log10 of a feature's "
        "best-neuron component over that neuron's noise residual); evidence: the gap at "
        f"rho={sweep.test_ratio:g} minus rho=1, per seed: {point}",
        decision,
        "the seed's own rho=1 run (the slope of the gap minus its balanced value)",
        sweep.c5.min_effect,
        sweep.c5.seeds_required(),
        prediction=(
            "non-feature relative to feature components, log10(noise residual / component) "
            "of each feature's best neuron, rise with rho for the minority group: measured "
            f"slope on log rho minority {noise['minority']}, majority {noise['majority']} "
            f"(m={width})"
        ),
        health=health,
    )
