"""make pilot: the per-seed spread behind each claim's seed count, measured on pilot seeds
disjoint from both replication blocks.

The claim-deciding stages (train, analyze, sweep, imbalance, prune_forward) run again into
runs/pilot/ with `seed` moved by PILOT_OFFSET and two seeds per block (4 pilot seeds per
claim). For each claim statistic the per-seed s.d. s is read back from the pooled 95%
t-interval of its row, s = half-width * sqrt(n) / t_{0.975, n-1} (exact: the interval is
mean +- t s / sqrt(n)), and for C6 straight from its per-seed effects; the seeds a block needs
follow from core.verdicts.seeds_needed(s, min_effect). The params' `pilot_sd` values are
copied from this table by hand, before the runs they size (the rule is fixed before the runs).

writes  runs/pilot/ (params.yaml, the runs and claims); reports/tables/pilot.{md,csv}
"""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from imbcl.core import claims_registry
from imbcl.core.blocks import PILOT_OFFSET
from imbcl.core.io import read_json, write_text
from imbcl.core.rerun import changed_params, read_params, run_stages
from imbcl.core.verdicts import seeds_needed

OUT = Path("runs/pilot")
PER_BLOCK = 2  # 2 blocks x 2 = 4 pilot seeds per claim
STAGES = [
    ["stages/synthesize.py", f"{OUT}/data"],
    ["stages/train.py", f"{OUT}/data", "runs/calibrate/bias.json", f"{OUT}/train"],
    ["stages/analyze.py", f"{OUT}/data", f"{OUT}/train", f"{OUT}/analyze", f"{OUT}/dynamics"],
    ["stages/sweep.py", "runs/calibrate/bias.json", f"{OUT}/sweep"],
    ["stages/imbalance.py", f"{OUT}/sweep", f"{OUT}/imbalance", f"{OUT}/figures", f"{OUT}"],
    ["stages/prune_forward.py", f"{OUT}/prune_forward", f"{OUT}/prune", f"{OUT}/figures/c6.png"],
]


def pilot_params(p: dict) -> None:
    p["seed"] += PILOT_OFFSET
    for c in claims_registry.CLAIMS:
        if c.track == "synthetic":
            p[c.blocks]["seeds_per_block"] = PER_BLOCK


def sd_from_row(row: dict) -> tuple[float, int]:
    """The per-seed s.d. and n behind a row's pooled t-interval (the healthy seeds the
    rule decides on): 95%, or Bonferroni 1 - 0.05 / k for a row of k conditions
    (core.regime); NaN when fewer than 2 seeds are behind it."""
    n = int(row["discovery"]["seeds"] + row["confirmation"]["seeds"])
    if n < 2 or row["ci_high"] is None or row["ci_low"] is None:
        return float("nan"), n
    family = max(len(row.get("conditions", [])), 1)
    half = (row["ci_high"] - row["ci_low"]) / 2
    return float(half * np.sqrt(n) / stats.t.ppf(1 - 0.025 / family, n - 1)), n


def rows(params: dict) -> list[dict]:
    """One row per claim statistic: pilot mean, s.d., seeds needed, and what params say."""
    out = []
    one_rule = [c for c in claims_registry.CLAIMS if c.track == "synthetic" and c.id != "C6"]
    claims = [
        r
        for s in dict.fromkeys(c.stage for c in one_rule)
        for r in read_json(OUT / s / "claims.json")
    ]
    for row in sorted(claims, key=lambda r: r["id"]):
        sd, n = sd_from_row(row)
        c = claims_registry.entry(row["id"])
        rule = c.lookup(params, c.rule)
        margin = row.get("min_effect", rule["min_effect"])  # C3-C5: the per-rho margin
        out.append(
            {
                "claim": row["id"],
                "statistic": row["id"],
                "pilot_seeds": n,
                "mean": row["value"],
                "sd": sd,
                "min_effect": margin,
                "seeds_needed": seeds_needed(sd, margin) if np.isfinite(sd) else None,
                "params_pilot_sd": rule["pilot_sd"],
                "params_seeds_per_block": params[c.blocks]["seeds_per_block"],
            }
        )
    c6 = claims_registry.entry("C6")
    effects = pd.read_csv(OUT / c6.stage / "effects.csv")
    prune = c6.lookup(params, c6.rule)
    for stat, part in effects.groupby("statistic", sort=False):
        sds = part.groupby("control").effect.std(ddof=1)  # the larger of the two controls
        out.append(
            {
                "claim": "C6" + (" (decides)" if stat == prune["primary"] else ""),
                "statistic": stat,
                "pilot_seeds": int(part.seed.nunique()),
                "mean": float(part.effect.mean()),
                "sd": float(sds.max()),
                "min_effect": prune["min_effect"][stat],
                "seeds_needed": seeds_needed(float(sds.max()), prune["min_effect"][stat]),
                "params_pilot_sd": prune["pilot_sd"][stat],
                "params_seeds_per_block": prune["seeds_per_block"],
            }
        )
    return out


def main() -> None:
    params = read_params("params.yaml")
    path = changed_params("params.yaml", OUT, pilot_params)
    (OUT / "figures").mkdir(exist_ok=True)
    run_stages(STAGES, path, "pilot")
    table = pd.DataFrame(rows(params))
    table.round(4).to_csv("reports/tables/pilot.csv", index=False)
    note = (
        f"Pilot: {2 * PER_BLOCK} seeds per claim (seed {params['seed'] + PILOT_OFFSET}.., "
        "disjoint from both replication blocks), the default params otherwise. sd: per-seed "
        "s.d. of the claim's statistic (C6: the larger over its two controls); seeds_needed: "
        "the seeds per block for a 95% half-width of min_effect / 2 "
        "(core.verdicts.seeds_needed); params_*: what params.yaml holds. C1-C5 are measured "
        "on the healthy pilot seeds, those the rule decides on (pilot_seeds); with fewer "
        "than 2 the s.d. is not measured (-) and the params keep their earlier value.\n\n"
    )
    shown = table.astype(object).where(table.notna(), None)  # NaN -> None -> "-"
    markdown = shown.to_markdown(index=False, floatfmt=".4g", missingval="-")
    write_text("reports/tables/pilot.md", note + markdown)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
