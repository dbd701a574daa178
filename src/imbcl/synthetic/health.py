"""A health certificate for trained runs: is the encoder alive, and does it carry the features?

Per run (stacked over R, every quantity computed for all runs at once):

- loss / log B: the InfoNCE loss of loss.py on held-out positive pairs (data.heldout_pairs)
  drawn from the run's own training distribution (its rho), averaged over batches of B,
  against its chance value log B (the loss of an encoder that cannot tell the samples of a
  batch apart, e.g. f = 0). A ratio near 1 is a dead or collapsed encoder.
- oracle loss / log B: the same loss, on the same pairs, of the encoder that reads every
  feature exactly, f = s * z_hat (z_hat_j = sum_r z_rj, the signed token-summed latent; the
  two views of a pair share it), at the scale s that minimises it. It measures how far the
  data let samples be told apart: imbalanced data carry fewer active features per sample,
  and the oracle's loss rises with rho (at the default about 0.02 log B at rho = 1 and 0.2
  log B at rho = 10 on the train stage's model; 0.25 and 0.5 log B on the small model).
- gap closed: (log B - loss) / (log B - oracle loss), the share of the way from chance to the
  oracle the encoder goes; 0 for a dead encoder. With an oracle at 0 (samples always told
  apart), gap closed >= 0.5 is loss <= 0.5 log B.
- majority oracle / log B and gap closed (majority): the same against the oracle that reads
  the majority features only, f = s * z_hat[majority]. An imbalanced run is judged against
  it: whether the minority is learned is the outcome of C2-C5, never a health criterion.
- nonzero share: the share of non-zero entries of f(X) (n samples x m neurons) on the
  balanced held-out set; live share: the share of neurons non-zero on at least one sample.
  The BReLU outputs exactly 0 inside [-b, b], so a bias above every pre-activation reads 0.
- the signed probe (probe.signed_probe): R^2 and sign accuracy of the readout of
  z_hat_j = sum_r z_rj from f on the balanced held-out set, per group (majority / minority)
  and their gap.

The rule that reads the certificate (HealthParams) is in health_rule.py. Training's own loss
is logged per logged step in Trajectory.loss (on the step's batch).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar

from imbcl.core.errors import InputError
from imbcl.synthetic.bias import Bias
from imbcl.synthetic.data import HeldoutPairs, eval_set, heldout_pairs
from imbcl.synthetic.loss import info_nce
from imbcl.synthetic.model import Params, bias_at, encode
from imbcl.synthetic.params import DataParams, HealthParams, ModelParams, TrainParams
from imbcl.synthetic.probe import encoder_features, group_summary, signed_probe
from imbcl.synthetic.train import RunResult

# The certificate's numbers the claims and tables keep (keys of `health`'s dicts).
CERTIFICATE = (
    "loss_ratio",
    "oracle_ratio",
    "gap_closed",
    "nonzero_share",
    "live_share",
    "probe_majority_r2",
    "probe_minority_r2",
    "probe_majority_sign_accuracy",
    "probe_minority_sign_accuracy",
    "oracle_majority_ratio",
    "gap_closed_majority",
)
# The majority-only oracle's columns: optional in a HEALTH_FILE (a certificate written
# without them is completed by `with_majority_oracle`; the oracle depends on the data only).
MAJORITY_ORACLE = ("oracle_majority_ratio", "gap_closed_majority")
REQUIRED = tuple(c for c in CERTIFICATE if c not in MAJORITY_ORACLE)

# The certificates of a stage's runs, beside the runs (one row per run).
HEALTH_FILE = "health.csv"


def read_certificates(path: Path) -> pd.DataFrame:
    """A HEALTH_FILE written by `run_health`'s caller: one row per run, `run` and the
    CERTIFICATE columns (MAJORITY_ORACLE optional). InputError naming the file when it
    cannot be read, lacks a column or holds a value that is not a number."""
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable CSV ({err}); rerun the train stage") from None
    missing = [c for c in ("run", *REQUIRED) if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; rerun the train stage")
    values = table[[c for c in CERTIFICATE if c in table.columns]]
    if len(table) == 0 or not all(pd.api.types.is_numeric_dtype(t) for t in values.dtypes):
        raise InputError(f"{path}: expected one row of numbers per run; rerun the train stage")
    return table


# The oracle's scale is sought over s in [e^-LOG_SCALE_BOUND, e^LOG_SCALE_BOUND].
LOG_SCALE_BOUND = 6.0


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


def oracle_loss(z_sum: np.ndarray, temperature: float) -> float:
    """The held-out InfoNCE (nats) of the oracle encoder f = s * z_hat at its best scale.

    z_sum (n_batches, B, K): the pairs' signed token-summed latents (both views share them).
    The loss of `info_nce` with f1 = f2 = s * z_hat, averaged over batches, minimised over
    log s in [-LOG_SCALE_BOUND, LOG_SCALE_BOUND] (scipy's bounded Brent search, tolerance
    1e-4 in log s). It is no bound for a nonlinear encoder, only the reference of a linear
    reader of the exact features.
    """
    z = torch.as_tensor(z_sum, dtype=torch.float64)  # (n_batches, B, K)

    def loss(log_s: float) -> float:
        f = math.exp(log_s) * z
        return float(info_nce(f, f, temperature).mean())

    best = minimize_scalar(
        loss,
        bounds=(-LOG_SCALE_BOUND, LOG_SCALE_BOUND),
        method="bounded",
        options={"xatol": 1.0e-4},
    )
    return float(best.fun)


def health(
    params: Params,
    pairs: HeldoutPairs,
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

    Keys: loss, chance_loss (log B), loss_ratio (loss / log B), oracle_ratio (the oracle's
    loss / log B), gap_closed, oracle_majority_ratio and gap_closed_majority (the same
    against the oracle of the majority features only), nonzero_share, live_share,
    probe_{majority,minority,gap}_{r2,sign_accuracy}.
    """
    B = pairs.x1.shape[1]
    chance = math.log(B)
    loss = heldout_loss(params, pairs.x1, pairs.x2, bias, temperature)  # (R,)
    oracle = oracle_loss(pairs.z_sum, temperature)
    oracle_major = oracle_loss(pairs.z_sum[..., np.asarray(majority, dtype=bool)], temperature)
    feats = encoder_features(params, eval_x, bias)  # (R, n, m)
    out = []
    for r in range(feats.shape[0]):
        f = feats[r]  # (n, m)
        per_feature = signed_probe(f, eval_z_sum, alpha, train_fraction)
        out.append(
            {
                "loss": float(loss[r]),
                "chance_loss": chance,
                "loss_ratio": float(loss[r]) / chance,
                "oracle_ratio": oracle / chance,
                "gap_closed": (chance - float(loss[r])) / (chance - oracle),
                "oracle_majority_ratio": oracle_major / chance,
                "gap_closed_majority": (chance - float(loss[r])) / (chance - oracle_major),
                "nonzero_share": float((f != 0).mean()),
                "live_share": float((f != 0).any(axis=0).mean()),
                **group_summary(per_feature, majority, ("r2", "sign_accuracy")),
            }
        )
    return out


