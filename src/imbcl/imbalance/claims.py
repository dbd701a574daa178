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

import math

import numpy as np
import pandas as pd

from imbcl.core.blocks import decide_blocks
from imbcl.core.claims import Claim, Interval, mean_ci
from imbcl.core.verdicts import Decision, claim_row
from imbcl.imbalance.grid import FinalState
from imbcl.imbalance.measures import GROUPS, covered_cube, min_width
from imbcl.imbalance.params import SweepParams
from imbcl.synthetic.measures import specialisation
from imbcl.synthetic.params import AnalyzeParams, ClaimRule


def loglog_slope(ratios: np.ndarray, mstar: np.ndarray, censor_at: float) -> np.ndarray:
    """Least-squares slope of log m* on log rho; censored m* count as `censor_at`.

    ratios (R,), mstar (..., R) -> (...,).
    """
    x = np.log(ratios)
    y = np.log(np.minimum(mstar, censor_at))  # censored (inf) -> censor_at
    xc = x - x.mean()
    return ((y - y.mean(axis=-1, keepdims=True)) * xc).sum(axis=-1) / (xc**2).sum()


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


# --- per-run measures the claims add ------------------------------------------------------------


def floor_measures(
    state: FinalState, majority: np.ndarray, threshold: float, floor: float, batch: int
) -> dict:
    """Specialists with a strength floor, mixing and health of one run.

    A neuron i is a specialist of feature j when j is its best feature, its normalised
    alignment is >= threshold, and |<u_i, M_j>| >= floor * the run's strongest component
    max_{i,k} |<u_i, M_k>| (so that a weak, sparse neuron does not count). Mixing: the mean,
    over neurons reading at least one feature above that floor, of the number they read above
    it. loss_ratio: final training InfoNCE loss / log B.
    """
    a = np.abs(state.proj)  # (m, K)
    strong = a >= floor * max(float(a.max()), 1e-12)  # (m, K)
    best = specialisation(state.proj, state.norm, threshold)  # (m,): feature or -1
    k = state.proj.shape[1]
    counts = np.zeros(k)
    for i, j in enumerate(best):
        if j >= 0 and strong[i, j]:
            counts[j] += 1
    reading = strong.sum(axis=1)  # (m,)
    live = reading > 0
    return {
        "imbalance_ratio": state.spec.imbalance_ratio,
        "width": state.spec.width,
        "seed": state.spec.seed,
        "specialists_majority": float(counts[majority].mean()),
        "specialists_minority": float(counts[~majority].mean()),
        "mixing": float(reading[live].mean()) if live.any() else 0.0,
        "loss_ratio": state.loss / math.log(batch),
    }


def with_floor_measures(
    table: pd.DataFrame,
    states: list[FinalState],
    majority: np.ndarray,
    threshold: float,
    floor: float,
    batch: int,
) -> pd.DataFrame:
    """The sweep table with the columns of floor_measures joined on (rho, width, seed)."""
    extra = pd.DataFrame([floor_measures(s, majority, threshold, floor, batch) for s in states])
    return table.merge(extra, on=["imbalance_ratio", "width", "seed"], validate="one_to_one")


# --- per-seed trends over the rho grid ---------------------------------------------------------


def seed_slopes(table: pd.DataFrame, width: int, column: str) -> pd.Series:
    """Per seed: least-squares slope of `column` on log rho over the grid, at `width`.

    The slope of (value at rho - value at rho = 1) is the same number, so it compares each
    rho with the seed's own balanced run."""
    wide = table[table.width == width].pivot(index="seed", columns="imbalance_ratio", values=column)
    wide = wide.dropna()
    x = np.log(wide.columns.to_numpy(dtype=float))
    xc = x - x.mean()
    y = wide.to_numpy(dtype=float)
    slope = ((y - y.mean(axis=1, keepdims=True)) * xc).sum(axis=1) / (xc**2).sum()
    return pd.Series(slope, index=wide.index)


