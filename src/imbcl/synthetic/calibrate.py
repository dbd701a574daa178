"""The calibrated default bias: train the balanced control (rho = 1) of the small model at
each candidate bias, certify each run's health (health.py), and pick by a rule fixed in
params before any run:

    the first candidate of `calibrate.candidates` (largest level first) whose balanced runs
    are all healthy by the health rule (HealthParams, health.failure): the held-out InfoNCE
    loss closes >= min_gap_closed of the way from chance to the oracle's, majority sign
    accuracy of the signed probe >= min_sign_accuracy, share of non-zero outputs in
    [nonzero_min, nonzero_max].

The rule reads the balanced control only, never a claim statistic. If no candidate is
healthy, `choose` returns None and the stage fails with one line naming each candidate's
first failing check: claims measured on a dead encoder say little (see the design notes).
"""

from __future__ import annotations

import pandas as pd

from imbcl.core.params import replace
from imbcl.synthetic.bias import candidate_bias
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.health import mark, run_health
from imbcl.synthetic.params import (
    CalibrateParams,
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
    scaled,
)
from imbcl.synthetic.train import RunSpec, train_runs

HEALTH_COLUMNS = ("gap_closed", "probe_majority_sign_accuracy", "nonzero_share")


def choose(table: pd.DataFrame, cal: CalibrateParams, hp: HealthParams) -> str | None:
    """The rule: the first candidate (in calibrate.candidates order) whose runs are all
    healthy, by its `candidate` name; None if none is. `table`: one row per run with a
    `candidate` column and the HEALTH_COLUMNS."""
    marked = mark(table, hp)
    for c in cal.candidates:
        name = candidate_bias(c, cal.noise_level).candidate
        runs = marked[marked.candidate == name]
        if len(runs) and bool(runs.healthy.all()):
            return name
    return None


def unhealthy_summary(table: pd.DataFrame, hp: HealthParams) -> str:
    """One line: each candidate's share of healthy runs and its first failure."""
    marked = mark(table, hp)
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


def calibrate(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
    cal: CalibrateParams,
    hp: HealthParams,
    seed: int,
    progress: bool = True,
) -> tuple[pd.DataFrame, str | None]:
    """Train and certify the balanced control at every candidate; returns the health table
    (one row per candidate and seed, with `failure` and `healthy`) and the chosen candidate
    (None if none is healthy)."""
    data_s, model_s, train_s = small_configs(data, model, train, small, cal.width)
    dictionary = make_dictionary(data_s, seed)
    M, majority = dictionary.M, dictionary.majority
    specs = [RunSpec(1.0, cal.width, seed + s) for s in range(cal.seeds)]
    rows = []
    for c in cal.candidates:
        bias = candidate_bias(c, cal.noise_level)
        m = bias.model(model_s)
        results = train_runs(specs, data_s, m, train_s, M, progress=progress, bias_fn=bias.fn(m, M))
        certs = run_health(results, data_s, m, train_s, bias, M, majority, hp, seed)
        for spec, cert in zip(specs, certs, strict=True):
            rows.append(
                {
                    "candidate": bias.candidate,
                    "level": bias.level,
                    "tied": bias.tied,
                    "seed": spec.seed,
                    **{k: v for k, v in cert.items() if k != "imbalance_ratio"},
                }
            )
    table = mark(pd.DataFrame(rows), hp)
    return table, choose(table, cal, hp)


def health_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per candidate: mean of each health measure over seeds and the share of healthy runs."""
    cols = [
        "loss_ratio",
        "oracle_ratio",
        "gap_closed",
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
