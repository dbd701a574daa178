"""Verdicts that replicate: one rule for every claim, decided on two disjoint blocks of seeds.

A claim's statistic is an effect in the direction the paper predicts (positive = the paper's
direction), measured per seed, usually as the imbalanced effect minus the balanced control's
effect on the same seed. Each block (discovery, confirmation) gets:

    supported       the 95% t-interval of the mean lies above 0;
    not supported   the effect is shown absent: the 90% t-interval lies inside
                    (-min_effect, +min_effect) (two one-sided t-tests at 5%, Schuirmann 1987),
                    or shown reversed: the 95% interval lies below 0;
    inconclusive    otherwise (the interval is too wide to say either).

The claim's verdict is the blocks' common verdict when both decide the same way; otherwise
inconclusive, with the reason "did not replicate". A claim whose blocks are smaller than the
seeds a pilot says the precision needs is reported as underpowered and not decided.

Seeds needed for a 95% half-width h = min_effect / 2 from a pilot seed s.d. s:
n = ceil((t_{0.975, n-1} * s / h)^2), solved by iteration (the t quantile depends on n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Interval, mean_ci

DID_NOT_REPLICATE = "did not replicate"
UNDERPOWERED = "underpowered"


@dataclass(frozen=True)
class Block:
    """One block's evidence: the 95% interval, the 90% (equivalence) interval, the verdict."""

    ci: Interval  # 95% two-sided t-interval of the mean effect
    equivalence: Interval  # 90% interval: inside +-min_effect <=> both one-sided tests pass
    verdict: str
    seeds: int

    def as_dict(self) -> dict:
        return {
            "value": self.ci.mean,
            "ci_low": self.ci.low,
            "ci_high": self.ci.high,
            "tost_low": self.equivalence.low,
            "tost_high": self.equivalence.high,
            "seeds": self.seeds,
            "verdict": self.verdict,
        }


def block_verdict(effects: np.ndarray | list[float], min_effect: float) -> Block:
    """Decide one block from its per-seed effects (paper's direction positive).

    effects (n,) finite values, one per seed; min_effect > 0 in the statistic's units.
    """
    if min_effect <= 0:
        raise ValueError(f"min_effect = {min_effect}: expected a number > 0")
    x = np.asarray(effects, dtype=np.float64)
    ci, eq = mean_ci(x, 0.95), mean_ci(x, 0.90)
    if ci.n < 2:
        verdict = INCONCLUSIVE
    elif ci.low > 0:
        verdict = SUPPORTED
    elif ci.high < 0 or (-min_effect < eq.low and eq.high < min_effect):
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Block(ci, eq, verdict, ci.n)


def seeds_needed(pilot_sd: float, min_effect: float, cap: int = 10_000) -> int:
    """Smallest n whose expected 95% half-width t * s / sqrt(n) is at most min_effect / 2."""
    if pilot_sd <= 0:
        return 2
    h = min_effect / 2

    def ok(n: int) -> bool:
        return float(stats.t.ppf(0.975, n - 1)) * pilot_sd / math.sqrt(n) <= h

    n = min(cap, max(2, math.ceil((1.959964 * pilot_sd / h) ** 2)))  # the normal approximation
    while n < cap and not ok(n):
        n += 1
    while n > 2 and ok(n - 1):
        n -= 1
    return n


@dataclass(frozen=True)
class Decision:
    """A claim decided on two blocks, with the pooled estimate beside them."""

    discovery: Block
    confirmation: Block
    pooled: Interval
    verdict: str
    reason: str  # why inconclusive ('' when decided)

    def as_dict(self) -> dict:
        return {
            "discovery": self.discovery.as_dict(),
            "confirmation": self.confirmation.as_dict(),
            "verdict": self.verdict,
            "reason": self.reason,
        }


def decide(
    discovery: np.ndarray | list[float],
    confirmation: np.ndarray | list[float],
    min_effect: float,
    seeds_required: int = 2,
) -> Decision:
    """The replicated verdict of per-seed effects in two disjoint blocks of seeds.

    seeds_required: the seeds per block that the precision needs (`seeds_needed`); a block
    with fewer finite effects makes the claim underpowered (inconclusive).
    """
    a, b = block_verdict(discovery, min_effect), block_verdict(confirmation, min_effect)
    pooled = mean_ci(np.concatenate([np.asarray(discovery), np.asarray(confirmation)]), 0.95)
    if min(a.seeds, b.seeds) < seeds_required:
        verdict, reason = (
            INCONCLUSIVE,
            (
                f"{UNDERPOWERED}: {min(a.seeds, b.seeds)} seeds per block, "
                f"{seeds_required} needed for a half-width of min_effect / 2"
            ),
        )
    elif a.verdict == b.verdict and a.verdict != INCONCLUSIVE:
        verdict, reason = a.verdict, ""
    elif INCONCLUSIVE in (a.verdict, b.verdict) and a.verdict == b.verdict:
        verdict, reason = INCONCLUSIVE, "neither block decides: intervals too wide"
    else:
        verdict, reason = (
            INCONCLUSIVE,
            (f"{DID_NOT_REPLICATE}: discovery {a.verdict}, confirmation {b.verdict}"),
        )
    return Decision(a, b, pooled, verdict, reason)


def replicated_rule(min_effect: float, seeds_required: int) -> str:
    """The rule text every replicated claim row carries (fixed in params before the runs)."""
    return (
        "per block of seeds: supported if the effect's 95% t-interval lies above 0; not "
        f"supported if its 90% interval lies inside +-{min_effect:g} (two one-sided tests) or "
        "its 95% interval lies below 0 (reversed); else inconclusive. The verdict holds when "
        f"the discovery and the confirmation block agree; blocks under {seeds_required} seeds "
        "are underpowered"
    )


def claim_row(
    id: str,
    claim: str,
    statistic: str,
    decision: Decision,
    control: str,
    min_effect: float,
    seeds_required: int,
    prediction: str = "",
    health: dict | None = None,
) -> Claim:
    """A claims.json row from a replicated decision: pooled value and interval in the nine
    contract fields, both blocks beside them."""
    iv = decision.pooled
    return Claim(
        id,
        claim,
        statistic,
        iv.mean,
        iv.low,
        iv.high,
        control,
        replicated_rule(min_effect, seeds_required),
        decision.verdict,
        reason=decision.reason,
        min_effect=min_effect,
        seeds_per_block=min(decision.discovery.seeds, decision.confirmation.seeds),
        discovery=decision.discovery.as_dict(),
        confirmation=decision.confirmation.as_dict(),
        prediction=prediction,
        health=health or {},
    )


def claim_metrics(row: Claim) -> dict[str, float]:
    """Flat metrics of a replicated row, each value with its interval beside it, so that a
    `dvc metrics diff` across machines shows whether numbers moved beyond their intervals."""
    out = {
        f"{row.id}.value": row.value,
        f"{row.id}.ci_low": row.ci_low,
        f"{row.id}.ci_high": row.ci_high,
    }
    for block in ("discovery", "confirmation"):
        evidence = getattr(row, block)
        for key in ("value", "ci_low", "ci_high"):
            if key in evidence:
                out[f"{row.id}.{block}.{key}"] = evidence[key]
    return out
