"""Per-run measures of the imbalance sweep, from the final neurons (proj (m, K) = <u_i, M_j>,
norm (m,), noise (m,)), and the minimum covering width m* over the (rho, width, seed) grid:

    specialists           n_j = #{i : i specialises in j (synthetic.measures.specialisation)
                          and |<u_i, M_j>| >= floor x max_{i,k} |<u_i, M_k>|}: the one
                          definition of "specialist" in C3, C4, the figures and the tables
                          (a count without the strength floor rewards sparsity itself)
    best alignment        max_i |<u_i, M_j>| / ||u_i||      (threshold-free companion of n_j)
    coverage of a group   share of its features with at least one specialist (n_j >= 1)
    feature separation    log10(a_{i*j} / r_{i*}),  i* = argmax_i a_ij, a_ij = |<u_i, M_j>|,
                          r_i = ||u_i - M M^T u_i||: how far feature j's best neuron reads j
                          above the noise it also picks up (C5; per feature, not per neuron)
    margin                a_{i*j} - b: the best neuron's response to a lone unit feature over
                          the BReLU threshold (> 0: the feature alone fires the neuron)
    m*(rho)               smallest width of the grid at which every minority feature is covered
                          in more than `cover_share` of the seeds; infinite (censored) if none
    width steps           per seed and rho: the grid widths at which the minority is NOT
                          fully covered (0 .. W); a seed never covered has W, i.e. m* ranked
                          as a tie one step beyond the widest width, never a number
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from imbcl.imbalance.grid import FinalState
from imbcl.synthetic.measures import feature_strength, normalised_alignment, specialisation

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


def strong_specialists(
    proj: np.ndarray, norm: np.ndarray, threshold: float, floor: float
) -> np.ndarray:
    """Specialists per feature (K,): neurons that specialise in it and carry at least `floor`
    times the run's strongest feature strength on it. proj (m, K), norm (m,)."""
    owner = specialisation(proj, norm, threshold)  # (m,)
    top = float(feature_strength(proj).max())
    if top == 0.0:
        return np.zeros(proj.shape[1], dtype=np.int64)
    own = np.abs(proj[np.arange(len(owner)), np.clip(owner, 0, None)])  # (m,)
    keep = (owner >= 0) & (own >= floor * top)
    return np.bincount(owner[keep], minlength=proj.shape[1])


def run_row(
    state: FinalState, majority: np.ndarray, threshold: float, floor: float, bias: float
) -> dict:
    """One row of the sweep table: every per-run measure, by group."""
    counts = strong_specialists(state.proj, state.norm, threshold, floor)  # (K,)
    row: dict = {
        "imbalance_ratio": state.spec.imbalance_ratio,
        "width": state.spec.width,
        "seed": state.spec.seed,
    }
    measures = {
        "specialists": by_group(counts.astype(float), majority),
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
    states: list[FinalState], majority: np.ndarray, threshold: float, floor: float, bias: float
) -> pd.DataFrame:
    """One row per run, sorted by (rho, width, seed)."""
    table = pd.DataFrame([run_row(s, majority, threshold, floor, bias) for s in states])
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


def width_steps(table: pd.DataFrame, group: str = "minority") -> pd.DataFrame:
    """Per (rho, seed): `uncovered`, the grid widths at which the group is not fully covered
    (0 .. W; W for a seed never covered: its m* ranked as a tie beyond the widest width),
    `censored` (not covered at the widest width) and `mstar` (smallest covered width, NaN
    when censored: never a number). table: one row per (rho, width, seed) run."""
    full = table.assign(full=table[f"coverage_{group}"] >= 1.0)
    wide = full.pivot_table(
        index=["imbalance_ratio", "seed"], columns="width", values="full", aggfunc="first"
    ).sort_index(axis=1)  # (R * S, W)
    covered = wide.to_numpy(dtype=bool)
    widths = wide.columns.to_numpy(dtype=float)
    first = np.where(covered.any(axis=1), widths[covered.argmax(axis=1)], np.nan)
    return pd.DataFrame(
        {
            "uncovered": (~covered).sum(axis=1).astype(float),
            "censored": ~covered[:, -1],
            "mstar": first,
        },
        index=wide.index,
    )


# --- per-run measures the claims add ------------------------------------------------------------


def floor_measures(state: FinalState, floor: float, batch: int) -> dict:
    """Mixing and health of one run.

    Mixing: the mean, over neurons reading at least one feature above the strength floor
    (floor x the run's strongest component), of the number of features they read above it.
    train_loss_ratio: final training InfoNCE loss / log B; then the run's health certificate
    (synthetic.health.CERTIFICATE; loss_ratio is the held-out loss at the run's rho).
    """
    a = np.abs(state.proj)  # (m, K)
    strong = a >= floor * max(float(a.max()), 1e-12)  # (m, K)
    reading = strong.sum(axis=1)  # (m,)
    live = reading > 0
    return {
        "imbalance_ratio": state.spec.imbalance_ratio,
        "width": state.spec.width,
        "seed": state.spec.seed,
        "mixing": float(reading[live].mean()) if live.any() else 0.0,
        "train_loss_ratio": state.loss / math.log(batch),
        **state.health,
    }


def with_floor_measures(
    table: pd.DataFrame, states: list[FinalState], floor: float, batch: int
) -> pd.DataFrame:
    """The sweep table with the columns of floor_measures joined on (rho, width, seed)."""
    extra = pd.DataFrame([floor_measures(s, floor, batch) for s in states])
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
