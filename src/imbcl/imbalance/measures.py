"""Per-run measures of the imbalance sweep, from the final neurons (proj (m, K) = <u_i, M_j>,
norm (m,), noise (m,)), and the minimum covering width m* over the (rho, width, seed) grid:

    neurons per feature   n_j = #{i : i specialises in j}   (synthetic.measures.specialisation)
    best alignment        max_i |<u_i, M_j>| / ||u_i||      (threshold-free companion of n_j)
    coverage of a group   share of its features with n_j >= 1
    feature separation    log10(a_{i*j} / r_{i*}),  i* = argmax_i a_ij, a_ij = |<u_i, M_j>|,
                          r_i = ||u_i - M M^T u_i||: how far feature j's best neuron reads j
                          above the noise it also picks up (C5; per feature, not per neuron)
    margin                a_{i*j} - b: the best neuron's response to a lone unit feature over
                          the BReLU threshold (> 0: the feature alone fires the neuron)
    m*(rho)               smallest width of the grid at which every minority feature is covered
                          in more than `cover_share` of the seeds; infinite (censored) if none
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from imbcl.imbalance.grid import FinalState
from imbcl.synthetic.measures import neurons_per_feature, normalised_alignment, specialisation

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


def feature_separation(proj: np.ndarray, noise: np.ndarray) -> np.ndarray:
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
        "separation": by_group(feature_separation(state.proj, state.noise), majority),
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


# --- per-run measures the claims add ------------------------------------------------------------


def floor_measures(
    state: FinalState, majority: np.ndarray, threshold: float, floor: float, batch: int
) -> dict:
    """Specialists with a strength floor, mixing and health of one run.

    A neuron i is a specialist of feature j when j is its best feature, its normalised
    alignment is >= threshold, and |<u_i, M_j>| >= floor * the run's strongest component
    max_{i,k} |<u_i, M_k>| (so that a weak, sparse neuron does not count). Mixing: the mean,
    over neurons reading at least one feature above that floor, of the number they read above
    it. train_loss_ratio: final training InfoNCE loss / log B; then the run's health
    certificate (synthetic.health.CERTIFICATE; loss_ratio is the held-out loss at the run's rho).
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
        "train_loss_ratio": state.loss / math.log(batch),
        **state.health,
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
