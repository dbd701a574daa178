"""Theorem 3.2's mechanism measured: how a forward mask changes the gradient along minority
and majority feature directions, at logged steps, on the same weights and the same batch.

For a masked run at step t (its weights w (m, d) and the mask in use at t, from the run's
checkpoint) and one held-out batch of pairs at the run's rho (data.heldout_pairs, seed of
the run: the same batch for every arm and step of a (rho, seed)):

    G_mask   the gradient the run applies at t (its masked_grad rule, step.loss_and_grads)
    G_dense  the gradient of the unmasked loss at the same w
    A_g      ||G_mask M_g||_F / ||G_dense M_g||_F, M_g (d, K_g) the group's feature columns

(with fixed identity attention a neuron's effective direction is w_i itself). Theorem 3.2:
masking amplifies the gradient along minority directions, of order alpha/d against
alpha/d^2 for the others, so A_minority > A_majority; the statistic per run and step is
log A_minority - log A_majority (positive in the paper's direction).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from imbcl.core.claims import mean_ci
from imbcl.synthetic.data import heldout_pairs
from imbcl.synthetic.model import Params, bias_at
from imbcl.synthetic.runs import RunResult
from imbcl.synthetic.step import loss_and_grads


def _grad(
    params: Params,
    mask: torch.Tensor | None,
    rule: str,
    x: tuple[torch.Tensor, torch.Tensor],
    bias: float,
    temperature: float,
) -> torch.Tensor:
    """The gradient (1, m, d) of w at `params` (1, ...): dense (mask None) or masked."""
    if mask is None:
        return loss_and_grads(params, *x, bias, temperature, False)[1]()["w"]
    used = {"qkv": params["qkv"], "w": params["w"] * mask}
    dense = params if rule == "dense" else None
    g = loss_and_grads(used, *x, bias, temperature, False, dense=dense)[1]()["w"]
    return g if rule == "dense" else g * mask


def amplification(
    results: dict,
    steps: list[int],
    data,
    model,
    train,
    M: np.ndarray,
    majority: np.ndarray,
) -> pd.DataFrame:
    """One row per (masked arm, seed, step): rho, arm, seed, step, a_minority, a_majority,
    log_amplification. results: (Arm, seed) -> RunResult with checkpoints at `steps`."""
    Mt = torch.as_tensor(M, dtype=torch.float32)  # (d, K)
    groups = {"majority": Mt[:, majority], "minority": Mt[:, ~majority]}
    batches: dict[tuple[float, int], tuple[torch.Tensor, torch.Tensor]] = {}
    rows = []
    for (arm, seed), res in results.items():
        if arm.arm == "dense":
            continue
        key = (arm.rho, seed)
        if key not in batches:
            hp = heldout_pairs(data, M, seed, train.batch, 1, imbalance_ratio=arm.rho)
            batches[key] = (torch.as_tensor(hp.x1), torch.as_tensor(hp.x2))  # (1, B, L, d)
        x = batches[key]
        for t in steps:
            ck = _checkpoint(res, t)
            params = {"qkv": ck["qkv"][None], "w": ck["w"][None]}
            b = bias_at(model, t)
            g_mask = _grad(params, ck["mask"][None], arm.masked_grad, x, b, train.temperature)
            g_dense = _grad(params, None, arm.masked_grad, x, b, train.temperature)
            a = {
                k: float((g_mask[0] @ Mg).norm() / (g_dense[0] @ Mg).norm().clamp_min(1e-30))
                for k, Mg in groups.items()
            }
            rows.append(
                {
                    "rho": arm.rho,
                    "arm": arm.arm,
                    "seed": seed,
                    "step": t,
                    "a_minority": a["minority"],
                    "a_majority": a["majority"],
                    "log_amplification": math.log(max(a["minority"], 1e-30))
                    - math.log(max(a["majority"], 1e-30)),
                }
            )
    return pd.DataFrame(rows)


def _checkpoint(res: RunResult, step: int) -> dict[str, torch.Tensor]:
    if step not in res.checkpoints or "mask" not in res.checkpoints[step]:
        raise ValueError(f"run {res.spec.name}: no masked checkpoint at step {step}")
    return res.checkpoints[step]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (rho, arm, step): the seeds' mean A per group and the mean log amplification with
    its 95% t-interval over seeds."""
    rows = []
    for (rho, arm, step), g in table.groupby(["rho", "arm", "step"], sort=True):
        iv = mean_ci(g["log_amplification"].to_numpy(), 0.95)
        rows.append(
            {
                "rho": rho,
                "arm": arm,
                "step": step,
                "a_minority": float(g["a_minority"].mean()),
                "a_majority": float(g["a_majority"].mean()),
                "log_amplification": iv.mean,
                "ci_low": iv.low,
                "ci_high": iv.high,
                "seeds": iv.n,
            }
        )
    return pd.DataFrame(rows)


def per_rho(table: pd.DataFrame, arm: str = "magnitude") -> list[dict]:
    """For the C6 row: per rho, the per-seed mean over steps of log A_min - log A_maj of
    `arm`, its mean and 95% t-interval over seeds, and each group's mean A."""
    out = []
    sub = table[table.arm == arm]
    for rho, g in sub.groupby("rho", sort=True):
        per_seed = g.groupby("seed")["log_amplification"].mean()
        iv = mean_ci(per_seed.to_numpy(), 0.95)
        out.append(
            {
                "rho": float(rho),
                "arm": arm,
                "value": iv.mean,
                "ci_low": iv.low,
                "ci_high": iv.high,
                "seeds": iv.n,
                "a_minority": float(g["a_minority"].mean()),
                "a_majority": float(g["a_majority"].mean()),
            }
        )
    return out
