"""One imbalance claim decided per rho (core.regime): the per-seed effects against the
seed's own rho = 1 run, the conditions with their health gate and plateau check, the
post-hoc slope and crossing beside them, and the claims.json row."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from imbcl.core import regime as rg
from imbcl.core.blocks import block_seeds
from imbcl.core.claims import Claim, Interval, mean_ci
from imbcl.imbalance.params import SweepParams
from imbcl.synthetic.health_rule import claim_health, healthy_by_seed
from imbcl.synthetic.params import HealthParams

POST_HOC = (
    "post hoc: the slope over the rho grid was chosen after the U-shape over rho had been "
    "seen; shown beside the per-rho verdicts, it decides nothing"
)


def cell(table: pd.DataFrame, rho: float, width: int) -> pd.DataFrame:
    """The runs at (rho, width)."""
    return table[(table.imbalance_ratio == rho) & (table.width == width)]


def group_gap(part: pd.DataFrame, measure: str, confidence: float) -> Interval:
    """Mean and interval over runs of measure_majority - measure_minority."""
    return mean_ci(part[f"{measure}_majority"] - part[f"{measure}_minority"], confidence)


def with_gap(table: pd.DataFrame | None, measure: str) -> pd.DataFrame | None:
    """The table with gap = measure_majority - measure_minority (None stays None)."""
    if table is None:
        return None
    return table.assign(gap=table[f"{measure}_majority"] - table[f"{measure}_minority"])


def paired(table: pd.DataFrame, width: int, column: str) -> pd.DataFrame:
    """(seed x rho != 1): the column at rho minus the seed's own at rho = 1, at `width`."""
    wide = table[table.width == width].pivot(index="seed", columns="imbalance_ratio", values=column)
    return wide.sub(wide[1.0], axis=0).drop(columns=1.0)


def healthy_share(table: pd.DataFrame, width: int, rho: float) -> float:
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
        share = healthy_share(table, width, float(rho))
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


def secondary(
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


def crossing_rho(effects: pd.DataFrame, sweep: SweepParams, seed: int) -> dict:
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


def claim_row(
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


def gap_conditions(
    table: pd.DataFrame,
    earlier: pd.DataFrame | None,
    measure: str,
    margin: float,
    sweep: SweepParams,
    hp: HealthParams,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """The group gap of `measure` at the widest width decided per rho: the table with its
    gap column, the per-seed effects (seed x rho != 1) and the conditions (`conditions`)."""
    width = max(sweep.widths)
    t = with_gap(table, measure)
    assert t is not None
    effects = paired(t, width, "gap")
    before = with_gap(earlier, measure)
    prior = paired(before, width, "gap") if before is not None else None
    return t, effects, conditions(effects, prior, t, width, margin, sweep, hp, seed)
