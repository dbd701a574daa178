"""The linear probe: recovers a known linear signal, stays at chance without one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from imbcl.synthetic.probe import encoder_features, group_summary, linear_probe, signed_probe


def test_probe_recovers_a_known_linear_signal_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    n, m = 600, 12
    features = rng.normal(size=(n, m)) * rng.uniform(0.1, 10, size=m)  # unequal scales
    beta = rng.normal(size=m) / features.std(axis=0)
    present = np.stack([features @ beta > 0, rng.random(n) < 0.5], axis=1)  # (n, 2)
    out = linear_probe(features, present, c=1.0, train_fraction=0.5)
    assert list(out.feature) == [0, 1]
    assert out.auc[0] > 0.97 and out.accuracy[0] > 0.9
    assert abs(out.auc[1] - 0.5) < 0.1


def test_probe_marks_a_one_class_feature_as_missing() -> None:
    features = np.random.default_rng(1).normal(size=(100, 3))
    out = linear_probe(features, np.ones((100, 1), dtype=bool), c=1.0, train_fraction=0.5)
    assert np.isnan(out.auc[0])


def test_group_summary_and_head_tail_gap() -> None:
    per_feature = pd.DataFrame(
        {"feature": [0, 1, 2, 3], "auc": [0.9, 0.8, 0.6, 0.5], "accuracy": [0.95, 0.9, 0.7, 0.6]}
    )
    out = group_summary(per_feature, np.array([True, True, False, False]))
    assert np.isclose(out["probe_majority_auc"], 0.85)
    assert np.isclose(out["probe_minority_auc"], 0.55)
    assert np.isclose(out["probe_gap_auc"], 0.3)


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


def test_an_oracle_odd_encoder_is_invisible_to_presence_and_read_by_the_signed_probe() -> None:
    """f = z_hat (K outputs): presence is not linear in it, the signed coefficient is."""
    ev, majority = _heldout()
    oracle = ev["z_sum"].astype(np.float64)  # (n, K)
    presence = linear_probe(oracle, ev["present"], c=1.0, train_fraction=0.5)
    assert np.nanmean(np.abs(presence.auc - 0.5)) < 0.05
    signed = signed_probe(oracle, ev["z_sum"])
    assert signed.r2.min() > 0.99 and signed.sign_accuracy.min() == 1.0
    summary = group_summary(signed, majority, ("r2", "sign_accuracy"))
    assert summary["probe_minority_sign_accuracy"] == 1.0 and abs(summary["probe_gap_r2"]) < 0.01


def test_a_dead_encoder_is_at_chance_on_both_probes() -> None:
    ev, _ = _heldout()
    dead = np.zeros((len(ev["x"]), 8))  # f = 0 on every sample
    presence = linear_probe(dead, ev["present"], c=1.0, train_fraction=0.5)
    assert np.allclose(presence.auc.dropna(), 0.5)
    signed = signed_probe(dead, ev["z_sum"])
    assert np.abs(signed.r2).max() < 0.05
    assert np.abs(signed.sign_accuracy - 0.5).max() < 0.1


def test_sign_accuracy_counts_a_zero_prediction_as_half() -> None:
    z_sum = np.array([[1], [-2], [0], [3]] * 10)
    features = np.zeros((40, 2))
    out = signed_probe(features, z_sum - z_sum.mean(), train_fraction=0.5)
    assert out.sign_accuracy[0] == 0.5
