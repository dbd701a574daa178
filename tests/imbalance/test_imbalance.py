"""Imbalance measures on hand-built neurons whose answers are known."""

import math

import numpy as np
import pandas as pd
import pytest

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Interval
from imbcl.imbalance.claims import (
    claim_c3,
    claim_c4,
    claim_c5,
    loglog_slope,
    regime_summary,
    width_trend,
)
from imbcl.imbalance.grid import FinalState
from imbcl.imbalance.measures import (
    best_alignment,
    coverage,
    feature_separation,
    margin,
    min_width,
    run_row,
    sweep_table,
)
from imbcl.synthetic.train import RunSpec

MAJORITY = np.array([True, True, False, False])  # K = 4: two majority, two minority


def neurons(directions: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """proj, norm, noise of neurons u_i (m, d) with M = the first K coordinate axes."""
    proj = directions[:, :n_features]
    return (
        proj,
        np.linalg.norm(directions, axis=1),
        np.linalg.norm(directions[:, n_features:], axis=1),
    )


def test_best_alignment_is_the_cosine_of_a_tilted_neuron():
    theta = 0.3
    u = np.array([[math.cos(theta), 0.0, 0.0, 0.0, math.sin(theta)]])  # (1, d=5)
    proj, norm, _ = neurons(2.5 * u, 4)  # scale must not matter
    assert best_alignment(proj, norm) == pytest.approx([math.cos(theta), 0, 0, 0])


def test_separation_and_margin_in_closed_form():
    # feature 0's best neuron reads 0.8 of it and carries noise 0.2; feature 2's reads 0.5
    # and carries noise 0.05 -> log10(4) and log10(10).
    u = np.array([[0.8, 0.0, 0.0, 0.0, 0.2], [0.1, 0.0, 0.5, 0.0, 0.05]])
    proj, _, noise = neurons(u, 4)
    sep = feature_separation(proj, noise)
    assert sep[0] == pytest.approx(math.log10(4.0))
    assert sep[2] == pytest.approx(math.log10(10.0))
    assert margin(proj, 0.3)[[0, 2]] == pytest.approx([0.5, 0.2])


def test_run_row_counts_specialised_neurons_and_coverage():
    u = np.array(
        [
            [1.0, 0.0, 0.0, 0.0, 0.1],  # feature 0
            [0.9, 0.1, 0.0, 0.0, 0.0],  # feature 0
            [0.0, 1.0, 0.0, 0.0, 0.0],  # feature 1
            [0.0, 0.0, 0.0, 2.0, 0.3],  # feature 3
            [0.6, 0.6, 0.5, 0.0, 0.0],  # polysemantic: best alignment 0.6/||u|| < 0.7
        ]
    )
    proj, norm, noise = neurons(u, 4)
    row = run_row(FinalState(RunSpec(5.0, 5, 0), proj, norm, noise), MAJORITY, 0.7, 0.3)
    assert row["neurons_majority"] == pytest.approx(1.5)  # (2 + 1) / 2
    assert row["neurons_minority"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert row["coverage_majority"] == 1.0
    assert row["coverage_minority"] == 0.5
    assert coverage(np.array([0, 0, 0, 0]), MAJORITY) == 0.0


def test_min_width_picks_the_first_width_covered_in_most_seeds():
    widths = np.array([4.0, 8.0, 16.0])
    covered = np.array(
        [
            [[0, 0, 0], [1, 1, 0], [1, 1, 1]],  # m* = 8 (2 of 3 seeds > 0.5)
            [[0, 0, 0], [1, 0, 0], [1, 0, 0]],  # never in most seeds -> censored
        ],
        dtype=bool,
    )  # (R=2, W=3, S=3)
    assert min_width(covered, widths, 0.5).tolist() == [8.0, np.inf]


def test_loglog_slope_recovers_a_power_law():
    ratios = np.array([1.0, 2.0, 5.0, 10.0])
    assert loglog_slope(ratios, 4.0 * ratios**0.5, 1e6) == pytest.approx(0.5)
    assert loglog_slope(ratios, np.full(4, 8.0), 1e6) == pytest.approx(0.0)
    # a censored value counts at the cap, i.e. as if it were exactly the cap
    capped = loglog_slope(ratios, np.array([1.0, 2.0, 4.0, np.inf]), 8.0)
    assert capped == pytest.approx(loglog_slope(ratios, np.array([1.0, 2.0, 4.0, 8.0]), 99.0))


def synthetic_table(
    minority_needs, seeds=5, widths=(2, 4, 8, 16, 32), ratios=(1.0, 2.0, 4.0)
) -> pd.DataFrame:
    """Runs in which a group is fully covered iff width >= needs(rho); majority needs 2."""
    rows = []
    for rho in ratios:
        for m in widths:
            for s in range(seeds):
                rows.append(
                    {
                        "imbalance_ratio": rho,
                        "width": m,
                        "seed": s,
                        "coverage_majority": float(m >= 2),
                        "coverage_minority": float(m >= minority_needs(rho)),
                    }
                )
    return pd.DataFrame(rows)


def test_width_trend_slope_one_when_the_needed_width_doubles_with_rho():
    trend = width_trend(synthetic_table(lambda r: 2 * r), 0.5, 200, 0.95, seed=0)
    assert trend["mstar_minority"].tolist() == [2.0, 4.0, 8.0]
    assert trend["slope"].mean == pytest.approx(1.0)
    assert trend["slope"].low == pytest.approx(1.0)  # every seed agrees: no spread
    assert trend["control_gap"].mean == 0.0
    claim = claim_c4(trend, 0.0, 0.5)
    assert claim.verdict == SUPPORTED


def test_width_trend_flat_is_not_supported_and_uncovered_control_is_inconclusive():
    flat = width_trend(synthetic_table(lambda r: 4), 0.5, 200, 0.95, seed=0)
    assert flat["slope"].mean == pytest.approx(0.0)
    assert claim_c4(flat, 0.0, 0.5).verdict == NOT_SUPPORTED
    never = width_trend(synthetic_table(lambda r: 1000), 0.5, 200, 0.95, seed=0)
    assert never["censored"] == [1.0, 2.0, 4.0]
    assert claim_c4(never, 0.0, 0.5).verdict == INCONCLUSIVE


def states_with(minority_neurons_at_10: int, seeds: int = 4) -> list[FinalState]:
    """rho = 1: every feature has 2 neurons. rho = 10: majority 2, minority as given."""
    out = []
    rng = np.random.default_rng(0)
    for rho, k_min in ((1.0, 2), (10.0, minority_neurons_at_10)):
        for s in range(seeds):
            extra = int(rng.integers(0, 2)) if rho > 1 else 0  # seed spread at rho = 10 only
            owners = [0, 0, 1, 1] + [0] * extra + [2] * k_min + [3] * k_min
            u = np.zeros((len(owners) + 1, 6))
            for i, j in enumerate(owners):
                u[i, j] = 1.0
                u[i, 4] = 0.9 if (j >= 2 and rho > 1) else 0.1  # minority noisier under imbalance
            u[-1, 5] = 1.0  # a pure-noise neuron
            proj, norm, noise = neurons(u, 4)
            out.append(FinalState(RunSpec(rho, 16, s), proj, norm, noise))
    return out


def test_claims_c3_c5_supported_when_minority_loses_neurons_and_separation():
    table = sweep_table(states_with(1), MAJORITY, 0.7, 0.3)
    assert claim_c3(table, 10.0, 16, 0.95, 0.7).verdict == SUPPORTED
    c5 = claim_c5(table, 10.0, 16, 0.95)
    assert c5.value == pytest.approx(1.0 - math.log10(1 / 0.9))  # log10(1/0.1) - log10(1/0.9)
    assert c5.verdict == SUPPORTED  # the balanced control's gap is exactly 0


def test_claim_c3_not_supported_when_minority_keeps_its_neurons():
    table = sweep_table(states_with(3), MAJORITY, 0.7, 0.3)
    assert claim_c3(table, 10.0, 16, 0.95, 0.7).verdict == NOT_SUPPORTED


def test_regime_summary_sorts_ratios_by_the_sign_of_the_interval():
    gaps = {
        1.0: Interval(0.0, -1.0, 1.0, 5),
        5.0: Interval(-2.0, -3.0, -1.0, 5),
        20.0: Interval(2.0, 1.0, 3.0, 5),
        50.0: Interval(3.0, 2.0, 4.0, 5),
    }
    assert regime_summary(gaps) == (
        "present (CI above 0) at rho = 20, 50; reversed (CI below 0) at rho = 5; "
        "not resolved at rho = 1"
    )
