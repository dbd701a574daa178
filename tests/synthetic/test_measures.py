"""synthetic.measures on hand-built neurons and curves whose answers are known."""

import numpy as np
import pytest

from imbcl.synthetic.measures import (
    detect_stages,
    feature_strength,
    growth_rates,
    neurons_per_feature,
    normalised_alignment,
    specialisation,
    time_to_learn,
)


def test_specialisation_on_hand_built_neurons():
    # 4 neurons, 3 features (identity basis, d = 4): projections and norms known by hand.
    U = np.array(
        [
            [1.0, 0.0, 0.0, 0.0],  # pure feature 0
            [0.6, 0.8, 0.0, 0.0],  # mostly feature 1 (0.8 >= 0.7)
            [0.5, 0.5, 0.5, 0.5],  # polysemantic: best 0.5 < 0.7
            [0.0, 0.0, 0.0, 0.0],
        ]
    )  # dead neuron
    M = np.eye(4, 3)
    proj, norm = U @ M, np.linalg.norm(U, axis=1)
    assert list(specialisation(proj, norm, 0.7)) == [0, 1, -1, -1]
    assert list(neurons_per_feature(proj, norm, 0.7)) == [1, 1, 0]
    np.testing.assert_allclose(normalised_alignment(proj, norm)[1], [0.6, 0.8, 0.0])
    np.testing.assert_allclose(feature_strength(proj), [1.0, 0.8, 0.5])


def test_change_points_found_on_a_three_piece_signal():
    steps = np.arange(0, 3000, 20)
    knots = (600, 1800)
    log_y = np.where(
        steps < knots[0],
        -6 + steps / 100,
        np.where(steps < knots[1], 0 + (steps - knots[0]) / 2000, 0.6),
    )
    curves = {
        "majority": np.exp(log_y),
        "minority": np.exp(log_y - 2),
        "noise": np.exp(-4 + 0 * steps),
    }
    curves["noise"] = curves["noise"] * (1 + 0.001 * np.sin(steps))
    st = detect_stages(curves, steps, n_stages=3, min_size=3)
    assert abs(st.steps[1] - knots[0]) <= 60 and abs(st.steps[2] - knots[1]) <= 60
    assert st.gain > 0.9
    rates = growth_rates(curves, steps, st)
    assert rates["majority"][0] == pytest.approx(10.0, rel=0.05)  # 1/100 per step
    assert rates["majority"][2] == pytest.approx(0.0, abs=0.05)


def test_a_straight_line_gains_nothing_from_more_stages():
    steps = np.arange(0, 2000, 20)
    line = {g: np.exp(steps / 1000 + k) for k, g in enumerate(["majority", "minority", "noise"])}
    assert detect_stages(line, steps, 3, 3).gain < 0.05


def test_time_to_learn():
    steps = np.arange(0, 100, 10)
    curve = np.array([0, 0, 0, 1, 2, 4, 8, 9, 10, 10], dtype=float)
    assert time_to_learn(curve, steps, 0.5) == 60  # first value >= 5
