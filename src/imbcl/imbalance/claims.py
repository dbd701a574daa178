"""What imbalance costs the encoder, decided on the sweep: capacity (C3), the width needed to
capture every minority feature (C4) and feature-to-noise separation (C5).

Each claim is decided per condition first (core.regime): at every rho != 1 of the grid, the
per-seed effect is the seed's statistic at rho minus its own at rho = 1 (paper's direction
positive), decided on the discovery and the confirmation block; the rho != 1 form one
family (Bonferroni). The row's verdict and regime statement summarise the conditions.

    C3  specialist gap majority - minority at the widest width (imbalance.measures: one
        definition of a specialist, with the strength floor)
    C4  width steps: the grid widths at which the minority is not fully covered (a seed never
        covered counts every width: m* ranked as a tie beyond the grid, never a number)
    C5  separation gap majority - minority at the widest width

Beside the verdict, never deciding it: the crossing rho* of C3 and C5 (core.regime.crossing,
the last sign change) and the per-seed slope on log rho over the grid, a statistic chosen
after the U-shape over rho had been seen (post hoc). A condition whose value moves over the
last `plateau_window` of training by more than `plateau_bound` x max(|value|, margin) is not
converged: the row's statistic dates it "at step T".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from imbcl.core import regime as rg
from imbcl.core.blocks import block_seeds
from imbcl.core.claims import Claim, Interval, mean_ci
from imbcl.imbalance.measures import GROUPS, covered_cube, min_width, seed_slopes, width_steps
from imbcl.imbalance.params import SweepParams
from imbcl.synthetic.health import claim_health, healthy_by_seed
from imbcl.synthetic.params import AnalyzeParams, HealthParams

POST_HOC = (
    "post hoc: the slope over the rho grid was chosen after the U-shape over rho had been "
    "seen; shown beside the per-rho verdicts, it decides nothing"
)


def width_trend(
    table: pd.DataFrame, share: float, n_boot: int, confidence: float, seed: int
) -> dict:
    """Pooled m*(rho) of both groups (inf where censored) and seed-bootstrap ranges.

    Also the control statistic at rho = 1: log2(m*_minority / m*_majority), 0 = no gap
    (None where either is censored).
    """
    cubes = {g: covered_cube(table, g) for g in GROUPS}
    ratios, widths = cubes["minority"][1], cubes["minority"][2]
    n_seeds = cubes["minority"][0].shape[-1]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_seeds, size=(n_boot, n_seeds))  # resampled seed indices
    out: dict = {"ratios": ratios, "widths": widths, "n_seeds": n_seeds}
    for g in GROUPS:
        cube = cubes[g][0]  # (R, W, S)
        out[f"share_{g}"] = cube.mean(axis=-1)  # (R, W)
        out[f"mstar_{g}"] = min_width(cube, widths, share)  # (R,)
        out[f"boot_{g}"] = min_width(cube[..., idx].transpose(2, 0, 1, 3), widths, share)
    control = int(np.flatnonzero(ratios == 1.0)[0])
    pair = out["mstar_minority"][control], out["mstar_majority"][control]
    out["control_gap"] = float(np.log2(pair[0] / pair[1])) if np.isfinite(pair).all() else None
    out["censored"] = [
        float(r) for r, v in zip(ratios, out["mstar_minority"], strict=True) if not np.isfinite(v)
    ]
    return out


def _cell(table: pd.DataFrame, rho: float, width: int) -> pd.DataFrame:
    return table[(table.imbalance_ratio == rho) & (table.width == width)]


def _gap(part: pd.DataFrame, measure: str, confidence: float) -> Interval:
    return mean_ci(part[f"{measure}_majority"] - part[f"{measure}_minority"], confidence)


def paired(table: pd.DataFrame, width: int, column: str) -> pd.DataFrame:
    """(seed x rho != 1): the column at rho minus the seed's own at rho = 1, at `width`."""
    wide = table[table.width == width].pivot(index="seed", columns="imbalance_ratio", values=column)
    return wide.sub(wide[1.0], axis=0).drop(columns=1.0)


def _healthy_share(table: pd.DataFrame, width: int, rho: float) -> float:
    """Share of healthy runs at (rho, width) and (1, width): the condition's premise."""
    part = table[(table.width == width) & table.imbalance_ratio.isin([1.0, rho])]
    return float(part.healthy.astype(bool).mean()) if len(part) else 0.0


