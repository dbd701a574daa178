"""A claim decided per condition, and the regime statement that summarises the conditions.

A *condition* is one setting a claim was run under (a rho; or a rho with a bias, a ramp, a
model size). At each condition the claim's own per-seed statistic (paper's direction
positive) is decided on two disjoint blocks of seeds. The k conditions of a row form one
family: each block's intervals are Bonferroni intervals, two-sided at 1 - 0.05 / k and
(for the equivalence test) at 1 - 0.10 / k.

Verdict words, each defined once (a block, then a condition, then a row):

    supported               the interval lies above 0
    reversed                the interval lies below 0 (the opposite of the paper's direction)
    not supported           the effect is shown absent: the equivalence interval lies inside
                            (-min_effect, +min_effect) (two one-sided tests, Schuirmann 1987)
    underpowered            none of these, and the interval is wider than 2 min_effect, so
                            even an absent effect could not have been shown absent; also a
                            block of fewer than two seeds (no interval)
    inconclusive            none of these (or, for a condition, the blocks disagree)
    not tested as intended  the condition's premise failed: the test could not have shown
                            the effect (set by the caller, never by the statistic)

A condition's verdict is its blocks' common verdict; blocks that disagree make it
inconclusive ("did not replicate"). A row's verdict: the common verdict of its tested
conditions; "supported in a regime (...)" naming the conditions where it holds when it
holds at some and not at others; "not supported" when it holds nowhere and every tested
condition is decided; "not tested as intended" when no condition was tested; else
inconclusive (or underpowered, when every tested condition is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from imbcl.core.claims import mean_ci

SUPPORTED = "supported"
REVERSED = "reversed"
NOT_SUPPORTED = "not supported"
UNDERPOWERED = "underpowered"
INCONCLUSIVE = "inconclusive"
NOT_TESTED = "not tested as intended"
IN_A_REGIME = "supported in a regime"
DECIDED = (SUPPORTED, REVERSED, NOT_SUPPORTED)
VERDICTS = (SUPPORTED, IN_A_REGIME, REVERSED, NOT_SUPPORTED, INCONCLUSIVE, NOT_TESTED, UNDERPOWERED)

# What each verdict word means for a reader: the one definition the report's glossary and
# summary and the README (scripts/readme_results.py) print.
MEANING = {
    SUPPORTED: "the interval lies above 0, the paper's direction, in both seed blocks",
    IN_A_REGIME: "supported only at the conditions named",
    REVERSED: "the interval lies below 0 in both blocks: the opposite of the paper",
    NOT_SUPPORTED: "shown absent, inside +-min_effect; a row: absent or reversed where tested",
    UNDERPOWERED: "the interval is too wide to tell, or a block has one seed and no interval",
    INCONCLUSIVE: "the two blocks disagree, or neither decides",
    NOT_TESTED: "the test could not have shown the effect: failed premise, unhealthy encoder",
}


def code(verdict: str) -> int:
    """The verdict's position in VERDICTS (0 supported .. 6 underpowered), by its leading
    words: a number `dvc metrics diff` can show. ValueError for another text."""
    for i, word in sorted(enumerate(VERDICTS), key=lambda iv: -len(iv[1])):
        if verdict.startswith(word):
            return i
    raise ValueError(f"{verdict!r}: not a verdict word")


def _num(x: float) -> float | None:
    """A finite float, or None (written as null: an undefined bound is not a bound)."""
    return float(x) if np.isfinite(x) else None


def block(effects: Sequence[float] | np.ndarray, min_effect: float, family: int = 1) -> dict:
    """One block's decision at one condition.

    effects (n,) per-seed values, paper's direction positive (non-finite values dropped);
    min_effect > 0 the equivalence margin in the statistic's units; family >= 1 the number
    of conditions in the row (Bonferroni). Returns {value, ci_low, ci_high, tost_low,
    tost_high, seeds, verdict}; bounds are None for fewer than two seeds. Seeds that all give
    one value have a zero-width interval (core.claims.mean_ci).
    """
    if min_effect <= 0:
        raise ValueError(f"min_effect = {min_effect}: expected a number > 0")
    if family < 1:
        raise ValueError(f"family = {family}: expected a count >= 1")
    x = np.asarray(effects, dtype=np.float64)
    x = x[np.isfinite(x)]
    ci, eq = mean_ci(x, 1 - 0.05 / family), mean_ci(x, 1 - 0.10 / family)
    out: dict[str, Any] = {"value": _num(ci.mean), "seeds": int(ci.n)}
    if ci.n < 2:
        out.update(ci_low=None, ci_high=None, tost_low=None, tost_high=None)
        out["verdict"] = UNDERPOWERED
        return out
    out.update(ci_low=ci.low, ci_high=ci.high, tost_low=eq.low, tost_high=eq.high)
    if ci.low > 0:
        verdict = SUPPORTED
    elif ci.high < 0:
        verdict = REVERSED
    elif -min_effect < eq.low and eq.high < min_effect:
        verdict = NOT_SUPPORTED
    elif ci.high - ci.low > 2 * min_effect:
        verdict = UNDERPOWERED
    else:
        verdict = INCONCLUSIVE
    out["verdict"] = verdict
    return out


def condition(
    labels: Mapping[str, Any],
    discovery: Sequence[float] | np.ndarray,
    confirmation: Sequence[float] | np.ndarray,
    min_effect: float,
    family: int = 1,
    tested: bool = True,
    why_not: str = "",
) -> dict:
    """One condition of a row: its labels (e.g. {"rho": 10.0}), the pooled value and
    family interval over both blocks, each block's decision and the condition's verdict.

    tested=False marks a condition whose premise failed (why_not says which): its numbers
    are still shown, its verdict is "not tested as intended".
    """
    a = block(discovery, min_effect, family)
    b = block(confirmation, min_effect, family)
    pooled = block(
        np.concatenate([np.asarray(discovery), np.asarray(confirmation)]), min_effect, family
    )
    if not tested:
        verdict, reason = NOT_TESTED, why_not
    elif a["verdict"] == b["verdict"]:
        verdict, reason = a["verdict"], ""
    else:
        verdict = INCONCLUSIVE
        reason = f"did not replicate: discovery {a['verdict']}, confirmation {b['verdict']}"
    return {
        **dict(labels),
        "value": pooled["value"],
        "ci_low": pooled["ci_low"],
        "ci_high": pooled["ci_high"],
        "seeds": pooled["seeds"],
        "verdict": verdict,
        "reason": reason,
        "discovery": a,
        "confirmation": b,
    }


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def names(conds: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str:
    """'rho 20, 50' for one label key; '(rho 10, bias 0.1), (rho 50, bias 0.1)' for several."""
    if len(keys) == 1:
        return f"{keys[0]} " + ", ".join(_value(c[keys[0]]) for c in conds)
    return ", ".join("(" + ", ".join(f"{k} {_value(c[k])}" for k in keys) + ")" for c in conds)


def summarise(conditions: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> tuple[str, str]:
    """The row's verdict and its regime statement from its conditions.

    keys: the label keys that name a condition (e.g. ["rho"]). The statement lists, in the
    order given, where the claim holds, reverses, is shown absent, is undecided and was not
    tested, e.g. "holds at rho 20, 50; reversed at rho 5, 10; absent at rho 2".
    """
    by: dict[str, list[Mapping[str, Any]]] = {}
    for c in conditions:
        by.setdefault(str(c["verdict"]), []).append(c)
    groups = {v: names(cs, keys) for v, cs in by.items()}
    words = [
        (SUPPORTED, "holds at"),
        (REVERSED, "reversed at"),
        (NOT_SUPPORTED, "absent at"),
        (INCONCLUSIVE, "undecided at"),
        (UNDERPOWERED, "underpowered at"),
        (NOT_TESTED, "not tested at"),
    ]
    regime = "; ".join(f"{w} {groups[v]}" for v, w in words if v in groups)
    tested = [str(c["verdict"]) for c in conditions if c["verdict"] != NOT_TESTED]
    if not tested:
        verdict = NOT_TESTED
    elif len(set(tested)) == 1 and tested[0] in (*DECIDED, UNDERPOWERED):
        verdict = tested[0]
    elif SUPPORTED in tested:
        verdict = f"{IN_A_REGIME} ({groups[SUPPORTED]})"
    elif all(v in DECIDED for v in tested):
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return verdict, regime


def crossing(
    values: Mapping[float, Sequence[float] | np.ndarray],
    n_boot: int = 1000,
    seed: int = 0,
    last: bool = False,
) -> dict:
    """Where a per-seed effect curve over rho changes sign, with a seed-bootstrap interval.

    values: rho -> per-seed effects (the same seeds, in the same order, at every rho).
    rho* is the first crossing of the mean curve (last=True: the last one, above which the
    sign holds to the end of the grid), interpolated linearly in log rho between the grid
    points where the sign changes; None where the mean never changes sign.
    Returns {rho_star, ci_low, ci_high, crossed_share} (crossed_share: the share of
    bootstrap curves that cross at all; the interval is over those).
    """
    rhos = sorted(values)
    table = np.stack([np.asarray(values[r], dtype=np.float64) for r in rhos])  # (k, n)
    logs = np.log(np.asarray(rhos))

    def first(curve: np.ndarray) -> float | None:
        order = range(len(curve) - 2, -1, -1) if last else range(len(curve) - 1)
        for i in order:
            a, b = curve[i], curve[i + 1]
            if np.isfinite(a) and np.isfinite(b) and a * b < 0:
                t = a / (a - b)
                return float(np.exp(logs[i] + t * (logs[i + 1] - logs[i])))
        return None

    star = first(np.nanmean(table, axis=1))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, table.shape[1], table.shape[1])
        r = first(np.nanmean(table[:, idx], axis=1))
        if r is not None:
            boots.append(r)
    lo = hi = None
    if boots:
        lo, hi = (float(v) for v in np.quantile(boots, [0.025, 0.975]))
    return {"rho_star": star, "ci_low": lo, "ci_high": hi, "crossed_share": len(boots) / n_boot}
