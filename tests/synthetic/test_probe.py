"""The signed probe reads an odd encoder; a dead one stays at chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from imbcl.synthetic.probe import encoder_features, group_summary, signed_probe


def test_group_summary_and_head_tail_gap() -> None:
    per_feature = pd.DataFrame(
        {"feature": [0, 1, 2, 3], "r2": [0.9, 0.8, 0.6, 0.5], "sign_accuracy": [1, 0.9, 0.7, 0.6]}
    )
    out = group_summary(per_feature, np.array([True, True, False, False]))
    assert np.isclose(out["probe_majority_r2"], 0.85)
    assert np.isclose(out["probe_minority_r2"], 0.55)
    assert np.isclose(out["probe_gap_r2"], 0.3)


def test_encoder_features_shape_and_zero_weights() -> None:
    d, m, L = 6, 4, 3
    params = {
        "qkv": torch.cat([torch.zeros(2 * d, d), torch.eye(d)])[None].repeat(2, 1, 1),
        "w": torch.zeros(2, m, d),
    }
    x = np.random.default_rng(2).normal(size=(10, L, d)).astype(np.float32)
    f = encoder_features(params, x, bias=0.0, chunk=4)
    assert f.shape == (2, 10, m)
    assert not f.any()


def _heldout():
    from imbcl.synthetic.data import eval_set, make_dictionary
    from imbcl.synthetic.params import DataParams

    cfg = DataParams()
    D = make_dictionary(cfg, 0)
    return eval_set(cfg, D.M, seed=0), D.majority


def test_an_oracle_odd_encoder_is_read_by_the_signed_probe() -> None:
    """f = z_hat (K outputs): the signed coefficient is linear in it."""
    ev, majority = _heldout()
    oracle = ev["z_sum"].astype(np.float64)  # (n, K)
    signed = signed_probe(oracle, ev["z_sum"])
    assert signed.r2.min() > 0.99 and signed.sign_accuracy.min() == 1.0
    summary = group_summary(signed, majority, ("r2", "sign_accuracy"))
    assert summary["probe_minority_sign_accuracy"] == 1.0 and abs(summary["probe_gap_r2"]) < 0.01


def test_a_dead_encoder_is_at_chance() -> None:
    ev, _ = _heldout()
    dead = np.zeros((len(ev["x"]), 8))  # f = 0 on every sample
    signed = signed_probe(dead, ev["z_sum"])
    assert np.abs(signed.r2).max() < 0.05
    assert np.abs(signed.sign_accuracy - 0.5).max() < 0.1


def test_sign_accuracy_counts_a_zero_prediction_as_half() -> None:
    z_sum = np.array([[1], [-2], [0], [3]] * 10)
    features = np.zeros((40, 2))
    out = signed_probe(features, z_sum - z_sum.mean(), train_fraction=0.5)
    assert out.sign_accuracy[0] == 0.5
