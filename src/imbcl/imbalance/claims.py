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
converged: the row's statistic dates it "at step T". The per-condition machinery is in
conditions.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.core import regime as rg
from imbcl.core.claims import Claim, mean_ci
from imbcl.imbalance.conditions import (
    claim_row,
    conditions,
    crossing_rho,
    gap_conditions,
    plateau_text,
    secondary,
)
from imbcl.imbalance.measures import GROUPS, covered_cube, min_width, seed_slopes, width_steps
from imbcl.imbalance.params import SweepParams
from imbcl.synthetic.params import AnalyzeParams, HealthParams


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


def _mixing_prediction(table: pd.DataFrame, width: int, confidence: float) -> str:
    fall = mean_ci(seed_slopes(table, width, "specialists_minority"), confidence)
    rise = mean_ci(seed_slopes(table, width, "mixing"), confidence)
    return (
        "specialists per minority feature fall with rho (slope on log rho < 0): measured "
        f"{fall}; mixing (features read above the strength floor per neuron) rises with rho "
        f"(slope > 0): measured {rise}; m={width}, per-seed slopes over the rho grid"
    )


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
    margin = sweep.conditions.c3
    t, effects, conds = gap_conditions(table, earlier, "specialists", margin, sweep, hp, seed)
    return claim_row(
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
        crossing_rho(effects, sweep, seed),
        secondary(
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
    return claim_row(
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
        secondary(
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
    margin = sweep.conditions.c5
    t, effects, conds = gap_conditions(table, earlier, "separation", margin, sweep, hp, seed)
    noise = {
        g: mean_ci(seed_slopes(t.assign(r=-t[f"separation_{g}"]), width, "r"), analyze.confidence)
        for g in GROUPS
    }
    return claim_row(
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
        crossing_rho(effects, sweep, seed),
        secondary(
            seed_slopes(t, width, "gap"),
            f"per-seed slope of the separation gap on log rho over the grid at m={width}",
            sweep.c5.min_effect,
            sweep,
            seed,
        ),
    )
