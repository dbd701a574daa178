"""What imbalance costs the encoder, decided on the sweep: capacity (C3), the width needed to
capture every minority feature (C4) and feature-to-noise separation (C5).

    trend    least-squares slope of log m* on log rho, censored m* counted at twice the
             widest width (a lower bound, so the slope is underestimated, never inflated);
             the interval resamples seeds (bootstrap)
The per-run measures and m* are defined in `imbcl.imbalance.measures`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Interval, mean_ci
from imbcl.imbalance.measures import GROUPS, covered_cube, min_width


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


# --- claims ------------------------------------------------------------------------------------


def _cell(table: pd.DataFrame, rho: float, width: int) -> pd.DataFrame:
    return table[(table.imbalance_ratio == rho) & (table.width == width)]


def _gap(part: pd.DataFrame, measure: str, confidence: float) -> Interval:
    return mean_ci(part[f"{measure}_majority"] - part[f"{measure}_minority"], confidence)


def _verdict(gap: Interval, control: Interval) -> str:
    """Supported: the gap's interval lies above 0 and the control's covers 0."""
    if gap.n > 1 and gap.low > 0 and control.covers_zero():
        return SUPPORTED
    if gap.n > 1 and not gap.low > 0:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def claim_c3(
    table: pd.DataFrame, rho: float, width: int, confidence: float, threshold: float
) -> Claim:
    """Fewer neurons specialise in minority features than in majority ones."""
    imb, bal = _cell(table, rho, width), _cell(table, 1.0, width)
    gap, control = _gap(imb, "neurons", confidence), _gap(bal, "neurons", confidence)
    free, free_bal = _gap(imb, "best_align", confidence), _gap(bal, "best_align", confidence)
    return Claim.from_interval(
        "C3",
        "Imbalance lowers capacity: fewer neurons specialise in minority features.",
        f"specialised neurons per majority feature - per minority feature (normalised "
        f"alignment >= {threshold:g}), rho={rho:g}, m={width}; threshold-free: best-neuron "
        f"normalised alignment gap majority - minority = {free}",
        gap,
        f"balanced rho=1, m={width}: neuron gap {control}, best-alignment gap {free_bal}",
        "supported if the gap's 95% CI lies above 0 and the balanced gap's CI covers 0; "
        "not supported if the gap's CI reaches 0 or below",
        _verdict(gap, control),
    )


def claim_c4(trend: dict, slope_min: float, share: float) -> Claim:
    """m* grows with rho."""
    slope, control = trend["slope"], trend["control_gap"]
    rho1_covered = bool(np.isfinite(trend["mstar_minority"][trend["ratios"] == 1.0][0]))
    if not rho1_covered:
        verdict = INCONCLUSIVE  # no width covers the minority even without imbalance
    elif slope.low > slope_min and control.covers_zero():
        verdict = SUPPORTED
    elif not slope.low > slope_min:
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    beyond = f">{trend['widths'].max():g}"
    mstar = ", ".join(
        f"{r:g}: {format(v, 'g') if np.isfinite(v) else beyond}"
        for r, v in zip(trend["ratios"], trend["mstar_minority"], strict=True)
    )
    return Claim.from_interval(
        "C4",
        "Imbalance raises the width needed before every minority feature is captured.",
        f"slope of log m* on log rho, m* = smallest width covering every minority feature in "
        f"> {share:g} of seeds (rho: m* = {mstar}; censored m* counted at "
        f"{trend['censor_at']:g}, a lower bound); 95% bootstrap interval over seeds",
        slope,
        f"balanced rho=1: log2(m* minority / m* majority) = {control} (0 = same width)",
        f"supported if minority is covered at rho=1 within the grid, the slope's CI lies "
        f"above {slope_min:g} and the rho=1 width gap's CI covers 0; not supported if the "
        f"slope's CI reaches {slope_min:g} or below",
        verdict,
    )


def claim_c5(table: pd.DataFrame, rho: float, width: int, confidence: float) -> Claim:
    """Minority features separate worse from noise than majority ones."""
    imb, bal = _cell(table, rho, width), _cell(table, 1.0, width)
    gap, control = _gap(imb, "separation", confidence), _gap(bal, "separation", confidence)
    mgap = _gap(imb, "margin", confidence)
    return Claim.from_interval(
        "C5",
        "Imbalance makes minority features harder to separate from noise.",
        f"feature-to-noise separation log10(a_(i*j) / noise residual of i*) of each feature's "
        f"best neuron i*, majority - minority, rho={rho:g}, m={width}; margin over the BReLU "
        f"threshold, majority - minority = {mgap}",
        gap,
        f"balanced rho=1, m={width}: separation gap {control}",
        "supported if the gap's 95% CI lies above 0 and the balanced gap's CI covers 0; "
        "not supported if the gap's CI reaches 0 or below",
        _verdict(gap, control),
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
