"""The race index as documented (race.index), on constructed inputs; the outcome classifier;
the threshold fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imbcl.race.index import (
    OUTCOMES,
    Inputs,
    cell_outcome,
    fit,
    indices,
    initial_alignment,
    predict,
    race_index,
    run_outcome,
)
from imbcl.race.params import Observed, Thresholds

MEDIAN_ABS_NORMAL = 0.6744897501960817  # the median of |N(0, 1)|


def inputs(**changes) -> Inputs:
    """d 16, one neuron, so a0 = init_std / 4 * 0.6745; b = a0 e^4, so need = 4 e-folds."""
    a0 = 0.1 / 4 * MEDIAN_ABS_NORMAL
    base = dict(
        dim=16,
        width=1,
        tokens=4,
        p_majority=0.25,
        rho=10.0,
        temperature=0.5,
        init_std=0.1,
        lr=0.1,
        bias=a0 * math.exp(4.0),
        ramp=100,
        steps=200,
    )
    return Inputs(**{**base, **changes})


def test_initial_alignment_is_the_median_of_the_best_neuron():
    assert initial_alignment(0.1, 16, 1) == pytest.approx(0.1 / 4 * MEDIAN_ABS_NORMAL)
    rng = np.random.default_rng(0)
    draws = np.abs(rng.normal(0.0, 0.1 / 4, size=(20000, 32))).max(axis=1)
    assert initial_alignment(0.1, 16, 32) == pytest.approx(np.median(draws), rel=0.02)


def test_index_by_hand():
    # minority rate eta p L / tau = 0.1 * 0.025 * 4 / 0.5 = 0.02 per step, 100 steps to the
    # ramp's end: 2 e-folds against 4 needed.
    x = inputs()
    assert race_index(x, 0.025, kappa=0.0) == pytest.approx(0.5)
    # kappa = 0.5 counts half of the 100 steps after the ramp: 3 e-folds.
    assert race_index(x, 0.025, kappa=0.5) == pytest.approx(0.75)
    # majority: ten times the rate.
    assert indices(x, 0.0) == pytest.approx((5.0, 0.5))


def test_index_when_training_stops_inside_the_ramp():
    # T = 50 < T_ramp: the bias reaches b / 2 (need 4 - ln 2), the budget 50 steps.
    x = inputs(steps=50)
    assert race_index(x, 0.025, kappa=0.3) == pytest.approx(1.0 / (4.0 - math.log(2.0)))


def test_index_is_infinite_when_the_feature_starts_above_the_bias():
    x = inputs(bias=0.001)
    assert race_index(x, 0.025, 0.0) == math.inf


@pytest.mark.parametrize(
    "change, direction",
    [
        ({"ramp": 200}, +1),
        ({"lr": 0.2}, +1),
        ({"init_std": 0.2}, +1),
        ({"rho": 20.0}, -1),
        ({"bias": 1.0}, -1),
    ],
)
def test_each_route_moves_the_minority_index_its_way(change, direction):
    before, after = indices(inputs(), 0.0)[1], indices(inputs(**change), 0.0)[1]
    assert np.sign(after - before) == direction


def test_predict_reads_majority_then_minority():
    t = Thresholds(kappa=0.0, dead=1.0, learned=2.0, stronger=4.0)
    assert predict(0.5, 10.0, t) == "dead"
    assert predict(5.0, 1.0, t) == "frozen"
    assert predict(5.0, 3.0, t) == "weaker"
    assert predict(5.0, 4.0, t) == "stronger"


RULE = Observed(clear_factor=1.0, group_share=0.5, stronger_ratio=1.0)
MAJ = np.array([True] * 4 + [False] * 4)


@pytest.mark.parametrize(
    "strength, outcome",
    [
        ([0.2, 0.2, 0.9, 0.2, 1.0, 1.0, 1.0, 1.0], "dead"),  # 1 of 4 majority features clear
        ([0.9, 0.9, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0], "dead"),  # exactly half is not more
        ([0.9, 0.9, 0.9, 0.2, 0.1, 0.1, 0.9, 0.1], "frozen"),
        ([0.9, 0.9, 0.9, 0.9, 1.5, 1.5, 1.5, 0.1], "stronger"),  # 1.15 / 0.9
        ([0.9, 0.9, 0.9, 0.9, 0.6, 0.6, 0.6, 0.6], "weaker"),
    ],
)
def test_run_outcome(strength, outcome):
    assert run_outcome(np.array(strength), MAJ, 0.3, RULE) == outcome


def test_run_outcome_clears_against_the_final_bias():
    s = np.array([0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5])
    assert run_outcome(s, MAJ, 0.3, RULE) == "weaker"
    assert run_outcome(s, MAJ, 0.6, RULE) == "frozen"
    assert run_outcome(s, MAJ, 0.3, RULE.model_copy(update={"clear_factor": 2.0})) == "frozen"


def test_cell_outcome_is_the_mode_ties_to_the_paper_side():
    assert cell_outcome(["stronger", "weaker", "stronger"]) == "stronger"
    assert cell_outcome(["stronger", "frozen"]) == "frozen"
    assert cell_outcome(["weaker"]) == "weaker"
    assert OUTCOMES.index("dead") < OUTCOMES.index("stronger")


def test_fit_recovers_cuts_that_separate_the_outcomes():
    # Cells along the ramp: the minority index is ramp / 200 (see inputs); outcomes set by
    # cuts at 0.75 and 2.0 of it, the majority index (10x) never dead.
    ramps = [20, 60, 100, 140, 200, 300, 500, 800]
    x = [inputs(ramp=r, steps=r) for r in ramps]
    truth = Thresholds(kappa=0.0, dead=0.0, learned=0.75, stronger=2.0)
    observed = [predict(*indices(c, 0.0), truth) for c in x]
    assert set(observed) == {"frozen", "weaker", "stronger"}
    found = fit(x, observed, [0.0, 0.1])
    assert found.accuracy == 1.0
    assert [predict(*indices(c, found.thresholds.kappa), found.thresholds) for c in x] == observed
    # a cell contradicting the order cannot be fitted
    worse = fit(x, ["stronger", *observed[1:]], [0.0])
    assert worse.accuracy == pytest.approx(7 / 8)
