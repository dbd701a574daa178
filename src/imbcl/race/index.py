"""The race index: can a feature's stage-1 growth lift it from its initial alignment to the
BReLU bias before the bias ramp closes the dead zone on it? Computed from a cell's inputs
only, before any run (docs/design.md, "The race behind C2").

For a feature of per-token activation probability p (majority p_maj, minority p_maj / rho):

    a0      = sigma * Phi^-1((1 + 2^(-1/m)) / 2),  sigma = init_std / sqrt(d)
              the median over draws of max_i |<w_i, M_j>| at init (m Gaussian neurons)
    b_end   = b * min(1, T / T_ramp)               the bias at the last step T
    T_close = min(T_ramp, T)                       the step the ramp stops rising
    need    = ln(b_end / a0)                       e-folds to climb to the bias
    budget  = eta * p * L / tau * (T_close + kappa * (T - T_close))
              e-folds the stage-1 rate allows: the theory's factor 1 + eps_j eta C loglogd/d
              per step, with p * L / tau for eps_j C loglogd/d (the constant C absorbed in
              the thresholds); kappa weighs the steps after the ramp has closed (0: a
              frozen feature gets no gradient)
    index   = budget / need                        (+inf when b_end <= a0)

The prediction reads the majority's index, then the minority's, against thresholds set on
the discovery cells only (`fit`): encoder dead (majority below `dead`), minority frozen
(minority below `learned`), minority learned but weaker (below `stronger`), minority stronger.
The observed outcome of a run is read from its final neurons by `run_outcome`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
from scipy.stats import norm

from imbcl.race.params import Observed, Thresholds

OUTCOMES = ("dead", "frozen", "weaker", "stronger")  # from the paper's side to the reversal


@dataclass(frozen=True)
class Inputs:
    """What the index reads of a cell."""

    dim: int  # d
    width: int  # m
    tokens: int  # L
    p_majority: float  # per-token activation probability of a majority feature
    rho: float
    temperature: float  # tau
    init_std: float  # neuron init std times 1/sqrt(d)
    lr: float  # eta
    bias: float  # b after the ramp
    ramp: int  # T_ramp, steps
    steps: int  # T


def initial_alignment(init_std: float, dim: int, width: int) -> float:
    """a0: the median of max over m neurons of |<w_i, M_j>|, w_i ~ N(0, init_std^2 / d I)."""
    return init_std / math.sqrt(dim) * float(norm.ppf((1.0 + 0.5 ** (1.0 / width)) / 2.0))


def bias_end(x: Inputs) -> float:
    """b(T): the bias at the last step."""
    return x.bias * min(1.0, x.steps / x.ramp)


def race_index(x: Inputs, p: float, kappa: float) -> float:
    """budget / need for a feature of activation probability p (module docstring)."""
    need = math.log(bias_end(x) / initial_alignment(x.init_std, x.dim, x.width))
    if need <= 0:
        return math.inf
    close = min(x.ramp, x.steps)
    budget = x.lr * p * x.tokens / x.temperature * (close + kappa * (x.steps - close))
    return budget / need


def indices(x: Inputs, kappa: float) -> tuple[float, float]:
    """(majority index, minority index)."""
    return race_index(x, x.p_majority, kappa), race_index(x, x.p_majority / x.rho, kappa)


def predict(i_majority: float, i_minority: float, t: Thresholds) -> str:
    """The outcome the indices predict (one of OUTCOMES)."""
    if i_majority < t.dead:
        return "dead"
    if i_minority < t.learned:
        return "frozen"
    return "weaker" if i_minority < t.stronger else "stronger"


# --- the observed outcome -------------------------------------------------------------------


def run_outcome(strength: np.ndarray, majority: np.ndarray, b_end: float, rule: Observed) -> str:
    """One run's outcome from its final feature strengths max_i |<u_i, M_j>| (K,).

    A feature is learned when its strength exceeds clear_factor x b(T) (a component inside
    the dead zone gets no gradient from a token carrying the feature alone); a group is
    learned when more than group_share of its features are. Dead: the majority is not
    learned; frozen: the minority is not; else stronger when mean minority / mean majority
    strength > stronger_ratio, weaker otherwise.
    """
    learned = strength > rule.clear_factor * b_end
    if learned[majority].mean() <= rule.group_share:
        return "dead"
    if learned[~majority].mean() <= rule.group_share:
        return "frozen"
    ratio = strength[~majority].mean() / strength[majority].mean()
    return "stronger" if ratio > rule.stronger_ratio else "weaker"


def cell_outcome(outcomes: list[str]) -> str:
    """The most frequent of a cell's run outcomes; a tie goes to the earlier in OUTCOMES."""
    counts = Counter(outcomes)
    return max(OUTCOMES, key=lambda o: (counts[o], -OUTCOMES.index(o)))


# --- thresholds from the discovery cells ----------------------------------------------------


def _cuts(values: np.ndarray) -> list[float]:
    """Candidate thresholds: geometric midpoints of the sorted distinct finite positive
    values, one below the least and one above the greatest, to 3 significant digits."""
    v = np.unique(values[np.isfinite(values) & (values > 0)])
    if len(v) == 0:
        return [0.0]
    mids = np.sqrt(v[1:] * v[:-1])
    return [float(f"{c:.3g}") for c in (v[0] / 2, *mids, v[-1] * 2)]


@dataclass(frozen=True)
class Fit:
    thresholds: Thresholds
    accuracy: float  # share of the cells whose outcome the fitted thresholds predict


def fit(x: list[Inputs], observed: list[str], kappas: list[float]) -> Fit:
    """The thresholds (and kappa, from `kappas`) that predict most of the given cells' observed
    outcomes; ties go to the smaller kappa, then the smaller cuts. `dead` is the best cut of
    the majority index between dead and alive cells; `learned` <= `stronger` the best pair of
    cuts of the minority index over the cells not predicted dead."""
    obs = np.asarray(observed)
    best: Fit | None = None
    for kappa in kappas:
        pairs = np.asarray([indices(c, kappa) for c in x])  # (n, 2)
        i_maj, i_min = pairs[:, 0], pairs[:, 1]
        dead = max(_cuts(i_maj), key=lambda c: (np.mean((i_maj < c) == (obs == "dead")), -c))
        alive = i_maj >= dead
        score = np.sum((i_maj < dead) & (obs == "dead"))
        top = (-1, 0.0, 0.0)
        for lo, hi in combinations_with_replacement(_cuts(i_min[alive]), 2):
            pred = np.where(i_min < lo, "frozen", np.where(i_min < hi, "weaker", "stronger"))
            hits = int(np.sum(pred[alive] == obs[alive]))
            if hits > top[0]:
                top = (hits, lo, hi)
        acc = float((score + top[0]) / len(obs))
        if best is None or acc > best.accuracy:
            t = Thresholds(kappa=kappa, dead=dead, learned=top[1], stronger=top[2])
            best = Fit(t, acc)
    if best is None:
        raise ValueError("fit needs at least one kappa")
    return best
