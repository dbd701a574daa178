"""The health rule (HealthParams) that reads a run's certificate (health.py).

The recipe is certified on the balanced control (rho = 1: the gap to the oracle of every
feature); a run at rho > 1 is checked only on what the claims do not measure (the gap to the
majority oracle, majority sign accuracy, the non-zero band). Minority sign accuracy and R^2
are reported, never read by the rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbcl.synthetic.params import HealthParams


def failure(row: dict | pd.Series, hp: HealthParams) -> str:
    """The first health check a run fails, as a phrase, or "" for a healthy run.

    row: a certificate (`health`'s keys) with `imbalance_ratio` (absent: 1, the balanced
    control). At rho = 1 the loss is judged against the oracle of every feature; at rho > 1
    against the majority oracle (gap_closed_majority), so a run that loses the minority (the
    outcome of C2-C5) is not unhealthy for it. A row without that column (a table that kept
    only some certificate keys) is judged against the full oracle, as before. Minority
    measures are never read."""
    rho = float(row.get("imbalance_ratio", 1.0))
    key, oracle, which = ("gap_closed", "oracle_ratio", "oracle")
    if rho > 1 and "gap_closed_majority" in row:
        key, oracle, which = ("gap_closed_majority", "oracle_majority_ratio", "majority oracle")
        if not np.isfinite(row[key]):
            return "no majority-oracle loss in the certificate"
    if not row[key] >= hp.min_gap_closed:
        return (
            f"gap closed {row[key]:.3g} < {hp.min_gap_closed:g} (loss "
            f"{row['loss_ratio']:.3g} log B, {which} {row[oracle]:.3g} log B)"
        )
    if not row["probe_majority_sign_accuracy"] >= hp.min_sign_accuracy:
        acc = row["probe_majority_sign_accuracy"]
        return f"majority sign accuracy {acc:.3g} < {hp.min_sign_accuracy:g}"
    if not hp.nonzero_min <= row["nonzero_share"] <= hp.nonzero_max:
        return (
            f"non-zero share {row['nonzero_share']:.3g} outside "
            f"[{hp.nonzero_min:g}, {hp.nonzero_max:g}]"
        )
    return ""


def mark(table: pd.DataFrame, hp: HealthParams) -> pd.DataFrame:
    """The certificates' table with `failure` (first failing check, "" if none) and
    `healthy`."""
    fails = [failure(row, hp) for _, row in table.iterrows()]
    return table.assign(failure=fails, healthy=[not f for f in fails])


def rule_text(hp: HealthParams) -> str:
    """The health rule in words, for claim rows and captions."""
    return (
        f"a run is healthy when it closes >= {hp.min_gap_closed:g} of the way from chance "
        f"(log B) to the oracle's held-out InfoNCE loss at its own rho (at rho = 1 the oracle "
        f"of every feature; at rho > 1 of the majority features only, so losing the minority "
        f"is an outcome, not ill health), its majority sign accuracy is "
        f">= {hp.min_sign_accuracy:g} and its non-zero share lies in "
        f"[{hp.nonzero_min:g}, {hp.nonzero_max:g}]; minority measures are reported, never read"
    )


def health_table(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of runs (the columns `by`, e.g. imbalance_ratio): the runs, the healthy ones,
    the certificate's ranges and the first failure seen. table: one row per run with the
    CERTIFICATE columns, `healthy` and `failure` (`mark`)."""
    rows = []
    for key, g in table.groupby(by, sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        fails = [f for f in g.failure if f]
        rows.append(
            {
                **dict(zip(by, keys, strict=True)),
                "runs": len(g),
                "healthy": int(g.healthy.sum()),
                "loss / log B": f"{g.loss_ratio.min():.3f}-{g.loss_ratio.max():.3f}",
                "oracle / log B": f"{g.oracle_ratio.median():.3f}",
                "gap closed (min, median)": f"{g.gap_closed.min():.2f}, "
                f"{g.gap_closed.median():.2f}",
                **(
                    {"gap closed, majority oracle (min)": f"{g.gap_closed_majority.min():.2f}"}
                    if "gap_closed_majority" in g
                    else {}
                ),
                "sign acc. majority (min)": f"{g.probe_majority_sign_accuracy.min():.3f}",
                "sign acc. minority (min; outcome)": f"{g.probe_minority_sign_accuracy.min():.3f}",
                "non-zero share": f"{g.nonzero_share.min():.3f}-{g.nonzero_share.max():.3f}",
                "first failure": fails[0] if fails else "",
            }
        )
    return pd.DataFrame(rows)


def healthy_by_seed(table: pd.DataFrame) -> pd.Series:
    """Per seed: every run of that seed in `table` is healthy (the `healthy` column)."""
    return table.healthy.astype(bool).groupby(table.seed).all()


def claim_health(table: pd.DataFrame, summary: dict, hp: HealthParams, runs: str) -> dict:
    """A claim row's `health`: the blocks' healthy share (`summary`), the certificate ranges
    of the runs behind it (`table`) and the rule in words; `runs` names those runs."""
    return {
        **summary,
        "loss_ratio_max": float(table.loss_ratio.max()),
        "loss_ratio_median": float(table.loss_ratio.median()),
        "oracle_ratio_median": float(table.oracle_ratio.median()),
        "gap_closed_min": float(table.gap_closed.min()),
        "gap_closed_median": float(table.gap_closed.median()),
        "rule": f"a seed is healthy if each of its runs{runs} is: {rule_text(hp)}; decided "
        f"on healthy seeds, not decided below {hp.min_healthy_share:g} of them",
    }
