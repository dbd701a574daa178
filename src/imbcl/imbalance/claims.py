"""What imbalance costs the encoder, measured on the sweep: capacity (C3), the width needed to
capture every minority feature (C4) and feature-to-noise separation (C5).

Per run, from the final neurons (proj (m, K) = <u_i, M_j>, norm (m,), noise (m,)):
    neurons per feature   n_j = #{i : i specialises in j}   (dynamics.specialisation)
    best alignment        max_i |<u_i, M_j>| / ||u_i||      (threshold-free companion of n_j)
    coverage of a group   share of its features with n_j >= 1
    separation            log10(a_{i*j} / r_{i*}),  i* = argmax_i a_ij, a_ij = |<u_i, M_j>|,
                          r_i = ||u_i - M M^T u_i||: how far feature j's best neuron reads j
                          above the noise it also picks up
    margin                a_{i*j} - b: the best neuron's response to a lone unit feature over
                          the BReLU threshold (> 0: the feature alone fires the neuron)
Over the sweep:
    m*(rho)  smallest width of the grid at which every minority feature is covered in more
             than `cover_share` of the seeds; infinite (censored) when no width does
    trend    least-squares slope of log m* on log rho, censored m* counted at twice the
             widest width (a lower bound, so the slope is underestimated, never inflated);
             the interval resamples seeds (bootstrap)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Interval, mean_ci
from imbcl.imbalance.grid import FinalState
from imbcl.synthetic.measures import neurons_per_feature, normalised_alignment

GROUPS = ("majority", "minority")
_INF = np.float64(np.inf)
_NOISE_FLOOR = 1e-8  # a neuron with no noise component at all has separation log10(a / 1e-8)


# --- per-run measures ------------------------------------------------------------------------


def by_group(values: np.ndarray, majority: np.ndarray) -> dict[str, float]:
    """Mean of a per-feature (K,) quantity over the majority and the minority features."""
    return {"majority": float(values[majority].mean()), "minority": float(values[~majority].mean())}


def best_alignment(proj: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """max_i |<u_i, M_j>| / ||u_i||: (m, K), (m,) -> (K,)."""
    return normalised_alignment(proj, norm).max(axis=0)


def coverage(counts: np.ndarray, group: np.ndarray) -> float:
    """Share of the features in `group` (K,) bool with at least one specialised neuron."""
    return float((counts[group] >= 1).mean())


def separation(proj: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """log10(a_{i*j} / r_{i*}) for each feature j, i* its best-aligned neuron: -> (K,)."""
    align = np.abs(proj)  # (m, K)
    best = align.argmax(axis=0)  # (K,)
    a = align[best, np.arange(proj.shape[1])]
    return np.log10(np.clip(a, _NOISE_FLOOR, None) / np.clip(noise[best], _NOISE_FLOOR, None))


def margin(proj: np.ndarray, bias: float) -> np.ndarray:
    """max_i |<u_i, M_j>| - b for each feature: (m, K) -> (K,)."""
    return np.abs(proj).max(axis=0) - bias


def run_row(state: FinalState, majority: np.ndarray, threshold: float, bias: float) -> dict:
    """One row of the sweep table: every per-run measure, by group."""
    counts = neurons_per_feature(state.proj, state.norm, threshold)  # (K,)
    row: dict = {
        "imbalance_ratio": state.spec.imbalance_ratio,
        "width": state.spec.width,
        "seed": state.spec.seed,
    }
    measures = {
        "neurons": by_group(counts.astype(float), majority),
        "best_align": by_group(best_alignment(state.proj, state.norm), majority),
        "separation": by_group(separation(state.proj, state.noise), majority),
        "margin": by_group(margin(state.proj, bias), majority),
    }
    for name, groups in measures.items():
        for g in GROUPS:
            row[f"{name}_{g}"] = groups[g]
    for g, mask in (("majority", majority), ("minority", ~majority)):
        row[f"coverage_{g}"] = coverage(counts, mask)
    return row


def sweep_table(
    states: list[FinalState], majority: np.ndarray, threshold: float, bias: float
) -> pd.DataFrame:
    """One row per run, sorted by (rho, width, seed)."""
    table = pd.DataFrame([run_row(s, majority, threshold, bias) for s in states])
    return table.sort_values(["imbalance_ratio", "width", "seed"], ignore_index=True)


# --- the minimum covering width m* -------------------------------------------------------------


def covered_cube(table: pd.DataFrame, group: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full coverage of a group as a (rho, width, seed) bool cube, with its ratios and widths."""
    full = table.assign(full=table[f"coverage_{group}"] >= 1.0)
    cube = full.pivot_table(
        index="imbalance_ratio", columns=["width", "seed"], values="full", aggfunc="first"
    )
    ratios = cube.index.to_numpy(dtype=float)
    widths = np.array(sorted(set(cube.columns.get_level_values(0))), dtype=float)
    seeds = sorted(set(cube.columns.get_level_values(1)))
    arr = np.stack([[cube[(m, s)].to_numpy(dtype=bool) for s in seeds] for m in widths])
    return arr.transpose(2, 0, 1), ratios, widths  # (R, W, S)


def min_width(covered: np.ndarray, widths: np.ndarray, share: float) -> np.ndarray:
    """m* per ratio: smallest width covered in more than `share` of the seeds, else inf.

    covered: (..., R, W, S) bool or a (..., R, W, S) weight-free share -> (..., R).
    """
    frac = covered.mean(axis=-1)  # (..., R, W)
    ok = frac > share
    first = ok.argmax(axis=-1)  # (..., R): first width that passes (0 if none)
    return np.where(ok.any(axis=-1), widths[first].astype(float), _INF)


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