def seed_mstar_slopes(table: pd.DataFrame) -> pd.Series:
    """Per seed: slope of log m*_s on log rho, m*_s the smallest width at which that seed covers
    every minority feature; censored m*_s counted at twice the widest width."""
    widths = np.array(sorted(table.width.unique()), dtype=float)
    censor_at = 2.0 * widths.max()
    full = table.assign(full=table.coverage_minority >= 1.0)
    covered = full.pivot_table(
        index=["seed", "imbalance_ratio"], columns="width", values="full", aggfunc="first"
    )[widths.astype(int)].to_numpy(dtype=bool)  # (S * R, W)
    mstar = np.where(covered.any(axis=1), widths[covered.argmax(axis=1)], np.inf)
    seeds = sorted(table.seed.unique())
    ratios = np.array(sorted(table.imbalance_ratio.unique()), dtype=float)
    slopes = loglog_slope(ratios, mstar.reshape(len(seeds), len(ratios)), censor_at)
    return pd.Series(slopes, index=seeds)


def _cell(table: pd.DataFrame, rho: float, width: int) -> pd.DataFrame:
    return table[(table.imbalance_ratio == rho) & (table.width == width)]


def _gap(part: pd.DataFrame, measure: str, confidence: float) -> Interval:
    return mean_ci(part[f"{measure}_majority"] - part[f"{measure}_minority"], confidence)


def paired_at(table: pd.DataFrame, rho: float, width: int, column: str) -> pd.Series:
    """Per seed: column at rho minus column at rho = 1, at `width`."""
    cell = table[table.width == width].set_index(["imbalance_ratio", "seed"])[column]
    return (cell.loc[rho] - cell.loc[1.0]).dropna()


# --- claims ------------------------------------------------------------------------------------


def healthy_seeds(table: pd.DataFrame, width: int, max_loss_ratio: float) -> pd.Series:
    """Per seed: every run of that seed at `width` ends with loss / log B <= max_loss_ratio."""
    wide = table[table.width == width]
    return (wide.loss_ratio <= max_loss_ratio).groupby(wide.seed).all()


def _decide(
    effects: pd.Series,
    table: pd.DataFrame,
    rule: ClaimRule,
    width: int,
    analyze: AnalyzeParams,
    sweep: SweepParams,
    seed: int,
) -> tuple[Decision, dict]:
    decision, summary = decide_blocks(
        effects,
        healthy_seeds(table, width, analyze.max_loss_ratio),
        seed,
        sweep.seeds_per_block,
        rule.min_effect,
        rule.seeds_required(),
        analyze.min_healthy_share,
    )
    wide = table[table.width == width]
    health = {
        **summary,
        "loss_ratio_max": float(wide.loss_ratio.max()),
        "loss_ratio_median": float(wide.loss_ratio.median()),
        "rule": f"a seed is healthy if each of its runs at m={width} ends with training "
        f"InfoNCE loss <= {analyze.max_loss_ratio:g} log B; decided on healthy seeds, not "
        f"decided below {analyze.min_healthy_share:g} of them",
    }
    return decision, health


def _mixing_prediction(table: pd.DataFrame, width: int, confidence: float) -> str:
    fall = mean_ci(seed_slopes(table, width, "specialists_minority"), confidence)
    rise = mean_ci(seed_slopes(table, width, "mixing"), confidence)
    return (
        "specialists per minority feature fall with rho (slope on log rho < 0): measured "
        f"{fall}; mixing (features read above the strength floor per neuron) rises with rho "
        f"(slope > 0): measured {rise}; m={width}, per-seed slopes over the rho grid"
    )


def claim_c3(
    table: pd.DataFrame, width: int, analyze: AnalyzeParams, sweep: SweepParams, seed: int
) -> Claim:
    """Fewer neurons specialise in minority features, the more so the larger rho."""
    gap = table.specialists_majority - table.specialists_minority
    t = table.assign(gap=gap)
    effects = seed_slopes(t, width, "gap")
    decision, health = _decide(effects, t, sweep.c3, width, analyze, sweep, seed)
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
    table: pd.DataFrame, trend: dict, analyze: AnalyzeParams, sweep: SweepParams, seed: int
) -> Claim:
    """The width needed to cover every minority feature grows with rho."""
    width = int(table.width.max())
    effects = seed_mstar_slopes(table)
    decision, health = _decide(effects, table, sweep.c4, width, analyze, sweep, seed)
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
    table: pd.DataFrame, width: int, analyze: AnalyzeParams, sweep: SweepParams, seed: int
) -> Claim:
    """Minority features separate worse from noise, the more so the larger rho."""
    t = table.assign(gap=table.separation_majority - table.separation_minority)
    effects = seed_slopes(t, width, "gap")
    decision, health = _decide(effects, t, sweep.c5, width, analyze, sweep, seed)
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


