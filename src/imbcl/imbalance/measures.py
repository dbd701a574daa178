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

import numpy as np
import pandas as pd

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
