"""One condition of C1 / C2 decided from per-seed effects: the paired difference against
the balanced control, the two replication blocks gated on healthy seeds and ungated, and
the claim row built from the conditions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imbcl.core import regime as rg
from imbcl.core.blocks import block_seeds
from imbcl.core.claims import Claim
from imbcl.synthetic.health_rule import healthy_by_seed, rule_text
from imbcl.synthetic.params import HealthParams


def fmt(iv: Any) -> str:
    """A mean and its interval (core.claims.mean_ci) as text."""
    if iv.n == 0:  # no finite per-seed value
        return "not measured"
    if iv.n < 2:
        return f"{iv.mean:.3g} (one seed, no interval)"
    return f"{iv.mean:.3g} [{iv.low:.3g}, {iv.high:.3g}]"


def paired(table: pd.DataFrame, imbalanced: float, balanced: float, col: str) -> pd.Series:
    """Per seed: col at the imbalanced rho minus col at the balanced control (same seed)."""
    imb = table[table.imbalance_ratio == imbalanced].set_index("seed")[col]
    bal = table[table.imbalance_ratio == balanced].set_index("seed")[col]
    return (imb - bal).dropna()


@dataclass(frozen=True)
class Blocks:
    """The seeds of the two replication blocks: base .. base+n-1 and base+n .. base+2n-1."""

    base: int
    per_block: int


def decided(
    effects: pd.Series,
    healthy: pd.Series,
    labels: dict,
    min_effect: float,
    blocks: Blocks,
    hp: HealthParams,
    family: int = 1,
) -> tuple[dict, dict]:
    """One condition, gated (healthy seeds only; not tested as intended below
    hp.min_healthy_share of them) and ungated (every seed). effects, healthy: per seed."""
    ok = healthy.reindex(effects.index, fill_value=False).astype(bool)
    disc, conf = block_seeds(blocks.base, blocks.per_block)

    def split(e: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        return (
            e[e.index.isin(disc)].to_numpy(dtype=np.float64),
            e[e.index.isin(conf)].to_numpy(dtype=np.float64),
        )

    share = float(ok.mean()) if len(ok) else 0.0
    tested = share >= hp.min_healthy_share
    why = f"encoder unhealthy: {int(ok.sum())} of {len(ok)} seeds healthy"
    gated = rg.condition(labels, *split(effects[ok]), min_effect, family, tested, why)
    gated["healthy_seeds"] = int(ok.sum())
    ungated = rg.condition(labels, *split(effects), min_effect, family)
    return gated, ungated


def claim_row(
    id: str,
    claim: str,
    statistic: str,
    control: str,
    rule: str,
    min_effect: float,
    conds: list[dict],
    ungated: list[dict],
    keys: list[str],
    prediction: str,
    health: dict,
    notes: list[str] | None = None,
) -> tuple[Claim, dict]:
    """The Claim (contract fields from the first condition) and the extra per-condition
    fields: conditions, regime, verdict_ungated, regime_ungated."""
    verdict, regime = rg.summarise(conds, keys)
    verdict_u, regime_u = rg.summarise(ungated, keys)
    if notes:
        regime = f"{regime} ({'; '.join(notes)})"
        regime_u = f"{regime_u} ({'; '.join(notes)})"
    first = conds[0]
    row = Claim(
        id,
        claim,
        statistic,
        first["value"] if first["value"] is not None else math.nan,
        first["ci_low"] if first["ci_low"] is not None else math.nan,
        first["ci_high"] if first["ci_high"] is not None else math.nan,
        control,
        rule,
        verdict,
        reason=first["reason"],
        min_effect=min_effect,
        seeds_per_block=min(first["discovery"]["seeds"], first["confirmation"]["seeds"]),
        discovery=first["discovery"],
        confirmation=first["confirmation"],
        prediction=prediction,
        health=health,
    )
    extra: dict = {
        "conditions": conds,
        "regime": regime,
        "verdict_ungated": verdict_u,
        "regime_ungated": regime_u,
        "conditions_ungated": ungated,
    }
    return row, extra


RULE = (
    "per condition, decided on two replication blocks of seeds (Bonferroni over the "
    "conditions; core.regime), gated on healthy seeds; verdict_ungated: every seed"
)


def health_record(table: pd.DataFrame, healthy: pd.Series, hp: HealthParams) -> dict:
    """The health fields of a row: seeds, healthy seeds and share, the certificates' extremes."""
    return {
        "seeds": int(len(healthy)),
        "healthy_seeds": int(healthy.sum()),
        "healthy_share": float(healthy.mean()) if len(healthy) else 0.0,
        "loss_ratio_max": float(table.loss_ratio.max()),
        "gap_closed_min": float(table.gap_closed.min()),
        "gap_closed_majority_min": float(table.gap_closed_majority.min()),
        "rule": f"a seed is healthy if both its runs are: {rule_text(hp)}",
    }


@dataclass(frozen=True)
class Condition:
    """One imbalanced rho against the balanced control on the per-run table: the seeds'
    health, the condition's labels (rho and the setting) and the decision rule's inputs."""

    table: pd.DataFrame
    imbalanced: float
    balanced: float
    healthy: pd.Series  # per seed: both runs healthy
    labels: dict
    blocks: Blocks
    hp: HealthParams

    @classmethod
    def of(
        cls,
        table: pd.DataFrame,
        imbalanced: float,
        balanced: float,
        blocks: Blocks,
        hp: HealthParams,
        setting: dict | None = None,
    ) -> Condition:
        labels = {"rho": float(imbalanced), **(setting or {})}
        return cls(table, imbalanced, balanced, healthy_by_seed(table), labels, blocks, hp)

    def decide(self, effects: pd.Series, min_effect: float) -> tuple[dict, dict]:
        """Per-seed effects decided gated and ungated (`decided`)."""
        return decided(effects, self.healthy, self.labels, min_effect, self.blocks, self.hp)

    def decide_gap(self, gap: pd.Series, min_effect: float) -> tuple[dict, dict]:
        """A per-run gap (rows of table) as the paired difference imbalanced - balanced."""
        effects = paired(self.table.assign(gap=gap), self.imbalanced, self.balanced, "gap")
        return self.decide(effects, min_effect)

    def health(self) -> dict:
        return health_record(self.table, self.healthy, self.hp)