def conditions(
    effects: pd.DataFrame,
    earlier: pd.DataFrame | None,
    table: pd.DataFrame,
    width: int,
    min_effect: float,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
    extra: Callable[[float], dict] | None = None,
) -> list[dict]:
    """One core.regime condition per rho != 1 of `effects` (seed x rho).

    earlier: the same effects at the start of the plateau window (None: not logged); a
    condition is `converged` when its value moved by less than plateau_bound x max(|value|,
    min_effect) over the window. A condition is not tested as intended when fewer than
    hp.min_healthy_share of its runs (at rho and at rho = 1, at `width`) are healthy; its
    statistic without that gate is `verdict_without_gate`. extra(rho): fields to add.
    """
    discovery, confirmation = block_seeds(seed, sweep.seeds_per_block)
    family = effects.shape[1]
    out = []
    for rho in effects.columns:
        col = effects[rho].dropna()
        share = _healthy_share(table, width, float(rho))
        tested = share >= hp.min_healthy_share
        args = (
            col[col.index.isin(discovery)].to_numpy(),
            col[col.index.isin(confirmation)].to_numpy(),
            min_effect,
            family,
        )
        cond = rg.condition(
            {"rho": float(rho)},
            *args,
            tested=tested,
            why_not=f"encoder unhealthy: {share:.0%} of the runs at rho {rho:g} and 1 healthy",
        )
        cond["verdict_without_gate"] = rg.condition({}, *args)["verdict"]
        cond["healthy_share"] = share
        cond.update(converged(cond["value"], earlier, rho, min_effect, sweep))
        if extra is not None:
            cond.update(extra(float(rho)))
        out.append(cond)
    return out


def converged(
    value: float | None,
    earlier: pd.DataFrame | None,
    rho: float,
    min_effect: float,
    sweep: SweepParams,
) -> dict:
    """{value_at_window_start, converged}: the plateau check of one condition's value.

    converged is None when the window start was not logged (then the value is only dated)."""
    if earlier is None or value is None:
        return {"value_at_window_start": None, "converged": None}
    before = float(earlier[rho].dropna().mean())
    moved = abs(value - before) / max(abs(value), min_effect)
    return {"value_at_window_start": before, "converged": bool(moved < sweep.plateau_bound)}


def plateau_text(conds: list[dict], steps: int, sweep: SweepParams) -> str:
    """The statistic's dating: converged at every rho, or the values at step T."""
    window = f"the last {sweep.plateau_window:.0%} of training"
    moving = [c for c in conds if c["converged"] is False]
    if all(c["converged"] for c in conds):
        return (
            f"final values, converged at every rho (each moved < {sweep.plateau_bound:g} x "
            f"max(|value|, margin) over {window})"
        )
    if any(c["converged"] is None for c in conds):
        return f"values at step {steps} (the start of {window} was not logged: no plateau check)"
    return f"values at step {steps} (not converged over {window} at {rg.names(moving, ['rho'])})"


def _secondary(
    slopes: pd.Series, statistic: str, min_effect: float, sweep: SweepParams, seed: int
) -> dict:
    """The per-seed slope over the grid, decided on its own (family 1), marked post hoc."""
    discovery, confirmation = block_seeds(seed, sweep.seeds_per_block)
    cond = rg.condition(
        {},
        slopes[slopes.index.isin(discovery)].to_numpy(),
        slopes[slopes.index.isin(confirmation)].to_numpy(),
        min_effect,
    )
    return {"statistic": statistic, **cond, "min_effect": min_effect, "note": POST_HOC}


def _crossing(effects: pd.DataFrame, sweep: SweepParams, seed: int) -> dict:
    """rho* where the mean effect last changes sign, over rho = 1 (0 by construction) and
    the grid's other ratios, with a seed-bootstrap interval."""
    full = effects.dropna()
    values = {1.0: np.zeros(len(full))} | {float(r): full[r].to_numpy() for r in full.columns}
    out = rg.crossing(values, n_boot=sweep.bootstrap, seed=seed, last=True)
    return {
        **out,
        "statistic": "rho where the mean per-rho effect last changes sign (linear in log rho), "
        "seed-bootstrap 95% interval over the bootstrap curves that cross",
    }


