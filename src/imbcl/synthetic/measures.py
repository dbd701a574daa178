"""From logged neuron weights to the quantities the claims speak of.

Definitions (SPEC): for neuron i with effective direction u_i and feature j,
    a_ij       = |<u_i, M_j>|                      feature alignment
    a_ij / ||u_i||                                 normalised alignment
    ||u_i - M M^T u_i||                            noise residual
Neuron i *specialises* in feature j when j is its best feature and its normalised alignment
with j is at least a threshold.

Group trajectories summarise a run over time:
    majority(t) = mean over majority features j of max_i a_ij(t)   (the feature's best neuron)
    minority(t) = the same over minority features
    noise(t)    = mean over neurons of the noise residual
Stages are found by a change-point search (ruptures, dynamic programming with a continuous
piecewise-linear cost) on the log of the three group trajectories together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ruptures as rpt

from imbcl.synthetic.train import Trajectory

GROUPS = ("majority", "minority", "noise")


def feature_strength(proj: np.ndarray) -> np.ndarray:
    """max_i |<u_i, M_j>|: (..., m, K) -> (..., K)."""
    return np.abs(proj).max(axis=-2)


def normalised_alignment(proj: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """|<u_i, M_j>| / ||u_i||: (..., m, K), (..., m) -> (..., m, K); 0 for a zero neuron."""
    safe = np.where(norm > 0, norm, 1.0)
    return np.where(norm[..., None] > 0, np.abs(proj) / safe[..., None], 0.0)


def group_curves(traj: Trajectory, majority: np.ndarray) -> dict[str, np.ndarray]:
    """Per-group trajectories, each (S,)."""
    strength = feature_strength(traj.proj)  # (S, K)
    return {
        "majority": strength[:, majority].mean(axis=1),
        "minority": strength[:, ~majority].mean(axis=1),
        "noise": traj.noise.mean(axis=1),
    }


def specialisation(proj: np.ndarray, norm: np.ndarray, threshold: float) -> np.ndarray:
    """For each neuron, the feature it specialises in, or -1. (m, K), (m,) -> (m,) int."""
    aligned = normalised_alignment(proj, norm)  # (m, K)
    best = aligned.argmax(axis=1)
    ok = aligned.max(axis=1) >= threshold
    return np.where(ok, best, -1)


def neurons_per_feature(proj: np.ndarray, norm: np.ndarray, threshold: float) -> np.ndarray:
    """How many neurons specialise in each feature: (K,) int."""
    owner = specialisation(proj, norm, threshold)
    return np.bincount(owner[owner >= 0], minlength=proj.shape[-1])


@dataclass(frozen=True)
class Stages:
    """Change points found on a run's group trajectories."""

    bounds: list[int]  # indices into the logged steps: start of each stage, then S
    steps: list[int]  # the same as training steps (the last is the final step)
    cost: list[float]  # residual cost of the best fit with 1 .. n_stages segments
    gain: float  # share of the (n-1)-stage residual that the n-th stage removes


def stage_signal(curves: dict[str, np.ndarray]) -> np.ndarray:
    """(S, 3): log of each group curve. Logs are unit-free (slopes are relative growth
    rates), so the groups are comparable without rescaling; standardising instead would
    blow the jitter of a flat curve up to the size of a real change."""
    return np.stack([np.log(np.maximum(curves[g], 1e-12)) for g in GROUPS], axis=1)


def detect_stages(
    curves: dict[str, np.ndarray], steps: np.ndarray, n_stages: int, min_size: int
) -> Stages:
    """Best piecewise-linear fits with 1 .. n_stages segments; boundaries of the last."""
    signal = stage_signal(curves)
    S = len(signal)
    if S < n_stages * min_size:
        raise ValueError(
            f"{S} logged steps cannot hold {n_stages} stages of {min_size}; "
            "log more often (train.log_every) or lower analyze.min_stage_logs"
        )
    algo = rpt.Dynp(model="clinear", min_size=min_size, jump=1).fit(signal)
    costs, bkps = [], [S]
    for n in range(1, n_stages + 1):
        bkps = [S] if n == 1 else algo.predict(n_bkps=n - 1)
        costs.append(float(algo.cost.sum_of_costs(bkps)))
    prev, last = costs[-2], costs[-1]
    gain = (prev - last) / prev if prev > 0 else 0.0
    bounds = [0, *bkps]
    # ruptures' breakpoints are segment ends; report the first logged step of each stage.
    stage_steps = [int(steps[b]) for b in bounds[:-1]] + [int(steps[-1])]
    return Stages(bounds=bounds, steps=stage_steps, cost=costs, gain=float(gain))


def growth_rates(
    curves: dict[str, np.ndarray], steps: np.ndarray, stages: Stages
) -> dict[str, list[float]]:
    """Slope of log(curve) per 1000 steps in each stage, per group (least squares)."""
    out: dict[str, list[float]] = {}
    for g in GROUPS:
        y = np.log(np.maximum(curves[g], 1e-12))
        rates = []
        for lo, hi in zip(stages.bounds[:-1], stages.bounds[1:], strict=True):
            x = steps[lo:hi] / 1000.0
            rates.append(float(np.polyfit(x, y[lo:hi], 1)[0]) if hi - lo >= 2 else 0.0)
        out[g] = rates
    return out


def time_to_learn(curve: np.ndarray, steps: np.ndarray, fraction: float) -> int:
    """First logged step at which the curve reaches `fraction` of its final value."""
    target = curve[0] + fraction * (curve[-1] - curve[0])
    reached = np.nonzero(curve >= target)[0] if curve[-1] >= curve[0] else [len(curve) - 1]
    return int(steps[reached[0]])
