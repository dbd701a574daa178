"""Linear probes on a frozen encoder, fitted on the first part of the balanced held-out set
and scored on the rest, on standardised encoder outputs (scikit-learn).

- `signed_probe` (the signed readout): one ridge regression per feature predicting the
  signed token-summed coefficient z_hat_j = sum_r z_rj; test R^2, and the sign accuracy on
  the test samples where z_hat_j != 0.

The encoder is odd, f(-X) = -f(X): flipping a latent's sign keeps its presence and flips
f, so a probe of presence cannot read it; the signed readout is what an odd encoder can show.
Groups average over their features; the head-tail gap is majority minus minority.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from imbcl.synthetic.model import Params, encode


def encoder_features(
    params: Params, x: np.ndarray, bias: torch.Tensor | float, chunk: int = 512
) -> np.ndarray:
    """f(X) of every stacked run for the samples x (n, L, d) -> (R, n, m) float64.

    bias: a float or one threshold per run and neuron, (R, m)."""
    R = params["w"].shape[0]
    out = []
    with torch.no_grad():
        for lo in range(0, len(x), chunk):
            xb = torch.as_tensor(x[lo : lo + chunk])[None].expand(R, -1, -1, -1)  # (R, B, L, d)
            out.append(encode(params, xb, bias).double().numpy())
    return np.concatenate(out, axis=1)


def _split(features: np.ndarray, train_fraction: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Standardised (n_train, m) and (n - n_train, m) parts; the scaler is fitted on the first."""
    n_train = int(round(train_fraction * len(features)))
    scaler = StandardScaler().fit(features[:n_train])
    return scaler.transform(features[:n_train]), scaler.transform(features[n_train:]), n_train


def signed_probe(
    features: np.ndarray, z_sum: np.ndarray, alpha: float = 1.0, train_fraction: float = 0.5
) -> pd.DataFrame:
    """Per-feature ridge readout of the signed coefficient. features (n, m), z_sum (n, K).

    Returns one row per feature: feature, r2 (test R^2 of the prediction of z_hat_j; 0 for a
    constant prediction at the mean, negative when worse), sign_accuracy (share of the test
    samples with z_hat_j != 0 whose predicted sign is right, a zero prediction counting 1/2,
    so a dead encoder scores 0.5; NaN when there is no such sample).
    """
    f_train, f_test, n_train = _split(features, train_fraction)
    y = np.asarray(z_sum, dtype=np.float64)  # (n, K)
    pred = Ridge(alpha=alpha).fit(f_train, y[:n_train]).predict(f_test).reshape(len(f_test), -1)
    rows = []
    for j in range(y.shape[1]):
        y_test, p = y[n_train:, j], pred[:, j]
        signed = y_test != 0
        agree = np.where(p[signed] == 0, 0.5, np.sign(p[signed]) == np.sign(y_test[signed]))
        rows.append(
            {
                "feature": j,
                "r2": float(r2_score(y_test, p)) if np.ptp(y_test) > 0 else np.nan,
                "sign_accuracy": float(agree.mean()) if signed.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def group_summary(
    per_feature: pd.DataFrame,
    majority: np.ndarray,
    metrics: tuple[str, ...] = ("r2", "sign_accuracy"),
) -> dict[str, float]:
    """Majority / minority means of the signed probe's metrics and the head-tail gaps:
    probe_{majority,minority,gap}_<metric>."""
    out = {}
    for metric in metrics:
        values = per_feature[metric].to_numpy()
        head, tail = float(np.nanmean(values[majority])), float(np.nanmean(values[~majority]))
        out[f"probe_majority_{metric}"] = head
        out[f"probe_minority_{metric}"] = tail
        out[f"probe_gap_{metric}"] = head - tail
    return out
