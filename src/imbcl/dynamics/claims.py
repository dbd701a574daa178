"""Stage analysis of the dense runs and the claims C1 (three stages, frequency-ordered growth)
and C2 (majority first, minority later and smaller), each decided per condition.

A condition is one imbalanced rho (with the bias and ramp the runs trained with) against the
balanced control on the same seeds. At each condition the claim's per-seed statistic (paper's
direction positive) is decided on the two replication blocks (core.regime), gated (healthy
seeds only; synthetic.health) and ungated (every seed); both verdicts are written. C2's
outcome (is the minority learned at all?) is reported beside its verdict, never used to
exclude a run. The runs' summaries are made in summary.py, a condition decided in
conditions.py, and the stage's table, metrics and rows put together in analysis.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from imbcl.core import regime as rg
from imbcl.core.claims import INCONCLUSIVE, Claim, mean_ci
from imbcl.dynamics.conditions import RULE, Blocks, Condition, claim_row, fmt, paired
from imbcl.dynamics.stages import modal_median, theory_times
from imbcl.synthetic.measures import GROUPS
from imbcl.synthetic.params import AnalyzeParams, HealthParams

__all__ = [
    "NOT_LEARNED",
    "NO_IMBALANCE",
    "Blocks",
    "claim_c1",
    "claim_c2",
    "claim_metrics",
    "claim_rows",
]

NO_IMBALANCE = (
    "no imbalance to test: data.imbalance_ratio = train.control_ratio = {rho:g}, so the same "
    "runs are the imbalanced arm and the balanced control"
)


NOT_LEARNED = "minority not learned"


def _combine(growth: str, stages: str) -> str:
    """C1 at a condition: supported when both parts are; else the first part that is not."""
    if growth == stages == rg.SUPPORTED:
        return rg.SUPPORTED
    return stages if stages != rg.SUPPORTED else growth


def _stage_count(c: Condition, imb: pd.DataFrame, cfg: AnalyzeParams) -> tuple[dict, dict]:
    """C1 (a), gated and ungated: per seed the penalised segment count at the imbalanced rho
    minus 2; inconclusive where runs chose the search's cap (the count is not found)."""
    stages_g, stages_u = c.decide((imb.segments - 2).astype(float), cfg.stages_min_effect)
    capped = int((imb.segments >= cfg.max_stages).sum())
    if capped:  # the criterion wanted the most segments it may fit: the count is not found
        for st in (stages_g, stages_u):
            if st["verdict"] != rg.NOT_TESTED:
                st["verdict"] = rg.INCONCLUSIVE
                st["reason"] = (
                    f"stage count not identified: {capped} of {len(imb)} runs chose the "
                    f"search's cap, analyze.max_stages = {cfg.max_stages} (the log curves are "
                    "not few linear pieces)"
                )
    return stages_g, stages_u


def _both(growth: dict, stages: dict, stage_info: dict) -> dict:
    """C1's condition from its two parts: the growth part's fields, the combined verdict,
    the reason of the first part that is not supported, and the stage part beside them."""
    first, other = (growth, stages) if stages["verdict"] == rg.SUPPORTED else (stages, growth)
    return {
        **growth,
        "verdict": _combine(growth["verdict"], stages["verdict"]),
        "reason": first["reason"] or other["reason"],
        "growth": growth["verdict"],
        "stages": {**stages, **stage_info},
    }


