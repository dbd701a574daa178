"""Why a learned rare feature ends stronger: the two-scale oracle.

The oracle encoder reads every feature exactly, with one scale for the majority and one for
the minority: f = s_maj * z_hat_maj (+) s_min * z_hat_min, z_hat_j = sum_r z_rj the signed
token-summed latent (both views of a pair share it, so f(X) = f(Y)). Its held-out InfoNCE,

    loss(s_maj, s_min) = mean_a [ -<f_a, f_a> / tau + log sum_b exp(<f_a, f_b> / tau) ],

is minimised over (log s_maj, log s_min) (scipy L-BFGS-B, the gradient by autograd, both
logs in [-LOG_SCALE_BOUND, LOG_SCALE_BOUND]). Under InfoNCE on raw inner products a rare
feature shared by a positive pair is seldom shared by its negatives, so each unit of its
scale separates the pair from more negatives: its loss-optimal scale may be the larger one
(an IDF-like weighting). The paper's converged coefficients scale as eps_j / eps_max, i.e.
s_min / s_maj = 1 / rho.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize

from imbcl.race.params import RaceStage
from imbcl.race.study import configs
from imbcl.synthetic.data import heldout_pairs, make_dictionary
from imbcl.synthetic.health import LOG_SCALE_BOUND


def pair_loss(f: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean InfoNCE of pairs with equal views, f (n_batches, B, K) -> scalar, differentiable
    through both views."""
    logits = f @ f.transpose(1, 2) / temperature  # (n_batches, B, B)
    return (torch.logsumexp(logits, dim=-1) - logits.diagonal(dim1=1, dim2=2)).mean()


def two_scale_oracle(z_sum: np.ndarray, majority: np.ndarray, temperature: float) -> dict:
    """The oracle's optimal scales on held-out latents z_sum (n_batches, B, K), majority (K,)
    bool. Returns s_majority, s_minority, ratio (s_min / s_maj), loss (nats), and loss_one
    (the best single scale, the health oracle's reading)."""
    z = torch.as_tensor(z_sum, dtype=torch.float64)
    is_maj = torch.as_tensor(majority)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        ls = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        scale = torch.where(is_maj, ls[0].exp(), ls[1].exp())  # (K,)
        loss = pair_loss(z * scale, temperature)
        loss.backward()
        assert ls.grad is not None
        return float(loss.detach()), ls.grad.numpy().copy()

    bounds = [(-LOG_SCALE_BOUND, LOG_SCALE_BOUND)] * 2
    two = minimize(fun, np.zeros(2), jac=True, method="L-BFGS-B", bounds=bounds)
    one = minimize(lambda v: fun(np.array([v[0], v[0]]))[0], np.zeros(1), method="Nelder-Mead")
    s_maj, s_min = float(np.exp(two.x[0])), float(np.exp(two.x[1]))
    return {
        "s_majority": s_maj,
        "s_minority": s_min,
        "ratio": s_min / s_maj,
        "loss": float(two.fun),
        "loss_one": float(one.fun),
    }


def oracle_table(p: RaceStage, table: pd.DataFrame) -> pd.DataFrame:
    """Per rho of race.oracle_ratios (small model, held-out pairs of small.batch): the two-scale
    oracle's ratio beside the paper's 1 / rho and the trained encoders' ratios, the median
    over the small-model cells at that rho, trained for the longest discovery length, whose
    minority was learned (observed weaker or stronger): mean minority / majority strength
    max_i |<u_i, M_j>| (`trained_ratio`) and of the response length sqrt(sum_i <u_i, M_j>^2)
    (`trained_norm_ratio`), the analogue of s_min / s_maj. NaN where no such cell exists."""
    d, _, t = configs(p, "small")
    dic = make_dictionary(d, p.seed)
    longest = max(p.race.discovery_steps)
    rows = []
    for rho in p.race.oracle_ratios:
        pairs = heldout_pairs(d, dic.M, p.seed, t.batch, p.race.oracle_batches, rho)
        o = two_scale_oracle(pairs.z_sum, dic.majority, t.temperature)
        learned = table[
            (table["size"] == "small")
            & (table.rho == rho)
            & (table.steps == longest)
            & table.observed.isin(["weaker", "stronger"])
        ]
        rows.append(
            {
                "rho": rho,
                "paper_ratio": 1.0 / rho,
                "oracle_ratio": o["ratio"],
                "oracle_s_majority": o["s_majority"],
                "oracle_s_minority": o["s_minority"],
                "oracle_loss": o["loss"],
                "oracle_loss_one_scale": o["loss_one"],
                "trained_ratio": float(learned.ratio.median()) if len(learned) else np.nan,
                "trained_norm_ratio": (
                    float(learned.norm_ratio.median()) if len(learned) else np.nan
                ),
                "trained_cells": len(learned),
            }
        )
    return pd.DataFrame(rows)
