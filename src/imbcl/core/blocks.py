"""Seed blocks and the replicated decision on them.

Every seed a stage adds to params' `seed` is named here: the two replication blocks of a
claim (its layout in core.claims_registry), the sensitivity map's seeds and the pilot's.
Per-seed effects are decided on the healthy seeds of both blocks (core.verdicts.decide),
with a health summary for the claim's row."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd

from imbcl.core.claims import INCONCLUSIVE
from imbcl.core.verdicts import Decision, decide

UNHEALTHY = "encoder unhealthy"


Layout = Literal["contiguous", "spaced"]
CONTIGUOUS: Layout = "contiguous"  # discovery seed .. seed+n-1, confirmation seed+n ..
SPACED: Layout = "spaced"  # discovery seed .. seed+n-1, confirmation seed+100 ..
SPACED_CONFIRMATION = 100  # SPACED: the confirmation block's first seed, less `seed`
SENSITIVITY_OFFSET = 300  # the sensitivity map's seeds: seed+300 .. (disjoint from C6's)
PILOT_OFFSET = 1000  # make pilot moves `seed` by this (disjoint from every block above)


def block_seeds(
    base: int, per_block: int, layout: Layout = CONTIGUOUS
) -> tuple[list[int], list[int]]:
    """The discovery and the confirmation seeds of `per_block` seeds each."""
    start = per_block if layout == CONTIGUOUS else SPACED_CONFIRMATION
    return (
        list(range(base, base + per_block)),
        list(range(base + start, base + start + per_block)),
    )


def run_seeds(base: int, per_block: int, layout: Layout = CONTIGUOUS) -> list[int]:
    """Every seed of both blocks, discovery first: the runs a claim's stage trains."""
    discovery, confirmation = block_seeds(base, per_block, layout)
    return discovery + confirmation


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