def heldout(
    data: DataParams, M: np.ndarray, seed: int, batch: int, hp: HealthParams
) -> dict[str, np.ndarray]:
    """The balanced held-out set of the probe and the non-zero share (hp.eval_samples)."""
    return eval_set(data.model_copy(update={"eval_samples": hp.eval_samples}), M, seed)


def certify(
    params: Params,
    ratios: list[float],
    data: DataParams,
    M: np.ndarray,
    majority: np.ndarray,
    bias: torch.Tensor | float,
    temperature: float,
    batch: int,
    hp: HealthParams,
    seed: int,
) -> list[dict[str, float]]:
    """`health` of stacked runs trained at various rho, each certified on held-out pairs at
    its own rho (hp.heldout_batches batches of `batch`, seed `seed`) and on the balanced
    held-out set. params: stacked (R, ...) weights; ratios (R,) each run's rho; bias a float
    or (R, m). Returns one dict per run, in order, with `imbalance_ratio` added."""
    ev = heldout(data, M, seed, batch, hp)
    out: list[dict[str, float]] = [{} for _ in ratios]
    for rho in sorted(set(ratios)):
        idx = [i for i, r in enumerate(ratios) if r == rho]
        sub = {k: v[idx] for k, v in params.items()}
        b = bias[idx] if isinstance(bias, torch.Tensor) else bias
        pairs = heldout_pairs(data, M, seed, batch, hp.heldout_batches, imbalance_ratio=rho)
        certs = health(sub, pairs, ev["x"], ev["z_sum"], majority, b, temperature)
        for i, cert in zip(idx, certs, strict=True):
            out[i] = {"imbalance_ratio": float(rho), **cert}
    return out


