"""The two-scale oracle (race.oracle) on constructed latents."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from imbcl.race.oracle import pair_loss, two_scale_oracle


def latents(p: np.ndarray, n_batches: int = 8, batch: int = 64, tokens: int = 4, seed: int = 0):
    """Signed token-summed latents (n_batches, B, K) with per-token activation p (K,)."""
    rng = np.random.default_rng(seed)
    active = rng.random((n_batches, batch, tokens, len(p))) < p
    sign = np.where(rng.random(active.shape) < 0.5, 1, -1)
    return (active * sign).sum(axis=2).astype(np.int16)


MAJ = np.array([True] * 4 + [False] * 4)


def test_pair_loss_by_hand():
    f = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]], dtype=torch.float64)  # one batch, B = 2
    # row a: -<f_a, f_a> / tau + log(sum_b exp(<f_a, f_b> / tau)), tau = 1
    rows = [-1 + math.log(math.e + 1), -4 + math.log(1 + math.exp(4))]
    assert float(pair_loss(f, 1.0)) == pytest.approx(np.mean(rows))


def test_balanced_latents_give_equal_scales():
    z = latents(np.full(8, 0.2))
    o = two_scale_oracle(z, MAJ, 0.5)
    assert o["ratio"] == pytest.approx(1.0, abs=0.1)
    assert o["loss"] <= o["loss_one"] + 1e-9


def test_a_rare_group_gets_the_larger_scale_and_roles_swap():
    p = np.array([0.2] * 4 + [0.02] * 4)
    z = latents(p)
    o = two_scale_oracle(z, MAJ, 0.5)
    assert o["ratio"] > 1.3  # rare features weigh more: not the paper's 1 / rho = 0.1
    assert o["loss"] < o["loss_one"]
    swapped = two_scale_oracle(z, ~MAJ, 0.5)  # call the rare group the majority
    assert swapped["ratio"] == pytest.approx(1 / o["ratio"], rel=1e-3)