def _row(
    id: str,
    claim: str,
    statistic: str,
    conds: list[dict],
    control: str,
    min_effect: float,
    sweep: SweepParams,
    hp: HealthParams,
    table: pd.DataFrame,
    width: int,
    prediction: str,
    crossing: dict | None,
    secondary: dict,
) -> Claim:
    """A claims.json row from its conditions: value and interval of the test ratio's
    condition, the verdict and regime statement of core.regime.summarise."""
    verdict, regime = rg.summarise(conds, ["rho"])
    test = next(c for c in conds if c["rho"] == sweep.test_ratio)
    k = len(conds)
    rule = (
        f"per rho != 1 ({k} conditions, one family): the seed's value at rho minus its own at "
        f"rho = 1, decided on each block of {sweep.seeds_per_block} seeds with Bonferroni "
        f"intervals ({1 - 0.05 / k:.4f} two-sided; equivalence at +-{min_effect:g} at "
        f"{1 - 0.10 / k:.4f}); a condition's verdict when both blocks agree, else inconclusive; "
        f"not tested as intended below {hp.min_healthy_share:g} healthy runs at rho and 1; "
        "the row: supported everywhere, supported in a regime (named), reversed, not "
        "supported, inconclusive (core.regime)"
    )
    wide = table[table.width == width]
    ok = healthy_by_seed(wide)
    summary: dict[str, float] = {"seeds": int(len(ok)), "healthy_seeds": int(ok.sum())}
    summary["healthy_share"] = float(ok.mean()) if len(ok) else 0.0
    health = claim_health(wide, summary, hp, f" at m={width}")
    health["rule"] = (
        f"a condition is tested when >= {hp.min_healthy_share:g} of its runs (rho and rho = 1, "
        f"m={width}) are healthy; every seed enters its statistic (no run is excluded)"
    )
    return Claim(
        id,
        claim,
        statistic,
        test["value"],
        test["ci_low"],
        test["ci_high"],
        control,
        rule,
        verdict,
        reason=conds[0]["reason"] if verdict == rg.NOT_TESTED else "",  # else per condition
        min_effect=min_effect,
        seeds_per_block=sweep.seeds_per_block,
        discovery=test["discovery"],
        confirmation=test["confirmation"],
        prediction=prediction,
        health=health,
        conditions=conds,
        regime=regime,
        crossing=crossing or {},
        secondary=secondary,
    )


def _mixing_prediction(table: pd.DataFrame, width: int, confidence: float) -> str:
    fall = mean_ci(seed_slopes(table, width, "specialists_minority"), confidence)
    rise = mean_ci(seed_slopes(table, width, "mixing"), confidence)
    return (
        "specialists per minority feature fall with rho (slope on log rho < 0): measured "
        f"{fall}; mixing (features read above the strength floor per neuron) rises with rho "
        f"(slope > 0): measured {rise}; m={width}, per-seed slopes over the rho grid"
    )


def _with_gap(table: pd.DataFrame | None, measure: str) -> pd.DataFrame | None:
    if table is None:
        return None
    return table.assign(gap=table[f"{measure}_majority"] - table[f"{measure}_minority"])


def claim_c3(
    table: pd.DataFrame,
    earlier: pd.DataFrame | None,
    analyze: AnalyzeParams,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
    steps: int,
) -> Claim:
    """Fewer neurons specialise in minority features: decided at every rho."""
    width = max(sweep.widths)
    t = _with_gap(table, "specialists")
    assert t is not None
    effects = paired(t, width, "gap")
    before = _with_gap(earlier, "specialists")
    prior = paired(before, width, "gap") if before is not None else None
    margin = sweep.conditions.c3
    conds = conditions(effects, prior, t, width, margin, sweep, hp, seed)
    return _row(
        "C3",
        "Imbalance lowers capacity: fewer neurons specialise in minority features.",
        f"per rho, per seed at m={width}: the specialist gap majority - minority (specialists "
        f"per feature: normalised alignment >= {analyze.specialise_threshold:g}, the feature "
        f"its best, and a component >= {sweep.strength_floor:g} x the run's strongest) minus "
        f"the seed's own gap at rho=1; {plateau_text(conds, steps, sweep)}; value and interval "
        f"shown: rho={sweep.test_ratio:g}",
        conds,
        "the seed's own rho=1 run at the same width",
        margin,
        sweep,
        hp,
        t,
        width,
        _mixing_prediction(t, width, analyze.confidence),
        _crossing(effects, sweep, seed),
        _secondary(
            seed_slopes(t, width, "gap"),
            f"per-seed slope of the specialist gap on log rho over the grid at m={width}",
            sweep.c3.min_effect,
            sweep,
            seed,
        ),
    )


def _steps_effects(table: pd.DataFrame) -> pd.DataFrame:
    """(seed x rho != 1): width steps at rho minus the seed's own at rho = 1 (> 0: more width
    needed under imbalance)."""
    steps = width_steps(table).reset_index()
    wide = steps.pivot(index="seed", columns="imbalance_ratio", values="uncovered")
    return wide.sub(wide[1.0], axis=0).drop(columns=1.0)


