"""A health certificate for trained runs: is the encoder alive, and does it carry the features?

Per run (stacked over R, every quantity computed for all runs at once):

- loss / log B: the InfoNCE loss of loss.py on held-out positive pairs (data.heldout_pairs),
  averaged over batches of B, against its chance value log B (the loss of an encoder that
  cannot tell the samples of a batch apart, e.g. f = 0). A ratio near 1 is a dead or
  collapsed encoder; the lower, the more the encoder discriminates.
- nonzero share: the share of non-zero entries of f(X) (n samples x m neurons) on the
  held-out set; live share: the share of neurons non-zero on at least one held-out sample.
  The BReLU outputs exactly 0 inside [-b, b], so a bias above every pre-activation reads 0.
- the signed probe (probe.signed_probe): R^2 and sign accuracy of the readout of
  z_hat_j = sum_r z_rj from f, per group (majority / minority) and their gap.

Training's own loss is logged per logged step in Trajectory.loss (on the step's batch).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from imbcl.synthetic.loss import info_nce
from imbcl.synthetic.model import Params, encode
from imbcl.synthetic.probe import encoder_features, group_summary, signed_probe


def heldout_loss(
    params: Params,
    x1: np.ndarray,
    x2: np.ndarray,
    bias: torch.Tensor | float,
    temperature: float,
) -> np.ndarray:
    """Mean InfoNCE over held-out batches of pairs, per run. x1, x2 (n_batches, B, L, d) ->
    (R,) in nats (chance: log B)."""
    R = params["w"].shape[0]
    total = torch.zeros(R, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(x1, x2, strict=True):
            xa = torch.as_tensor(a)[None].expand(R, -1, -1, -1)  # (R, B, L, d)
            xb = torch.as_tensor(b)[None].expand(R, -1, -1, -1)
            total += info_nce(encode(params, xa, bias), encode(params, xb, bias), temperature)
    return (total / len(x1)).numpy()


def health(
    params: Params,
    pairs: tuple[np.ndarray, np.ndarray],
    eval_x: np.ndarray,
    eval_z_sum: np.ndarray,
    majority: np.ndarray,
    bias: torch.Tensor | float,
    temperature: float,
    alpha: float = 1.0,
    train_fraction: float = 0.5,
) -> list[dict[str, float]]:
    """The health of every stacked run, one dict per run.

    params: stacked weights (a forward mask "mask" is applied); pairs: held-out (x1, x2),
    each (n_batches, B, L, d); eval_x (n, L, d) and eval_z_sum (n, K) the balanced held-out
    set; majority (K,) bool; bias a float or (R, m), the final b(t); alpha, train_fraction:
    the signed probe's ridge strength and fitting share.

    Keys: loss, chance_loss (log B), loss_ratio (loss / log B), nonzero_share, live_share,
    probe_{majority,minority,gap}_{r2,sign_accuracy}.
    """
    x1, x2 = pairs
    B = x1.shape[1]
    loss = heldout_loss(params, x1, x2, bias, temperature)  # (R,)
    feats = encoder_features(params, eval_x, bias)  # (R, n, m)
    out = []
    for r in range(feats.shape[0]):
        f = feats[r]  # (n, m)
        per_feature = signed_probe(f, eval_z_sum, alpha, train_fraction)
        out.append(
            {
                "loss": float(loss[r]),
                "chance_loss": math.log(B),
                "loss_ratio": float(loss[r]) / math.log(B),
                "nonzero_share": float((f != 0).mean()),
                "live_share": float((f != 0).any(axis=0).mean()),
                **group_summary(per_feature, majority, ("r2", "sign_accuracy")),
            }
        )
    return out