# --- everything for the stage ------------------------------------------------------------------


def regimes(table: pd.DataFrame, width: int, measure: str, confidence: float) -> dict:
    """For each rho at `width`: the majority - minority gap of a measure, with its interval."""
    return {
        float(r): _gap(_cell(table, r, width), measure, confidence)
        for r in sorted(table.imbalance_ratio.unique())
    }


def regime_summary(gaps: dict[float, Interval]) -> str:
    """Where an effect (gap majority - minority > 0) holds, reverses or is not resolved."""
    parts: dict[str, list[str]] = {
        "present (CI above 0)": [],
        "reversed (CI below 0)": [],
        "not resolved": [],
    }
    for rho, iv in gaps.items():
        key = (
            "present (CI above 0)"
            if iv.n > 1 and iv.low > 0
            else "reversed (CI below 0)"
            if iv.n > 1 and iv.high < 0
            else "not resolved"
        )
        parts[key].append(f"{rho:g}")
    return "; ".join(f"{k} at rho = {', '.join(v)}" for k, v in parts.items() if v)


def regime_table(table: pd.DataFrame, trend: dict, width: int, confidence: float) -> str:
    """Markdown: for each rho, the three gaps (majority - minority) and m*, so a reader sees
    where each effect appears and where it does not."""
    gaps = {
        m: regimes(table, width, m, confidence) for m in ("neurons", "best_align", "separation")
    }
    cover = table[table.width == width].groupby("imbalance_ratio").coverage_minority.mean()
    rows = []
    for r, mstar in zip(trend["ratios"], trend["mstar_minority"], strict=True):
        rows.append(
            {
                "rho": f"{r:g}",
                f"neuron gap (m={width})": str(gaps["neurons"][r]),
                "best-alignment gap": str(gaps["best_align"][r]),
                "separation gap": str(gaps["separation"][r]),
                f"minority coverage (m={width})": f"{cover.loc[r]:.2f}",
                "minority m*": f"{mstar:g}"
                if np.isfinite(mstar)
                else f"> {trend['widths'].max():g}",
            }
        )
    note = (
        f"Gaps are majority - minority, mean over seeds [{confidence:.0%} t-interval]; "
        "an interval above 0 means the effect is present at that rho.\n\n"
    )
    return note + pd.DataFrame(rows).to_markdown(index=False) + "\n"


def metrics(table: pd.DataFrame, trend: dict, width: int) -> dict[str, float]:
    """Flat means over seeds: per rho at the widest width, coverage per cell, m* and slope."""
    out: dict[str, float] = {}
    wide = table[table.width == width]
    cols = [c for c in table.columns if c not in ("imbalance_ratio", "width", "seed")]
    for rho, part in wide.groupby("imbalance_ratio"):
        for c in cols:
            out[f"rho{rho:g}.{c}"] = float(part[c].mean())
    for (rho, m), part in table.groupby(["imbalance_ratio", "width"]):
        out[f"coverage_minority.rho{rho:g}_m{m}"] = float(part["coverage_minority"].mean())
    for r, v in zip(trend["ratios"], trend["mstar_minority"], strict=True):
        if np.isfinite(v):
            out[f"mstar_minority.rho{r:g}"] = float(v)
    out["mstar_censored_ratios"] = float(len(trend["censored"]))
    out["mstar_slope"] = trend["slope"].mean
    out["mstar_slope_low"] = trend["slope"].low
    out["mstar_slope_high"] = trend["slope"].high
    return out
