"""The claims, one line each: id -> the stage that decides it -> the params section of its
rule -> its seed blocks. verify/verify.py, verify/pilot.py and the pipeline test read this
list; adding a claim is one line here (docs/design.md, "Adding a claim").

A stage writes its claims' rows to runs/<stage>/claims.json; a rule section holds
`min_effect` and `pilot_sd` (C6: a map per statistic, C7: `min_effect` only); the blocks are
<blocks>.seeds_per_block seeds each, laid out as core.blocks.block_seeds(seed, n, layout)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from imbcl.core.blocks import CONTIGUOUS, SPACED, Layout


@dataclass(frozen=True)
class ClaimEntry:
    id: str
    stage: str  # the DVC stage that decides it: runs/<stage>/claims.json holds its row
    trains: str  # the DVC stage whose runs it decides on
    rule: str  # dotted params key of its rule's section
    blocks: str  # the params section whose `seeds_per_block` sizes its two blocks
    layout: Layout  # core.blocks: where the confirmation block starts
    track: Literal["synthetic", "real"]  # the model: the sparse-coding one or the ViT
    plain: str  # the paper's claim in one plain sentence, in our words (the report's)

    def lookup(self, params: Mapping[str, Any], key: str) -> Any:
        """The value of the dotted key `key` (e.g. self.rule) in a params mapping."""
        value: Any = params
        for part in key.split("."):
            value = value[part]
        return value


# fmt: off
CLAIMS = (
    ClaimEntry("C1", "analyze", "train", "analyze.c1", "train", CONTIGUOUS, "synthetic",
        "Neuron weights evolve in three stages; majority, minority and noise move differently."),
    ClaimEntry("C2", "analyze", "train", "analyze.c2", "train", CONTIGUOUS, "synthetic",
        "Majority features are learned first and end stronger than minority features."),
    ClaimEntry("C3", "imbalance", "sweep", "sweep.c3", "sweep", CONTIGUOUS, "synthetic",
        "Imbalance leaves fewer neurons specialised in minority features."),
    ClaimEntry("C4", "imbalance", "sweep", "sweep.c4", "sweep", CONTIGUOUS, "synthetic",
        "Imbalance raises the width needed before every minority feature is captured."),
    ClaimEntry("C5", "imbalance", "sweep", "sweep.c5", "sweep", CONTIGUOUS, "synthetic",
        "Imbalance makes minority features harder to separate from noise."),
    ClaimEntry("C6", "prune_forward", "prune_forward", "prune", "prune", SPACED, "synthetic",
        "Magnitude pruning (Algorithm 1) gives back what imbalance took from the minority."),
    ClaimEntry("C7", "longtail_eval", "longtail_train", "real", "real", CONTIGUOUS, "real",
        "On real long-tailed images, pruning raises tail-class probe accuracy."),
)
# fmt: on


def ids() -> list[str]:
    return [c.id for c in CLAIMS]


def entry(claim_id: str) -> ClaimEntry:
    """The registry line of `claim_id`; KeyError naming it when there is none."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(f"{claim_id}: not a claim of core.claims_registry ({', '.join(ids())})")


def deciding_stages(track: str | None = None) -> list[str]:
    """The stages that write claims.json, in claim order (of one track, if given)."""
    return list(dict.fromkeys(c.stage for c in CLAIMS if track in (None, c.track)))
