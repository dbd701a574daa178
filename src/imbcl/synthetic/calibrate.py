"""The calibrated default bias: train the balanced control (rho = 1) of the small model at
each candidate bias, certify each run's health (health.py), and pick by a rule fixed in
params before any run:

    the first candidate of `calibrate.candidates` (largest level first) whose balanced runs
    are all healthy: held-out InfoNCE loss <= max_loss_ratio * log B, majority sign accuracy
    of the signed probe >= min_sign_accuracy, share of non-zero outputs in
    [nonzero_min, nonzero_max].

The rule reads the balanced control only, never a claim statistic. If no candidate is
healthy, `choose` returns None and the stage fails with one line naming each candidate's
first failing check: claims measured on a dead encoder say little (see the design notes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from imbcl.core.params import replace
from imbcl.synthetic.bias import Bias, candidate_bias
from imbcl.synthetic.data import eval_set, heldout_pairs, make_dictionary
from imbcl.synthetic.health import health
from imbcl.synthetic.model import Params, bias_at
from imbcl.synthetic.params import (
    CalibrateParams,
    DataParams,
    ModelParams,
    SmallParams,
    TrainParams,
    scaled,
)
from imbcl.synthetic.train import RunResult, RunSpec, train_runs

HEALTH_COLUMNS = ("loss_ratio", "probe_majority_sign_accuracy", "nonzero_share")


def failure(row: dict | pd.Series, cal: CalibrateParams) -> str:
    """The first health check a run fails, as a phrase, or "" for a healthy run."""
    if not row["loss_ratio"] <= cal.max_loss_ratio:
        return f"loss {row['loss_ratio']:.3g} log B > {cal.max_loss_ratio:g} log B"
    if not row["probe_majority_sign_accuracy"] >= cal.min_sign_accuracy:
        acc = row["probe_majority_sign_accuracy"]
        return f"majority sign accuracy {acc:.3g} < {cal.min_sign_accuracy:g}"
    if not cal.nonzero_min <= row["nonzero_share"] <= cal.nonzero_max:
        return (
            f"non-zero share {row['nonzero_share']:.3g} outside "
            f"[{cal.nonzero_min:g}, {cal.nonzero_max:g}]"
        )
    return ""


def mark(table: pd.DataFrame, cal: CalibrateParams) -> pd.DataFrame:
    """The health table with `failure` (first failing check, "" if none) and `healthy`."""
    fails = [failure(row, cal) for _, row in table.iterrows()]
    return table.assign(failure=fails, healthy=[not f for f in fails])


def choose(table: pd.DataFrame, cal: CalibrateParams) -> str | None:
    """The rule: the first candidate (in calibrate.candidates order) whose runs are all
    healthy, by its `candidate` name; None if none is. `table`: one row per run with a
    `candidate` column and the HEALTH_COLUMNS."""
    marked = mark(table, cal)
    for c in cal.candidates:
        name = candidate_bias(c, cal.noise_level).candidate
        runs = marked[marked.candidate == name]
        if len(runs) and bool(runs.healthy.all()):
            return name
    return None


def unhealthy_summary(table: pd.DataFrame, cal: CalibrateParams) -> str:
    """One line: each candidate's share of healthy runs and its first failure."""
    marked = mark(table, cal)
    parts = []
    for name, runs in marked.groupby("candidate", sort=False):
        first = next((f for f in runs.failure if f), "")
        parts.append(f"{name}: {int(runs.healthy.sum())}/{len(runs)} healthy ({first})")
    return "; ".join(parts)


def small_configs(
    data: DataParams, model: ModelParams, train: TrainParams, small: SmallParams, width: int
) -> tuple[DataParams, ModelParams, TrainParams]:
    """The small model at `width`, logging only the final state."""
    d, m, t = scaled(data, model, train, small)
    return d, replace(m, width=width), replace(t, log_every=t.steps, checkpoint_steps=[])


def final_params(results: list[RunResult], step: int) -> Params:
    """The stacked weights (R, ...) of the runs at `step`."""
    return {k: torch.stack([r.checkpoints[step][k] for r in results]) for k in ("qkv", "w")}


def run_health(
    results: list[RunResult],
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    bias: Bias,
    M: np.ndarray,
    majority: np.ndarray,
    heldout: dict[str, np.ndarray],
    pairs: tuple[np.ndarray, np.ndarray],
) -> list[dict[str, float]]:
    """health.health of trained runs at their final step, with the bias they trained with."""
    params = final_params(results, train.steps)
    fn = bias.fn(model, M)
    b = fn(train.steps, params) if fn is not None else bias_at(bias.model(model), train.steps)
    return health(params, pairs, heldout["x"], heldout["z_sum"], majority, b, train.temperature)


def heldout(
    data: DataParams, M: np.ndarray, seed: int, batch: int, cal: CalibrateParams
) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The balanced held-out set (probe) and held-out pairs in batches of `batch` (loss)."""
    ev = eval_set(replace(data, eval_samples=cal.eval_samples), M, seed)
    return ev, heldout_pairs(data, M, seed, batch, cal.heldout_batches)


def calibrate(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
    cal: CalibrateParams,
    seed: int,
    progress: bool = False,
) -> tuple[pd.DataFrame, str | None]:
    """Train and certify the balanced control at every candidate; returns the health table
    (one row per candidate and seed, with `failure` and `healthy`) and the chosen candidate
    (None if none is healthy)."""
    data_s, model_s, train_s = small_configs(data, model, train, small, cal.width)
    dictionary = make_dictionary(data_s, seed)
    M, majority = dictionary.M, dictionary.majority
    ev, pairs = heldout(data_s, M, seed, train_s.batch, cal)
    specs = [RunSpec(1.0, cal.width, seed + s) for s in range(cal.seeds)]
    rows = []
    for c in cal.candidates:
        bias = candidate_bias(c, cal.noise_level)
        m = bias.model(model_s)
        results = train_runs(specs, data_s, m, train_s, M, progress=progress, bias_fn=bias.fn(m, M))
        certs = run_health(results, data_s, m, train_s, bias, M, majority, ev, pairs)
        for spec, cert in zip(specs, certs, strict=True):
            rows.append(
                {
                    "candidate": bias.candidate,
                    "level": bias.level,
                    "tied": bias.tied,
                    "seed": spec.seed,
                    **cert,
                }
            )
    table = mark(pd.DataFrame(rows), cal)
    return table, choose(table, cal)


def health_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per candidate: mean of each health measure over seeds and the share of healthy runs."""
    cols = [
        "loss_ratio",
        "nonzero_share",
        "live_share",
        "probe_majority_sign_accuracy",
        "probe_minority_sign_accuracy",
        "probe_majority_r2",
        "probe_minority_r2",
    ]
    g = table.groupby("candidate", sort=False)
    out = g[cols].mean()
    out.insert(0, "seeds", g.size())
    out["healthy_share"] = g["healthy"].mean()
    return out.reset_index()