def claim_c1(
    table: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    cfg: AnalyzeParams,
    hp: HealthParams,
    blocks: Blocks,
    setting: dict | None = None,
) -> tuple[Claim, dict]:
    """Two parts per condition, both needed: (a) at least three stages, per seed the
    penalised segment count at the imbalanced rho minus 2 (margin cfg.stages_min_effect);
    (b) frequency-ordered growth, the majority - minority stage-1 log-growth rate gap at the
    imbalanced rho minus the same gap at rho = 1 (margin cfg.c1.min_effect)."""
    c = Condition.of(table, imbalanced, balanced, blocks, hp, setting)
    growth_g, growth_u = c.decide_gap(
        table.majority_rate_s1 - table.minority_rate_s1, cfg.c1.min_effect
    )
    imb = table[table.imbalance_ratio == imbalanced].set_index("seed").sort_index()
    bal = table[table.imbalance_ratio == balanced].set_index("seed").sort_index()
    stages_g, stages_u = _stage_count(c, imb, cfg)
    ends = [col for col in imb.columns if col.startswith("stage") and col.endswith("_end")]
    times = theory_times(
        float(imb.majority_initial.median()),
        float(imb.minority_initial.median()),
        float(imb.majority_rate_s1.median()),
        imbalanced,
    )
    stage_info = {
        "segments": [int(v) for v in imb.segments],
        "null_segments": [int(v) for v in imb.null_segments],
        "balanced_segments": [int(v) for v in bal.segments],
        "stage_ends_median": stage_ends(imb, ends),
        "theory_T1_ours": times["T1"],
        "theory_T2_ours": times["T2"],
    }
    conds = [_both(growth_g, stages_g, stage_info)]
    ungated = [_both(growth_u, stages_u, stage_info)]
    slope = mean_ci(
        (imb.majority_rate_s1 - imb.minority_rate_s1) / (1 - 1 / imbalanced), cfg.confidence
    )
    noise = mean_ci(imb.noise_rate_s1, cfg.confidence)
    stages_text = (
        f"segments chosen by BIC (penalty {cfg.stage_penalty:g} x log N per parameter, up to "
        f"{cfg.max_stages}) at rho={imbalanced:g}: {stage_info['segments']} (step-shuffled "
        f"null: {stage_info['null_segments']}; balanced: {stage_info['balanced_segments']})"
    )
    return claim_row(
        "C1",
        "Neuron weights evolve in three stages; majority, minority and noise move differently.",
        f"per seed: (b) stage-1 log-growth rate (per 1000 steps) majority - minority at "
        f"rho={imbalanced:g}, minus the same gap at rho={balanced:g} (the value and interval); "
        "both needed with (a) penalised segment count - 2 at the imbalanced rho; "
        f"{stages_text}",
        f"balanced rho={balanced:g}, same seed (paired difference); shuffled-step null",
        RULE,
        cfg.c1.min_effect,
        conds,
        ungated,
        list(c.labels),
        prediction=(
            "stage-1 growth rate linear in eps_j / eps_max with a positive slope: measured "
            f"slope {fmt(slope)} per unit of eps_j / eps_max (rho={imbalanced:g}); "
            f"non-feature rate <= 0: measured {fmt(noise)}; stage times (our derivation "
            f"from Lemma 3.1, dynamics.stages): T1 = {times['T1']:.0f}, T2 = "
            f"{times['T2']:.0f} steps (inf: no stage-1 growth) against the measured stage ends "
            f"{stage_info['stage_ends_median']} (medians over the seeds with the most common "
            f"number of stages)"
        ),
        health=c.health(),
    )


def _outcome(imb: pd.DataFrame, cfg: AnalyzeParams) -> dict:
    """Is the minority learned at all (C2's extreme form)? Per run: its strength ever
    reaches cfg.learned_strength. Reported, never a reason to exclude a run."""
    learned = imb.minority_peak >= cfg.learned_strength
    n, k = len(imb), int(learned.sum())
    if k == 0:
        text = f"{NOT_LEARNED} ({n} of {n} runs)"
    elif k == n:
        text = "minority learned in every run"
    else:
        text = f"minority learned in {k} of {n} runs"
    return {
        "outcome": text,
        "minority_learned_runs": k,
        "runs": n,
        "minority_peak_max": float(imb.minority_peak.max()),
        "minority_sign_accuracy_median": float(imb.probe_minority_sign_accuracy.median()),
        "learned_strength": cfg.learned_strength,
    }


def _dated(part: pd.DataFrame, cfg: AnalyzeParams) -> str:
    """'converged' when every run's group curves plateaued, else 'at step T' naming the
    group and run that moved most."""
    cols = [f"{g}_plateau_change" for g in GROUPS]
    T = int(part.final_step.max())
    worst = part[cols].max()
    col = str(worst.idxmax())
    if worst[col] < cfg.plateau_rel_change:
        return (
            f"converged (every group curve moved < {cfg.plateau_rel_change:g} relative over "
            f"the last {cfg.plateau_window:g} of training; largest {worst[col]:.3g})"
        )
    run = part.run[part[col].idxmax()] if "run" in part else "a run"
    return (
        f"at step {T} (not converged: the {col.removesuffix('_plateau_change')} curve of "
        f"{run} moved {worst[col]:.3g} relative over the last {cfg.plateau_window:g} of "
        f"training)"
    )


