"""Per-run measures of the pruning study on hand-built neurons."""

from __future__ import annotations

import numpy as np
import pytest

from imbcl.pruning.measures import neuron_separation


def test_neuron_separation_in_decades() -> None:
    proj = np.array([[1.0, 0.0], [0.0, 0.1], [0.0, 0.0]])  # neuron 2 is dead
    noise = np.array([0.1, 0.1, 0.0])
    majority = np.array([True, False])
    assert neuron_separation(proj, noise, majority) == pytest.approx(1.0)  # log10(1 / 0.1)
    assert neuron_separation(proj, noise, ~majority) == pytest.approx(0.0)
    assert np.isnan(neuron_separation(proj[:1], noise[:1], ~majority))