def with_majority_oracle(
    table: pd.DataFrame,
    data: DataParams,
    M: np.ndarray,
    majority: np.ndarray,
    temperature: float,
    batch: int,
    hp: HealthParams,
    seed: int,
) -> pd.DataFrame:
    """Certificates (`imbalance_ratio`, `loss_ratio` per run) with the MAJORITY_ORACLE columns
    filled where absent: the majority oracle's loss on the held-out pairs `certify` draws at
    each rho (the same pairs, so the same numbers as `health` writes)."""
    if (
        all(c in table.columns for c in MAJORITY_ORACLE)
        and not table[list(MAJORITY_ORACLE)].isna().any().any()
    ):
        return table
    out = table.copy()
    ratio = np.full(len(out), np.nan)
    for rho in sorted(set(out.imbalance_ratio)):
        pairs = heldout_pairs(data, M, seed, batch, hp.heldout_batches, imbalance_ratio=rho)
        z = pairs.z_sum[..., np.asarray(majority, dtype=bool)]
        ratio[(out.imbalance_ratio == rho).to_numpy()] = oracle_loss(z, temperature) / math.log(
            batch
        )
    out["oracle_majority_ratio"] = ratio
    out["gap_closed_majority"] = (1 - out.loss_ratio) / (1 - ratio)
    return out


def final_params(results: list[RunResult], step: int) -> Params:
    """The stacked weights (R, ...) of the runs at `step`."""
    return {k: torch.stack([r.checkpoints[step][k] for r in results]) for k in ("qkv", "w")}


def run_health(
    results: list[RunResult],
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    bias: Bias | None,
    M: np.ndarray,
    majority: np.ndarray,
    hp: HealthParams,
    seed: int,
) -> list[dict[str, float]]:
    """`certify` trained runs at their final step with the bias they trained with (None: the
    schedule of `model`), each on held-out pairs at its own rho; runs of several widths are
    certified width by width. One dict per run, in the order of `results`."""
    out: list[dict[str, float]] = [{} for _ in results]
    by_width: dict[int, list[int]] = {}
    for i, r in enumerate(results):
        by_width.setdefault(r.spec.width, []).append(i)
    for idx in by_width.values():
        group = [results[i] for i in idx]
        params = final_params(group, train.steps)
        fn = bias.fn(model, M) if bias is not None else None
        if fn is not None:
            b: torch.Tensor | float = fn(train.steps, params)
        else:
            b = bias_at(bias.model(model) if bias is not None else model, train.steps)
        ratios = [r.spec.imbalance_ratio for r in group]
        certs = certify(
            params, ratios, data, M, majority, b, train.temperature, train.batch, hp, seed
        )
        for i, cert in zip(idx, certs, strict=True):
            out[i] = cert
    return out
