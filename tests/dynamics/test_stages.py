"""The number of stages is chosen by the penalty, against a shuffled null, on synthetic curves
whose count is known; the theory's stage times by hand."""

import math

import numpy as np
import pytest

from imbcl.dynamics.stages import segments, theory_times

STEPS = np.arange(0, 2000, 20)


def _signal(knots: list[int], slopes: list[float], noise: float = 0.01) -> np.ndarray:
    """(S, 3) continuous piecewise-linear log curves with changes at `knots`, plus noise."""
    y = np.zeros(len(STEPS))
    edges = [0, *knots, STEPS[-1] + 1]
    level = -5.0
    for a, b, slope in zip(edges[:-1], edges[1:], slopes, strict=True):
        inside = (STEPS >= a) & (STEPS < b)
        y[inside] = level + slope * (STEPS[inside] - a) / 1000
        level += slope * (b - a) / 1000
    rng = np.random.default_rng(0)
    return np.stack([y, y - 1.0, 0.3 * y], axis=1) + noise * rng.standard_normal((len(y), 3))


def test_two_and_three_pieces_are_told_apart_by_the_penalty():
    three = segments(_signal([500, 1200], [8.0, 1.0, -0.5]), STEPS, 1.0, 6, 3, seed=0)
    two = segments(_signal([800], [6.0, 0.0]), STEPS, 1.0, 6, 3, seed=0)
    assert three.count == 3 and two.count == 2
    assert abs(three.steps[1] - 500) <= 60 and abs(three.steps[2] - 1200) <= 60
    assert three.null_count < three.count  # shuffled steps: no time structure to segment


def test_a_straight_line_is_one_segment_and_noise_is_not_structure():
    line = segments(_signal([], [2.0]), STEPS, 1.0, 6, 3, seed=0)
    assert line.count == 1 and line.steps == [0, int(STEPS[-1])]


def test_a_larger_penalty_never_chooses_more_segments():
    sig = _signal([500, 1200], [8.0, 1.0, -0.5], noise=0.2)
    counts = [segments(sig, STEPS, pen, 6, 3, seed=0).count for pen in (0.5, 1.0, 4.0, 50.0)]
    assert counts == sorted(counts, reverse=True) and counts[-1] == 1


def test_theory_times_by_hand():
    t = theory_times(0.01, 0.02, rate=2.0, rho=10.0)  # 2 log units per 1000 steps
    assert t["T1"] == pytest.approx(math.log(100) / 0.002)
    assert t["T2"] == pytest.approx(10 * math.log(50) / 0.002)
    assert theory_times(0.01, 0.01, rate=-1.0, rho=10.0)["T1"] == math.inf


def test_modal_median_uses_the_seeds_with_the_most_common_count():
    from imbcl.dynamics.stages import modal_median

    per_seed = [[60, 120, 320], [60, 120, 320], [40, 100, 300], [60, 900]]  # one seed of 2
    medians, n = modal_median(per_seed)
    assert n == 3 and medians.tolist() == [60.0, 120.0, 320.0]
    tied, n_tied = modal_median([[1.0], [2.0, 3.0]])
    assert n_tied == 1 and tied.tolist() == [1.0]  # a tie: the smaller count
    assert modal_median([])[1] == 0
