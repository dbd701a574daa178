"""The pruning experiments behind claim C6: which runs are pruned how, one row of numbers per
run, the table of variants, the regime map and the C6 row.

Two parts:
- main:  the train stage's dense runs (default size, train.seeds seeds, both ratios) pruned
         with `prune.method` at `prune.ratio` and `prune.at`, beside the random mask of the
         same ratio, step and granularity.
- sweep: a smaller model (prune.sweep_*) with prune.sweep_seeds seeds, trained here densely
         and then pruned: the regime map (ratio x timing) of `prune.method` vs its random
         control at the default rho; every variant at the pre-registered (ratio, timing),
         at the default rho and the balanced control; and the same cell under a per-neuron
         bias tied to the neuron's noise (prune.sweep_bias).
C6 is decided on the sweep's pre-registered cell (the >= 5-seed replicate, shared bias);
the main part is its full-size replicate, reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from imbcl.core.claims import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    Interval,
    mean_ci,
    paired_difference,
)
from imbcl.core.config import AnalyzeConfig, DataConfig, ModelConfig, PruneConfig, TrainConfig
from imbcl.pruning.jobs import BiasFn, Job, noise_tied_bias, resolve_step, run_jobs
from imbcl.pruning.masks import GRANULARITY, MAGNITUDE
from imbcl.pruning.measures import MEASURES, group_measures
from imbcl.synthetic.data import eval_set, make_dictionary
from imbcl.synthetic.measures import detect_stages, group_curves
from imbcl.synthetic.model import Params, bias_at
from imbcl.synthetic.probe import encoder_features, group_summary, linear_probe
from imbcl.synthetic.train import RunResult, RunSpec, Trajectory, train_group


@dataclass(frozen=True)
class Setting:
    """Everything a part needs to train and measure runs of one model size."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    M: np.ndarray  # (d, K)
    majority: np.ndarray  # (K,) bool
    eval_x: np.ndarray  # (n, L, d) balanced held-out tokens
    eval_present: np.ndarray  # (n, K) bool
    threshold: float  # specialisation threshold (analyze.specialise_threshold)


def sweep_setting(
    data: DataConfig,
    model: ModelConfig,
    train: TrainConfig,
    prune: PruneConfig,
    seed: int,
    threshold: float,
) -> Setting:
    """The smaller model of the sweep, with its own dictionary and held-out set."""
    d = replace(
        data, dim=prune.sweep_dim, n_features=prune.sweep_features, n_majority=prune.sweep_majority
    )
    m = replace(model, width=prune.sweep_width, bias_ramp_steps=prune.sweep_bias_ramp_steps)
    steps = [0] + sorted({a for a in [prune.at, *prune.sweep_at] if isinstance(a, int)})
    t = replace(
        train,
        lr=prune.sweep_lr,
        steps=prune.sweep_steps,
        batch=prune.sweep_batch,
        seeds=prune.sweep_seeds,
        checkpoint_steps=steps,
    )
    D = make_dictionary(d, seed)
    ev = eval_set(d, D.M, seed)
    return Setting(d, m, t, D.M, D.majority, ev["x"], ev["present"], threshold)


def measure(
    results: list[tuple[RunSpec, Trajectory, Params]],
    s: Setting,
    prune: PruneConfig,
    probe: list[bool],
) -> list[dict]:
    """One dict of final measures per run; the linear probe where `probe` says so."""
    rows = []
    bias = bias_at(s.model, s.train.steps)
    for (spec, traj, final), do_probe in zip(results, probe, strict=True):
        row = group_measures(traj.proj[-1], traj.norm[-1], traj.noise[-1], s.majority, s.threshold)
        if do_probe:
            feats = encoder_features({k: v[None] for k, v in final.items()}, s.eval_x, bias)[0]
            per_feature = linear_probe(
                feats, s.eval_present, prune.probe_c, prune.probe_train_fraction
            )
            row.update(group_summary(per_feature, s.majority))
            # Share of nonzero outputs: a probe at chance on an all-zero f says why.
            row["active_fraction"] = float((feats != 0).mean())
        rows.append({"run": spec.name, **row})
    return rows


def _row(
    spec: RunSpec,
    variant: str,
    method: str,
    ratio: float,
    at: str,
    step: int,
    bias: str,
    part: str,
    role: str,
) -> dict:
    return {
        "part": part,
        "role": role,
        "rho": spec.imbalance_ratio,
        "seed": spec.seed,
        "variant": variant,
        "method": method,
        "ratio": ratio,
        "timing": at,
        "step": step,
        "bias": bias,
    }


