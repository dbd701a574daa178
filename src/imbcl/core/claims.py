"""Rows of `reports/claims.json`: a statistic over seeds, its interval, its control, a verdict.

Intervals are Student-t intervals of the mean over seeds (the seeds are the independent
replicates). With a single seed no interval exists: the bounds equal the mean and the
verdict is at best `inconclusive`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def excludes_zero(self) -> bool:
        return self.n > 1 and (self.low > 0 or self.high < 0)

    def covers_zero(self) -> bool:
        return self.low <= 0 <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.3g} [{self.low:.3g}, {self.high:.3g}]"


def mean_ci(values: np.ndarray | list[float], confidence: float = 0.95) -> Interval:
    """Mean and two-sided t-interval of the mean; for one value the interval is undefined:
    NaN bounds (null in JSON), never a zero-width interval."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    m = float(x.mean())
    if len(x) == 1:
        return Interval(m, float("nan"), float("nan"), 1)
    if float(x.std()) == 0.0:
        return Interval(m, m, m, len(x))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * stats.sem(x))
    return Interval(m, m - half, m + half, len(x))


@dataclass(frozen=True)
class Claim:
    """One row of claims.json (field names are the output contract)."""

    id: str
    claim: str
    statistic: str
    value: float
    ci_low: float
    ci_high: float
    control: str
    rule: str
    verdict: str
    # Replication (core.verdicts): why a verdict is inconclusive, the margin that matters,
    # the seeds of each block and each block's own evidence; the theory's prediction and the
    # health of the runs behind the row. Empty where a track does not (yet) provide them.
    reason: str = ""
    min_effect: float | None = None
    seeds_per_block: int | None = None
    discovery: dict[str, Any] = field(default_factory=dict)
    confirmation: dict[str, Any] = field(default_factory=dict)
    prediction: str = ""
    health: dict[str, Any] = field(default_factory=dict)
    # Per condition (core.regime): the claim's statistic at every condition it was run under,
    # the regime statement, and statistics shown beside the verdict without deciding it.
    conditions: list[dict[str, Any]] = field(default_factory=list)
    regime: str = ""
    crossing: dict[str, Any] = field(default_factory=dict)
    secondary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        row = asdict(self)
        # The nine original fields always; the replication fields once a track fills them, so
        # rows of tracks not yet decided on blocks keep their old bytes.
        for key in ("reason", "prediction", "regime"):
            if not row[key]:
                del row[key]
        for key in ("min_effect", "seeds_per_block"):
            if row[key] is None:
                del row[key]
        for key in ("discovery", "confirmation", "health", "conditions", "crossing", "secondary"):
            if not row[key]:
                del row[key]
        return row


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, col: str) -> np.ndarray:
    """Per-seed differences a - b of one column, rows matched on their `seed` column."""
    merged = a[["seed", col]].merge(b[["seed", col]], on="seed", suffixes=("_a", "_b"))
    return (merged[f"{col}_a"] - merged[f"{col}_b"]).to_numpy()


def merge(rows: list[dict]) -> list[dict]:
    """All rows sorted by claim id; a repeated id is an error (two stages claiming one row)."""
    ids = [r["id"] for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"claim ids written by more than one stage: {dupes}")
    return sorted(rows, key=lambda r: r["id"])
