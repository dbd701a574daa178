"""How many stages a run's trajectories show: a penalised choice of the number of segments,
against a null, never forced to a number; and the theory's stage times beside the measured.

Segments: ruptures' exact search (Dynp, cost "clinear") places n - 1 change points on the
log group curves (measures.stage_signal, (S, 3)) for n = 1 .. max segments; each knot is then
moved, one at a time (three sweeps), to where the least-squares continuous piecewise-linear
fit (hinge basis 1, t, (t - k)_+) has the smallest residual sum of squares RSS_n (ruptures'
clinear cost joins each segment's end points, so alone it rewards knots placed on noise).
The count chosen minimises the BIC

    N log(RSS_n / N) + pen * p_n * log N,   N = 3 S,  p_n = 3 (n + 1) + (n - 1)

(3 curves of n + 1 knot values each, n - 1 shared change points; Schwarz 1978; pen = 1 is the
BIC itself, fixed in params). The null: the same selection on the signal with its steps
shuffled (fixed seed), which has no time order to segment; a count above the null's is
structure in time.

Theory's stage times (our derivation from Lemma 3.1, not stated in the known text): a
component grows per step by the factor g_j = 1 - eta lambda + eps_j eta C log log d / d, so
stage 1 of group j ends when g_j^t has amplified its initial alignment a_j(0) to order 1:
T1_j = ln(1 / a_j(0)) / ln g_j. C is unknown; we estimate ln g_majority by the measured
majority stage-1 log-growth rate r, and ln g_minority = r / rho (growth proportional to
eps_j). T1 = T1_majority, T2 = T1_minority: the step by which the minority should reach
order 1 if its growth stays exponential (infinite when r <= 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import ruptures as rpt


@dataclass(frozen=True)
class Segments:
    """The penalised choice on one run."""

    count: int  # segments chosen on the signal
    null_count: int  # segments chosen on the step-shuffled signal
    bic: list[float]  # criterion for 1 .. max segments
    steps: list[int]  # first step of each chosen segment, then the final step


def _bic(rss: float, N: int, n: int, pen: float) -> float:
    p = 3 * (n + 1) + (n - 1)
    return N * math.log(max(rss, 1e-300) / N) + pen * p * math.log(N)


def hinge_rss(signal: np.ndarray, bkps: list[int]) -> float:
    """RSS of the least-squares continuous piecewise-linear fit of signal (S, k) with knots
    at the indices bkps[:-1] (ruptures' segment ends), all columns at once."""
    t = np.arange(len(signal), dtype=np.float64)
    cols = [np.ones_like(t), t] + [np.maximum(t - b, 0.0) for b in bkps[:-1]]
    X = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(X, signal, rcond=None)
    return float(((signal - X @ coef) ** 2).sum())


def refine(signal: np.ndarray, bkps: list[int], min_size: int, sweeps: int = 3) -> list[int]:
    """Knots bkps[:-1] moved one at a time to the hinge fit's least RSS, each keeping
    min_size points from its neighbours; bkps[-1] = S stays."""
    knots = list(bkps[:-1])
    S = len(signal)
    for _ in range(sweeps):
        for i in range(len(knots)):
            lo = (knots[i - 1] if i else 0) + min_size
            hi = (knots[i + 1] if i + 1 < len(knots) else S) - min_size
            if hi < lo:
                continue
            trials = {
                k: hinge_rss(signal, [*knots[:i], k, *knots[i + 1 :], S]) for k in range(lo, hi + 1)
            }
            knots[i] = min(trials, key=lambda k: (trials[k], k))
    return [*knots, S]


def choose_count(signal: np.ndarray, pen: float, max_segments: int, min_size: int) -> tuple:
    """(count, criteria, breakpoints of the chosen fit) for signal (S, k) by the BIC above.
    Counts that cannot fit min_size points per segment are skipped."""
    S = len(signal)
    algo = rpt.Dynp(model="clinear", min_size=min_size, jump=1).fit(signal)
    N = signal.size
    crit, fits = [], []
    for n in range(1, max_segments + 1):
        if n * min_size > S:
            break
        bkps = [S] if n == 1 else refine(signal, algo.predict(n_bkps=n - 1), min_size)
        crit.append(_bic(hinge_rss(signal, bkps), N, n, pen))
        fits.append(bkps)
    best = int(np.argmin(crit))
    return best + 1, crit, fits[best]


def segments(
    signal: np.ndarray, steps: np.ndarray, pen: float, max_segments: int, min_size: int, seed: int
) -> Segments:
    """The penalised count on signal (S, k) logged at steps (S,), and on its shuffled null."""
    count, crit, bkps = choose_count(signal, pen, max_segments, min_size)
    order = np.random.default_rng(seed).permutation(len(signal))
    null_count, _, _ = choose_count(signal[order], pen, max_segments, min_size)
    starts = [0, *bkps[:-1]]
    return Segments(
        count=count,
        null_count=null_count,
        bic=[float(c) for c in crit],
        steps=[int(steps[b]) for b in starts] + [int(steps[-1])],
    )


def theory_times(a0_majority: float, a0_minority: float, rate: float, rho: float) -> dict:
    """T1, T2 in steps (our derivation, see the module): rate is the measured majority
    stage-1 log-growth rate per 1000 steps; a0 the initial group strengths."""
    if not rate > 0:
        return {"T1": math.inf, "T2": math.inf}
    per_step = rate / 1000.0
    t1 = math.log(1.0 / a0_majority) / per_step if a0_majority < 1 else 0.0
    t2 = rho * math.log(1.0 / a0_minority) / per_step if a0_minority < 1 else 0.0
    return {"T1": float(t1), "T2": float(t2)}


def modal_median(per_seed: list[list[float]]) -> tuple[np.ndarray, int]:
    """The stage times of a group of runs: over the seeds with the most common number of
    values (the smaller count on a tie), the median of each position; and how many seeds
    that is. per_seed: one list per seed (e.g. its stage ends), lengths may differ.
    The one definition of the figures' shading and captions, C1's row and the metrics."""
    lengths = [len(x) for x in per_seed]
    if not lengths:
        return np.zeros(0), 0
    n = min(set(lengths), key=lambda k: (-lengths.count(k), k))
    same = [x for x in per_seed if len(x) == n]
    return (np.median(np.asarray(same, dtype=float), axis=0) if n else np.zeros(0)), len(same)