def job_rows(
    jobs: list[Job],
    results: list[RunResult],
    s: Setting,
    prune: PruneConfig,
    labels: list[str],
    part: str,
    roles: dict[float, str],
    bias: str,
    probe: list[bool],
) -> list[dict]:
    steps = s.train.steps
    measured = measure(
        [(r.spec, r.trajectory, r.checkpoints[steps]) for r in results], s, prune, probe
    )
    return [
        {
            **_row(
                j.source,
                "random" if j.control else j.method,
                j.method,
                j.ratio,
                at,
                j.step,
                bias,
                part,
                roles[j.source.imbalance_ratio],
            ),
            **m,
        }
        for j, at, m in zip(jobs, labels, measured, strict=True)
    ]


def dense_rows(
    specs: list[RunSpec],
    trajs: list[Trajectory],
    finals: list[Params],
    s: Setting,
    prune: PruneConfig,
    part: str,
    roles: dict[float, str],
    bias: str,
) -> list[dict]:
    measured = measure(list(zip(specs, trajs, finals, strict=True)), s, prune, [True] * len(specs))
    return [
        {
            **_row(
                sp, "dense", "dense", 0.0, "-", s.train.steps, bias, part, roles[sp.imbalance_ratio]
            ),
            **m,
        }
        for sp, m in zip(specs, measured, strict=True)
    ]


def pair_jobs(
    sources: list[RunSpec],
    method: str,
    ratio: float,
    at: object,
    stage1: dict[str, int],
    rewind: bool = False,
) -> tuple[list[Job], list[str]]:
    """The magnitude job and its random control for every source; the timing label of each."""
    jobs, labels = [], []
    for src in sources:
        job = Job(src, method, False, ratio, resolve_step(str(at), stage1.get(src.name)), rewind)
        pair = [job] if method == "random" else [job, job.paired()]
        jobs += pair
        labels += [str(at)] * len(pair)
    return jobs, labels


def stage1_end(traj: Trajectory, majority: np.ndarray, cfg: AnalyzeConfig) -> int:
    """End of stage 1 of a dense run (the analyze stage's change-point search)."""
    curves = group_curves(traj, majority)
    return detect_stages(curves, traj.steps, cfg.n_stages, cfg.min_stage_logs).steps[1]


def run_sweep(
    s: Setting, prune: PruneConfig, analyze: AnalyzeConfig, seed: int, rhos: dict[str, float]
) -> list[dict]:
    """Dense runs of the sweep model, then the regime map, the variants and the bias cell."""
    roles = {v: k for k, v in rhos.items()}
    rows: list[dict] = []
    for bias in prune.sweep_bias:
        bias_fn: BiasFn | None = noise_tied_bias(s.model, s.M) if bias == "noise" else None
        specs = [
            RunSpec(rho, s.model.width, seed + i, tag=f"sweep_{bias}")
            for rho in dict.fromkeys(rhos.values())
            for i in range(prune.sweep_seeds)
        ]
        dense: list[RunResult] = []
        for lo in range(0, len(specs), s.train.batched_runs):
            dense += train_group(
                specs[lo : lo + s.train.batched_runs],
                s.data,
                s.model,
                s.train,
                s.M,
                progress=False,
                bias_fn=bias_fn,
            )
        sources = {r.spec.name: r.checkpoints for r in dense}
        stage1 = {r.spec.name: stage1_end(r.trajectory, s.majority, analyze) for r in dense}
        rows += dense_rows(
            [r.spec for r in dense],
            [r.trajectory for r in dense],
            [r.checkpoints[s.train.steps] for r in dense],
            s,
            prune,
            "sweep",
            roles,
            bias,
        )
        imbalanced = [r.spec for r in dense if r.spec.imbalance_ratio == rhos["imbalanced"]]
        # name -> (job, timing label, probe it?); the first request of a run wins.
        wanted: dict[str, tuple[Job, str, bool]] = {}

        def add(
            new: tuple[list[Job], list[str]],
            with_probe: bool,
            wanted: dict[str, tuple[Job, str, bool]] = wanted,
        ) -> None:
            for job, label in zip(*new, strict=True):
                wanted.setdefault(job.spec.name, (job, label, with_probe))

        # The pre-registered cell: every variant, both ratios, with the probe.
        # (The random control of magnitude_global is the unstructured random mask.)
        cell_methods = [prune.method] if bias != prune.sweep_bias[0] else list(MAGNITUDE)
        if prune.method not in cell_methods:
            cell_methods.append(prune.method)
        for method in cell_methods:
            add(pair_jobs([r.spec for r in dense], method, prune.ratio, prune.at, stage1), True)
        if bias == prune.sweep_bias[0]:  # the regime map: ratio x timing, default rho
            for at in prune.sweep_at:
                for ratio in prune.sweep_ratios:
                    add(pair_jobs(imbalanced, prune.method, ratio, at, stage1), at == prune.at)
        jobs = [w[0] for w in wanted.values()]
        labels = [w[1] for w in wanted.values()]
        probe = [w[2] for w in wanted.values()]
        results = run_jobs(jobs, sources, s.data, s.model, s.train, s.M, bias_fn)
        rows += job_rows(jobs, results, s, prune, labels, "sweep", roles, bias, probe)
    return rows