def claim_c4(
    table: pd.DataFrame,
    earlier: pd.DataFrame | None,
    trend: dict,
    analyze: AnalyzeParams,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
    steps: int,
) -> Claim:
    """The width needed to cover every minority feature grows with rho: decided at every
    rho on the censoring-aware width steps; the censored share shown per rho."""
    width = int(table.width.max())
    n_widths = table.width.nunique()
    effects = _steps_effects(table)
    prior = _steps_effects(earlier) if earlier is not None else None
    per_run = width_steps(table)
    censored = per_run.censored.groupby(level="imbalance_ratio").mean()
    beyond = f">{trend['widths'].max():g}"
    pooled = dict(zip(trend["ratios"], trend["mstar_minority"], strict=True))

    def extra(rho: float) -> dict:
        return {
            "censored_share": float(censored.loc[rho]),
            "censored_share_control": float(censored.loc[1.0]),
            "mstar_pooled": format(pooled[rho], "g") if np.isfinite(pooled[rho]) else beyond,
        }

    margin = sweep.conditions.c4
    conds = conditions(effects, prior, table, width, margin, sweep, hp, seed, extra)
    control_bad = float(censored.loc[1.0]) > sweep.cover_share
    if control_bad:  # a control beyond the grid cannot show a rise
        for c in conds:
            c["verdict"], c["reason"] = (
                rg.NOT_TESTED,
                f"the balanced control is censored in {censored.loc[1.0]:.0%} of seeds",
            )
    shares = ", ".join(f"{r:g}: {v:.0%}" for r, v in censored.items())
    mstar = ", ".join(
        f"{r:g}: {format(v, 'g') if np.isfinite(v) else beyond}" for r, v in pooled.items()
    )
    full = effects.copy()
    full[1.0] = 0.0  # the control against itself
    return _row(
        "C4",
        "Imbalance raises the width needed before every minority feature is captured.",
        f"per rho, per seed: the grid widths ({n_widths}: "
        f"{', '.join(f'{w:g}' for w in trend['widths'])}) at which the seed does NOT cover "
        "every minority feature with a specialist, minus the same at rho=1 (in width "
        "doublings; a seed never covered counts all widths: its m* is censored, ranked as a "
        f"tie beyond {trend['widths'].max():g}, never entered as a number, so the value is a "
        f"lower bound where rho is censored); censored share (minority not covered at "
        f"m={width}) per rho {shares}; pooled m* (> {sweep.cover_share:g} of seeds) {mstar}; "
        f"{plateau_text(conds, steps, sweep)}; value and interval shown: "
        f"rho={sweep.test_ratio:g}",
        conds,
        "the seed's own rho=1 runs at every width",
        margin,
        sweep,
        hp,
        table,
        width,
        _mixing_prediction(table, width, analyze.confidence),
        None,
        _secondary(
            seed_slopes(_long(full), 0, "steps"),
            "per-seed slope of the width steps on log rho over the grid (censored as ties "
            "beyond the grid)",
            sweep.c4.min_effect,
            sweep,
            seed,
        ),
    )


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    """(seed x rho) -> the long table seed_slopes reads (width 0)."""
    long = wide.reset_index().melt(id_vars="seed", var_name="imbalance_ratio", value_name="steps")
    return long.assign(width=0, imbalance_ratio=long.imbalance_ratio.astype(float))


def claim_c5(
    table: pd.DataFrame,
    earlier: pd.DataFrame | None,
    analyze: AnalyzeParams,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
    steps: int,
) -> Claim:
    """Minority features separate worse from noise: decided at every rho."""
    width = max(sweep.widths)
    t = _with_gap(table, "separation")
    assert t is not None
    effects = paired(t, width, "gap")
    before = _with_gap(earlier, "separation")
    prior = paired(before, width, "gap") if before is not None else None
    margin = sweep.conditions.c5
    conds = conditions(effects, prior, t, width, margin, sweep, hp, seed)
    noise = {
        g: mean_ci(seed_slopes(t.assign(r=-t[f"separation_{g}"]), width, "r"), analyze.confidence)
        for g in GROUPS
    }
    return _row(
        "C5",
        "Imbalance makes minority features harder to separate from noise.",
        f"per rho, per seed at m={width}: the separation gap majority - minority (separation: "
        "log10 of a feature's best-neuron component over that neuron's noise residual) minus "
        f"the seed's own gap at rho=1; {plateau_text(conds, steps, sweep)}; value and interval "
        f"shown: rho={sweep.test_ratio:g}",
        conds,
        "the seed's own rho=1 run at the same width",
        margin,
        sweep,
        hp,
        t,
        width,
        "non-feature relative to feature components, log10(noise residual / component) of "
        "each feature's best neuron, rise with rho for the minority group: measured slope on "
        f"log rho minority {noise['minority']}, majority {noise['majority']} (m={width})",
        _crossing(effects, sweep, seed),
        _secondary(
            seed_slopes(t, width, "gap"),
            f"per-seed slope of the separation gap on log rho over the grid at m={width}",
            sweep.c5.min_effect,
            sweep,
            seed,
        ),
    )
