"""Linear probe on a frozen encoder: from f(X) predict which features are present in X.

The probe is one L2-regularised logistic regression per feature (scikit-learn) on
standardised encoder outputs of the balanced held-out set, trained on its first part and
scored on the rest. Per feature it reports the test AUC (threshold-free, so it is not
flattered by a feature's base rate) and the test accuracy; groups average over their
features, and the head-tail gap is majority minus minority.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from imbcl.synthetic.model import Params, encode


def encoder_features(params: Params, x: np.ndarray, bias: float, chunk: int = 512) -> np.ndarray:
    """f(X) of every stacked run for the samples x (n, L, d) -> (R, n, m) float64."""
    R = params["w"].shape[0]
    out = []
    with torch.no_grad():
        for lo in range(0, len(x), chunk):
            xb = torch.as_tensor(x[lo : lo + chunk])[None].expand(R, -1, -1, -1)  # (R, B, L, d)
            out.append(encode(params, xb, bias).double().numpy())
    return np.concatenate(out, axis=1)


def linear_probe(
    features: np.ndarray, present: np.ndarray, c: float, train_fraction: float
) -> pd.DataFrame:
    """Per-feature test AUC and accuracy. features (n, m), present (n, K) bool.

    Returns one row per feature: feature, auc, accuracy (NaN where a split has one class).
    """
    n = len(features)
    n_train = int(round(train_fraction * n))
    scaler = StandardScaler().fit(features[:n_train])
    z_train, z_test = scaler.transform(features[:n_train]), scaler.transform(features[n_train:])
    rows = []
    for j in range(present.shape[1]):
        y_train, y_test = present[:n_train, j], present[n_train:, j]
        if len(np.unique(y_train)) < 2 or len(np.unique(y_test)) < 2:
            rows.append({"feature": j, "auc": np.nan, "accuracy": np.nan})
            continue
        clf = LogisticRegression(C=c, max_iter=2000).fit(z_train, y_train)
        rows.append(
            {
                "feature": j,
                "auc": float(roc_auc_score(y_test, clf.decision_function(z_test))),
                "accuracy": float(clf.score(z_test, y_test)),
            }
        )
    return pd.DataFrame(rows)


def group_summary(per_feature: pd.DataFrame, majority: np.ndarray) -> dict[str, float]:
    """Majority / minority means of the probe's AUC and accuracy, and the head-tail gaps."""
    out = {}
    for metric in ("auc", "accuracy"):
        values = per_feature[metric].to_numpy()
        head, tail = float(np.nanmean(values[majority])), float(np.nanmean(values[~majority]))
        out[f"probe_majority_{metric}"] = head
        out[f"probe_minority_{metric}"] = tail
        out[f"probe_gap_{metric}"] = head - tail
    return out