# --- summaries --------------------------------------------------------------------------------


def cell(
    rows: pd.DataFrame,
    part: str,
    role: str,
    bias: str,
    method: str,
    ratio: float,
    at: str,
    control: bool,
) -> pd.DataFrame:
    sel = (
        (rows.part == part)
        & (rows.role == role)
        & (rows.bias == bias)
        & (rows.method == method)
        & np.isclose(rows.ratio, ratio)
        & (rows["timing"] == at)
    )
    sel &= (rows.variant == "random") if control else (rows.variant == method)
    return rows[sel].sort_values("seed")


def dense_of(rows: pd.DataFrame, part: str, role: str, bias: str) -> pd.DataFrame:
    sel = (rows.part == part) & (rows.role == role) & (rows.bias == bias)
    return rows[sel & (rows.variant == "dense")].sort_values("seed")


def effects(
    rows: pd.DataFrame,
    part: str,
    role: str,
    bias: str,
    method: str,
    ratio: float,
    at: str,
    col: str,
    confidence: float,
) -> tuple[Interval, Interval]:
    """(pruned - dense, pruned - random) of one column, 95% t-intervals over seeds."""
    pruned = cell(rows, part, role, bias, method, ratio, at, False)
    control = cell(rows, part, role, bias, method, ratio, at, True)
    dense = dense_of(rows, part, role, bias)
    return (
        mean_ci(paired_difference(pruned, dense, col), confidence),
        mean_ci(paired_difference(pruned, control, col), confidence),
    )


REGIME_MEASURES = ("minority_neurons", "minority_strength")


def regime(rows: pd.DataFrame, prune: PruneConfig, confidence: float) -> pd.DataFrame:
    """Magnitude pruning minus the random mask, and minus the dense run, per (timing, ratio)
    at the default rho, paired by seed, for the C6 statistic (minority neurons per feature)
    and for minority feature strength. `beats` / `loses`: the 95% CI lies above / below 0."""
    out = []
    for measure in REGIME_MEASURES:
        for at in prune.sweep_at:
            for ratio in prune.sweep_ratios:
                vs_dense, vs_random = effects(
                    rows,
                    "sweep",
                    "imbalanced",
                    prune.sweep_bias[0],
                    prune.method,
                    ratio,
                    str(at),
                    measure,
                    confidence,
                )
                for versus, iv in (("random", vs_random), ("dense", vs_dense)):
                    out.append(
                        {
                            "measure": measure,
                            "versus": versus,
                            "timing": str(at),
                            "ratio": ratio,
                            "effect": iv.mean,
                            "low": iv.low,
                            "high": iv.high,
                            "beats": iv.excludes_zero() and iv.low > 0,
                            "loses": iv.excludes_zero() and iv.high < 0,
                        }
                    )
    return pd.DataFrame(out)


def _f(iv: Interval) -> str:
    return f"{iv.mean:.3g} [{iv.low:.3g}, {iv.high:.3g}]"


def claim_c6(rows: pd.DataFrame, prune: PruneConfig, confidence: float) -> Claim:
    """The pre-registered variant against the dense run and the random control."""
    bias = prune.sweep_bias[0]
    at = str(prune.at)

    def eff(col: str, role: str = "imbalanced", part: str = "sweep") -> tuple[Interval, ...]:
        b = bias if part == "sweep" else "shared"
        return effects(rows, part, role, b, prune.method, prune.ratio, at, col, confidence)

    vs_dense, vs_random = eff("minority_neurons")
    sep_dense, sep_random = eff("minority_separation")
    str_dense, str_random = eff("minority_strength")
    probe_dense, probe_random = eff("probe_minority_auc")
    bal_dense, bal_random = eff("minority_neurons", role="balanced")
    main_dense, main_random = eff("minority_neurons", part="main")
    above = [iv.excludes_zero() and iv.low > 0 for iv in (vs_dense, vs_random, sep_dense)]
    if all(above):
        verdict = SUPPORTED
    elif vs_dense.n > 1 and not (above[0] and above[1]):
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Claim.from_interval(
        "C6",
        "Magnitude pruning restores minority features: more neurons specialise in them, "
        "features separate better from noise, downstream quality rises.",
        f"{prune.method} at ratio {prune.ratio:g}, step {at} (pre-registered), rho "
        f"imbalanced, sweep model: minority neurons per feature, pruned - random control "
        f"(paired by seed); pruned - dense {_f(vs_dense)}; minority feature-to-noise "
        f"separation pruned - dense {_f(sep_dense)}, - random {_f(sep_random)}; probe "
        f"minority AUC pruned - dense {_f(probe_dense)}, - random {_f(probe_random)}; "
        f"minority feature strength pruned - dense {_f(str_dense)}, - random {_f(str_random)}; "
        f"full-size main runs: pruned - dense {_f(main_dense)}, - random {_f(main_random)}",
        vs_random,
        f"random mask of the same ratio, step and granularity, and the dense run (same "
        f"seed); balanced rho: pruned - dense {_f(bal_dense)}, - random {_f(bal_random)}",
        "supported if the CIs of minority neurons pruned - dense and pruned - random and of "
        "minority separation pruned - dense all lie above 0; not supported if either "
        "neuron CI does not; otherwise inconclusive",
        verdict,
    )


