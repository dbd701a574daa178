"""The linear probe: recovers a known linear signal, stays at chance without one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from imbcl.synthetic.probe import encoder_features, group_summary, linear_probe


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
