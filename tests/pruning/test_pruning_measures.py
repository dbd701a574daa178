"""Per-run measures of the pruning study on hand-built neurons."""

from __future__ import annotations

import numpy as np
import pytest

from imbcl.pruning.measures import group_measures, neuron_separation


def test_neuron_separation_in_decades() -> None:
    proj = np.array([[1.0, 0.0], [0.0, 0.1], [0.0, 0.0]])  # neuron 2 is dead
    noise = np.array([0.1, 0.1, 0.0])
    majority = np.array([True, False])
    assert neuron_separation(proj, noise, majority) == pytest.approx(1.0)  # log10(1 / 0.1)
    assert neuron_separation(proj, noise, ~majority) == pytest.approx(0.0)
    assert np.isnan(neuron_separation(proj[:1], noise[:1], ~majority))


def test_neuron_separation_averages_the_group_on_a_log_scale() -> None:
    proj = np.array([[1.0, 0.0], [2.0, 0.5]])  # both neurons' best feature is 0
    noise = np.array([0.1, 2e-3])  # ratios 10 and 1000
    assert neuron_separation(proj, noise, np.array([True, False])) == pytest.approx(2.0)


def test_group_measures_per_group() -> None:
    # M = identity on K = 2 features: feature 0 is majority, 1 minority.
    proj = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 0.4]])
    norm = np.linalg.norm(proj, axis=1)
    noise = np.array([0.1, 0.1, 0.04])
    out = group_measures(proj, norm, noise, np.array([True, False]), threshold=0.7)
    assert out["majority_strength"] == pytest.approx(1.0)
    assert out["minority_strength"] == pytest.approx(0.4)
    assert out["majority_neurons"] == 2.0 and out["minority_neurons"] == 1.0
    assert out["majority_coverage"] == out["minority_coverage"] == 1.0
    assert out["minority_separation"] == pytest.approx(1.0)  # log10(0.4 / 0.04)
