"""Per-seed effects -> a replicated decision: the seeds split into the two blocks fixed in
params (discovery seed .. seed+n-1, confirmation seed+n .. seed+2n-1), decided on the healthy
seeds only (core.verdicts.decide), with a health summary for the claim's row."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from imbcl.core.claims import INCONCLUSIVE
from imbcl.core.verdicts import Decision, decide

UNHEALTHY = "encoder unhealthy"


def block_seeds(base: int, per_block: int) -> tuple[list[int], list[int]]:
    """The discovery and the confirmation seeds."""
    return (
        list(range(base, base + per_block)),
        list(range(base + per_block, base + 2 * per_block)),
    )


def decide_blocks(
    effects: pd.Series,
    healthy: pd.Series,
    base: int,
    per_block: int,
    min_effect: float,
    seeds_required: int,
    min_healthy_share: float,
) -> tuple[Decision, dict]:
    """Decide per-seed effects (indexed by seed) on the healthy seeds of both blocks.

    healthy: bool per seed (all the runs behind that seed's effect are healthy). When fewer
    than `min_healthy_share` of the seeds are healthy, the verdict is inconclusive with the
    reason "encoder unhealthy" (the blocks' statistics are still reported).
    Returns the decision and the health summary {seeds, healthy_seeds, healthy_share}.
    """
    ok = healthy.reindex(effects.index, fill_value=False).astype(bool)
    use = effects[ok] if ok.any() else effects
    blocks = block_seeds(base, per_block)
    parts = [use[use.index.isin(b)].to_numpy(dtype=np.float64) for b in blocks]
    decision = decide(parts[0], parts[1], min_effect, seeds_required)
    share = float(ok.mean()) if len(ok) else 0.0
    summary = {"seeds": int(len(ok)), "healthy_seeds": int(ok.sum()), "healthy_share": share}
    if share < min_healthy_share:
        decision = dataclasses.replace(
            decision,
            verdict=INCONCLUSIVE,
            reason=f"{UNHEALTHY}: {int(ok.sum())} of {len(ok)} seeds healthy",
        )
    return decision, summary
