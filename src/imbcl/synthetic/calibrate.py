"""The bias per model size. The small model: train its balanced control (rho = 1) at each
candidate bias, certify each run's health (health.py), and pick by a rule fixed in params
before any run, whose scores decide:

    score = the mean over seeds of the gap closed (held-out InfoNCE loss from chance to the
    oracle of every feature). Among the candidates whose balanced runs are all healthy by
    the health rule (health_rule.failure), those within calibrate.score_tolerance of the best
    score fit equally well; of these the sparsest encoder wins (lowest mean non-zero share:
    the BReLU regime the theory analyses, where the bias acts). The list order decides only
    an exact tie of both.

The tolerance replaced a plain highest-score rule after its scores were seen: the scores of
the balanced candidates differ by less than 0.04 of the gap, the highest by 0.001 (below
what another CPU's rounding can move), and the highest always belongs to the most nearly
linear encoder (non-zero share 0.94), where a BReLU bias no longer acts.

The rule reads the balanced control only, never a claim statistic. If no candidate is
healthy, `choose` returns None and the stage fails with one line naming each candidate's
first failing check. The default size is not calibrated (its runs are too costly for the
time budget): its bias is declared in params (calibrate.default_bias) and written beside the
small model's choice, so each size's stages read their own.
"""

from __future__ import annotations

import pandas as pd

from imbcl.core.params import replace
from imbcl.core.parts import Part
from imbcl.synthetic.bias import Bias, candidate_bias
from imbcl.synthetic.data import make_dictionary
from imbcl.synthetic.health import run_health
from imbcl.synthetic.health_rule import mark, rule_text
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


def scores(table: pd.DataFrame, cal: CalibrateParams, hp: HealthParams) -> pd.DataFrame:
    """Per candidate (in calibrate.candidates order): runs, healthy runs, `score` (mean gap
    closed over its runs), `sparsity` (mean non-zero share), `eligible` (all runs healthy)
    and `chosen`. `table`: one row per
    run with a `candidate` column and the HEALTH_COLUMNS."""
    marked = mark(table, hp)
    rows = []
    for c in cal.candidates:
        name = candidate_bias(c, cal.noise_level).candidate
        runs = marked[marked.candidate == name]
        rows.append(
            {
                "candidate": name,
                "runs": len(runs),
                "healthy": int(runs.healthy.sum()),
                "score": float(runs.gap_closed.mean()) if len(runs) else float("nan"),
                "sparsity": float(runs.nonzero_share.mean()) if len(runs) else float("nan"),
                "eligible": bool(len(runs)) and bool(runs.healthy.all()),
            }
        )
    out = pd.DataFrame(rows)
    ok = out[out.eligible]
    near = ok[ok.score >= ok.score.max() - cal.score_tolerance] if len(ok) else ok
    best = near.sparsity.idxmin() if len(near) else None  # first of equal minima: list order
    out["chosen"] = [i == best for i in out.index]
    return out


def choose(table: pd.DataFrame, cal: CalibrateParams, hp: HealthParams) -> str | None:
    """The rule (`scores`): of the eligible candidates within the tolerance of the best score,
    the sparsest, by its `candidate` name; None if none is eligible."""
    s = scores(table, cal, hp)
    return str(s.candidate[s.chosen].iloc[0]) if s.chosen.any() else None


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
    return calibrate_configs(data_s, model_s, train_s, cal, hp, seed, progress)


def default_configs(
    data: DataParams, model: ModelParams, train: TrainParams
) -> tuple[DataParams, ModelParams, TrainParams]:
    """The default size (the train stage's model), logging only the final state."""
    return data, model, replace(train, log_every=train.steps, checkpoint_steps=[])


def calibrate_configs(
    data_s: DataParams,
    model_s: ModelParams,
    train_s: TrainParams,
    cal: CalibrateParams,
    hp: HealthParams,
    seed: int,
    progress: bool = True,
) -> tuple[pd.DataFrame, str | None]:
    """`calibrate` at one size given its configs (width model_s.width, cal.seeds seeds)."""
    dictionary = make_dictionary(data_s, seed)
    M, majority = dictionary.M, dictionary.majority
    specs = [RunSpec(1.0, model_s.width, seed + s) for s in range(cal.seeds)]
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


def chosen_bias(cal: CalibrateParams, chosen: str) -> Bias:
    """The candidate bias named `chosen` (noise-tied as calibrate.noise_level says)."""
    return next(
        b
        for b in (candidate_bias(c, cal.noise_level) for c in cal.candidates)
        if b.candidate == chosen
    )


def summary_table(table: pd.DataFrame, cal: CalibrateParams, hp: HealthParams) -> pd.DataFrame:
    """Per candidate: the health means (`health_summary`), the rule's score, eligible, chosen."""
    return health_summary(table).merge(
        scores(table, cal, hp)[["candidate", "score", "eligible", "chosen"]], on="candidate"
    )


def caption(cal: CalibrateParams, hp: HealthParams, bias: Bias, default: Bias) -> str:
    """The health table's caption: the setting, the rule and the two sizes' biases."""
    return (
        f"Health of the balanced control (rho = 1, small model, m = {cal.width}, "
        f"{cal.seeds} seeds) at each candidate bias. Healthy: {rule_text(hp)}. Chosen for the "
        f"small model: among the candidates with every run healthy (eligible), those within "
        f"{cal.score_tolerance:g} of the best score (mean gap closed), and of these the "
        f"sparsest encoder (lowest non-zero share): {bias.candidate}. The default size's "
        f"bias is declared, not calibrated (calibrate.default_bias): {default.candidate}."
    )


def declared_bias(cal: CalibrateParams) -> Bias:
    """The default size's bias: declared (calibrate.default_bias), not noise-tied."""
    return Bias(f"{cal.default_bias:g}", cal.default_bias, tied=False)


def bias_file(bias: Bias, default: Bias) -> dict:
    """bias.json: the small model's bias at the top level and both sizes under "sizes"."""
    return {**bias.as_dict(), "sizes": {"small": bias.as_dict(), "default": default.as_dict()}}


def bias_part(bias: Bias, default: Bias, text: str) -> Part:
    """The report part: both biases' levels and the health table's caption."""
    return Part(
        metrics={
            "bias_level": bias.level,
            "bias_noise_tied": float(bias.tied),
            "default_bias_level": default.level,
        },
        section=f"Calibrated bias. {text} (tables/health.md)",
    )


def default_caption(
    width: int, steps: int, cal: CalibrateParams, hp: HealthParams, chosen: str
) -> str:
    """The caption of the calibration rule's table at the default size (make study)."""
    declared = f"{cal.default_bias:g}"
    return (
        f"The calibration rule at the default size (rho = 1, m = {width}, {steps} steps, "
        f"{cal.seeds} seeds per candidate). Healthy: {rule_text(hp)}. The rule: among the "
        f"candidates with every run healthy, those within {cal.score_tolerance:g} of the best "
        f"score (mean gap closed), the sparsest. Chosen: {chosen}; declared for the default "
        f"pipeline (calibrate.default_bias): {declared}; "
        f"{'they agree' if chosen == declared else 'they differ'}."
    )