def claim_c2(
    table: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    cfg: AnalyzeParams,
    hp: HealthParams,
    blocks: Blocks,
    setting: dict | None = None,
) -> tuple[Claim, dict]:
    """Minority features end smaller: the final majority - minority strength gap at the
    imbalanced rho minus the balanced gap, per seed; the minority's outcome (learned or
    not) and the learning lag beside it, the lag censored where a group is not learned."""
    cond = Condition.of(table, imbalanced, balanced, blocks, hp, setting)
    g, u = cond.decide_gap(table.majority_final - table.minority_final, cfg.c2.min_effect)
    imb = table[table.imbalance_ratio == imbalanced]
    part = table[table.imbalance_ratio.isin([imbalanced, balanced])]
    outcome = _outcome(imb, cfg)
    when = _dated(part, cfg)
    lag_seeds = paired(
        table.assign(lag=table.t_learn_minority - table.t_learn_majority),
        imbalanced,
        balanced,
        "lag",
    )
    lag = mean_ci(lag_seeds, cfg.confidence)
    if outcome["minority_learned_runs"] == 0:
        lag_text = f"not learned (censored at step {int(part.final_step.max())})"
    else:
        lag_text = (
            f"{fmt(lag)} steps later than the majority, relative to the balanced run, over "
            f"the {lag.n} seeds whose minority is learned"
        )
    for c in (g, u):
        c.update(outcome=outcome["outcome"], minority=outcome, lag=lag_text, final_values=when)
    log_ratio = np.log(np.maximum(table.minority_final, 1e-12)) - np.log(
        np.maximum(table.majority_final, 1e-12)
    )
    slope = mean_ci(
        paired(table.assign(lr=log_ratio), imbalanced, balanced, "lr") / np.log(imbalanced),
        cfg.confidence,
    )
    notes = [f"rho {imbalanced:g}: {outcome['outcome']}", f"final values {when}"]
    return claim_row(
        "C2",
        "Majority features are learned first and end larger; minority later and smaller.",
        "per seed: final majority - minority feature strength (max_i |<u_i, M_j>|, group "
        f"mean) at rho={imbalanced:g}, minus the same gap at rho={balanced:g}; outcome: "
        f"{outcome['outcome']} (strength ever >= {cfg.learned_strength:g}); minority "
        f"learned: {lag_text}; final values {when}",
        f"balanced rho={balanced:g}, same seed (paired difference)",
        RULE,
        cfg.c2.min_effect,
        [g],
        [u],
        list(cond.labels),
        prediction=(
            "slope of log(minority / majority strength) on log rho = -1: measured "
            f"{fmt(slope)} (rho={balanced:g} and {imbalanced:g}, per seed)"
        ),
        health=cond.health(),
        notes=notes,
    )


def claim_rows(
    table: pd.DataFrame,
    imbalanced: float,
    balanced: float,
    cfg: AnalyzeParams,
    hp: HealthParams,
    blocks: Blocks,
    setting: dict | None = None,
) -> list[tuple[Claim, dict]]:
    """C1 and C2 on the per-run table. With imbalanced = balanced (data.imbalance_ratio =
    train.control_ratio) one set of runs plays both roles, an A/A run: a paired difference
    of a run with itself is 0 by construction, not evidence that the effect is absent, so
    both rows are inconclusive with the reason NO_IMBALANCE."""
    rows = [
        claim_c1(table, imbalanced, balanced, cfg, hp, blocks, setting),
        claim_c2(table, imbalanced, balanced, cfg, hp, blocks, setting),
    ]
    if imbalanced != balanced:
        return rows
    reason = NO_IMBALANCE.format(rho=imbalanced)
    return [
        (
            dataclasses.replace(r, verdict=INCONCLUSIVE, reason=reason),
            {**x, "verdict_ungated": INCONCLUSIVE},
        )
        for r, x in rows
    ]


def claim_metrics(row: Claim, extra: dict) -> dict[str, float]:
    """Flat metrics of a row: value and interval of each condition (and block)."""
    out: dict[str, float] = {}
    for c in extra["conditions"]:
        tag = f"{row.id}.rho{c['rho']:g}"
        for key in ("value", "ci_low", "ci_high"):
            if c[key] is not None:
                out[f"{tag}.{key}"] = c[key]
        for block in ("discovery", "confirmation"):
            for key in ("value", "ci_low", "ci_high"):
                if c[block][key] is not None:
                    out[f"{tag}.{block}.{key}"] = c[block][key]
    return out


def stage_ends(runs: pd.DataFrame, ends: list[str]) -> dict[str, float]:
    """The stage ends of a group of runs (columns `ends`, NaN past a run's last stage):
    dynamics.stages.modal_median, keyed by column."""
    cols = sorted(ends, key=lambda c: int(c.removeprefix("stage").removesuffix("_end")))
    per_seed = [[float(v) for v in row if np.isfinite(v)] for row in runs[cols].to_numpy()]
    medians, _ = modal_median(per_seed)
    return {col: float(v) for col, v in zip(cols, medians, strict=False)}