def variants_table(rows: pd.DataFrame, prune: PruneConfig) -> pd.DataFrame:
    """Rows dense / each magnitude variant / random controls at the pre-registered cell."""
    sel = (
        (rows.part == "sweep")
        & (rows.bias == prune.sweep_bias[0])
        & (
            (rows.variant == "dense")
            | (np.isclose(rows.ratio, prune.ratio) & (rows["timing"] == str(prune.at)))
        )
    )
    data = rows[sel].copy()
    data["row"] = np.where(
        data.variant == "random", "random (" + data.method.map(GRANULARITY) + ")", data.variant
    )
    cols = [
        "probe_majority_auc",
        "probe_minority_auc",
        "probe_gap_auc",
        "probe_majority_accuracy",
        "probe_minority_accuracy",
        "majority_neurons",
        "minority_neurons",
        "minority_coverage",
        "minority_separation",
    ]
    order = {
        name: k
        for k, name in enumerate(
            ["dense", *MAGNITUDE, "random"] + [f"random ({GRANULARITY[m]})" for m in MAGNITUDE]
        )
    }
    table = []
    for (role, name), grp in data.groupby(["role", "row"], sort=False):
        out = {"rho role": role, "variant": name, "seeds": len(grp)}
        for c in cols:
            out[c] = f"{grp[c].mean():.3f} ± {grp[c].std(ddof=1):.3f}"
        table.append(out)
    df = pd.DataFrame(table)
    df["_o"] = df["variant"].map(lambda v: order.get(v, 99))
    df["_r"] = df["rho role"].map({"imbalanced": 0, "balanced": 1})
    return df.sort_values(["_r", "_o"]).drop(columns=["_o", "_r"]).reset_index(drop=True)


def latex(table: pd.DataFrame, caption: str) -> str:
    """A booktabs tabular of a string table (pandas' to_latex needs jinja2, not installed)."""

    def esc(x: object) -> str:
        return str(x).replace("_", r"\_").replace("±", r"$\pm$").replace("%", r"\%")

    head = " & ".join(esc(c) for c in table.columns) + r" \\"
    body = [" & ".join(esc(v) for v in row) + r" \\" for row in table.itertuples(index=False)]
    return "\n".join(
        [
            r"\begin{table}",
            r"\centering",
            r"\small",
            r"\begin{tabular}{" + "l" * len(table.columns) + "}",
            r"\toprule",
            head,
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            rf"\caption{{{esc(caption)}}}",
            r"\end{table}",
            "",
        ]
    )


def metrics(rows: pd.DataFrame, prune: PruneConfig, confidence: float) -> dict[str, float]:
    """Flat means: per part / role / variant at the pre-registered cell, and C6 effects."""
    out: dict[str, float] = {}
    at = str(prune.at)
    for (part, role, bias, variant), grp in rows.groupby(["part", "role", "bias", "variant"]):
        g = (
            grp
            if variant == "dense"
            else grp[
                np.isclose(grp.ratio, prune.ratio)
                & (grp["timing"] == at)
                & (grp.method == prune.method)
            ]
        )
        if variant == "random" and prune.method != "random":
            g = g[g.method == prune.method]
        if g.empty:
            continue
        for col in [*MEASURES, "probe_minority_auc", "probe_gap_auc", "active_fraction"]:
            value = float(g[col].mean()) if col in g else float("nan")
            if np.isfinite(value):  # metrics.json holds numbers only
                out[f"{part}.{role}.{bias}.{variant}.{col}"] = value
    reg = regime(rows, prune, confidence)
    for (measure, versus), part in reg.groupby(["measure", "versus"]):
        out[f"sweep.regime.{measure}.cells_beating_{versus}"] = float(part.beats.sum())
        out[f"sweep.regime.{measure}.cells_losing_to_{versus}"] = float(part.loses.sum())
    return out
