"""Claim C7 of the long-tail track, decided on two blocks of seeds (`core.verdicts.decide`)
under the encoder-health rule; the table it is read from is made in results.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from imbcl.core import claims_registry, regime
from imbcl.core.blocks import block_seeds
from imbcl.core.claims import INCONCLUSIVE, Claim, Interval, mean_ci, paired_difference
from imbcl.core.verdicts import claim_row, decide, seeds_needed
from imbcl.longtail.params import RealParams
from imbcl.longtail.results import BASELINES, labels

UNHEALTHY = "encoder unhealthy"


def _at(rows: pd.DataFrame, rho: float, variant: str) -> pd.DataFrame:
    return rows[(rows.rho == rho) & (rows.variant == variant)]


def paired(rows: pd.DataFrame, rho: float, a: str, b: str, col: str) -> np.ndarray:
    """(seeds,) col of encoder a minus encoder b at rho, matched by seed (b 'untrained':
    the seed's initialisation, rho ignored)."""
    other = rows[rows.variant == b] if b in BASELINES else _at(rows, rho, b)
    return paired_difference(_at(rows, rho, a), other, col)


def _block(rows: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    return rows[rows.seed.isin(seeds)]


def health(rows: pd.DataFrame, cfg: RealParams) -> dict:
    """The encoder-health rule, fixed in params before the runs: the dense encoder's
    balanced-test probe accuracy at C7's rho minus its own initialisation's (paired by
    seed), averaged over both blocks, must reach real.health_margin."""
    gain = paired(rows, cfg.imbalance_ratio, "dense", "untrained", "probe_overall")
    mean = float(np.mean(gain)) if len(gain) else float("nan")
    raw = rows[rows.variant == "raw"].probe_overall
    return {
        "dense_minus_untrained": mean,
        "margin": float(cfg.health_margin),
        "healthy": bool(mean >= cfg.health_margin),
        "raw_pixels": float(raw.mean()),
        "untrained": float(rows[rows.variant == "untrained"].probe_overall.mean()),
        "dense": float(_at(rows, cfg.imbalance_ratio, "dense").probe_overall.mean()),
    }


def effects(
    rows: pd.DataFrame, cfg: RealParams, seed: int, a: str = "pruned", col: str = "probe_few"
) -> tuple[np.ndarray, np.ndarray]:
    """C7's per-seed statistic in the discovery and the confirmation block: a - dense of
    `col` at C7's rho, paired by seed."""
    blocks = block_seeds(seed, cfg.seeds_per_block, claims_registry.entry("C7").layout)
    rho = cfg.imbalance_ratio
    return tuple(  # type: ignore[return-value]
        paired(_block(rows, b), rho, a, "dense", col) for b in blocks
    )


def _ci(rows: pd.DataFrame, rho: float, a: str, b: str, col: str, conf: float) -> Interval:
    return mean_ci(paired(rows, rho, a, b, col), conf)


def claim_c7(rows: pd.DataFrame, cfg: RealParams, seed: int) -> Claim:
    """Pruning raises tail (few-group) probe accuracy: pruned - dense few-group accuracy at
    C7's rho, per seed, decided on two disjoint blocks of seeds; inconclusive with the
    reason 'encoder unhealthy' when the dense encoder fails the health rule."""
    rho, conf = cfg.imbalance_ratio, cfg.confidence
    discovery, confirmation = effects(rows, cfg, seed)
    decision = decide(discovery, confirmation, cfg.min_effect, seeds_required=2)
    well = health(rows, cfg)
    if not well["healthy"]:
        decision = dataclasses.replace(
            decision,
            verdict=INCONCLUSIVE,
            reason=(
                f"{UNHEALTHY}: dense - untrained probe accuracy "
                f"{well['dense_minus_untrained']:.3f} < real.health_margin = "
                f"{cfg.health_margin:g}"
            ),
        )
    pooled_sd = float(np.std(np.concatenate([discovery, confirmation]), ddof=1))
    needed = seeds_needed(pooled_sd, cfg.min_effect)
    d20 = _ci(rows, rho, "pruned", "dense", "probe_d20", conf)
    overall = _ci(rows, rho, "pruned", "dense", "probe_overall", conf)
    statistic = (
        f"{cfg.dataset}-LT (rho = {rho:g}): few-group probe accuracy, pruned - dense, paired "
        f"by seed ({labels(cfg)['pruned']}); Delta20 change pruned - dense = {d20} (negative "
        f"= narrower); overall accuracy pruned - dense = {overall}; a 95% half-width of "
        f"min_effect / 2 would need {needed} seeds per block"
    )
    controls = [
        f"random control - dense few {_ci(rows, rho, 'random', 'dense', 'probe_few', conf)}",
        f"pruned - random few {_ci(rows, rho, 'pruned', 'random', 'probe_few', conf)}",
        f"SDCLR - dense few {_ci(rows, rho, 'sdclr', 'dense', 'probe_few', conf)}",
    ]
    for other in cfg.extra_ratios:
        controls.append(
            f"rho = {other:g}: pruned - dense few "
            f"{_ci(rows, other, 'pruned', 'dense', 'probe_few', conf)}, overall "
            f"{_ci(rows, other, 'pruned', 'dense', 'probe_overall', conf)}"
        )
    controls.append(
        f"health: dense - untrained probe accuracy {well['dense_minus_untrained']:.3f} "
        f"(margin {cfg.health_margin:g}); raw pixels {well['raw_pixels']:.3f}, untrained "
        f"{well['untrained']:.3f}, dense {well['dense']:.3f}"
    )
    return claim_row(
        "C7",
        "On real long-tailed images, pruning improves linear-probe accuracy on tail classes "
        "and narrows the head-tail gap.",
        statistic,
        decision,
        "; ".join(controls),
        cfg.min_effect,
        2,
        prediction=(
            "the paper's CIFAR-10-LT rows (other data): accuracy +5.7 to +8.0 points and "
            "Delta20 narrower by 0.07 to 0.57 points at rho 10 to 100; ours is a tail-group "
            "accuracy gain above 0"
        ),
        health=well,
    )


def c7_row(claim: Claim, rows: pd.DataFrame, cfg: RealParams, seed: int) -> dict:
    """The claims.json row of C7, decided per imbalanced rho (`core.regime`, Bonferroni over
    those rhos): pruned - dense few-group accuracy per seed on two blocks, tested only where
    the precondition holds, fixed before the runs: imbalance costs the dense encoder at least
    real.min_effect on the few group against its own balanced run (mean over seeds of dense
    few at rho 1 minus at rho, paired by seed); elsewhere "not tested as intended" (not
    testable on these data). `claim` (claim_c7) gives the evidence fields and the health."""
    disc, conf = block_seeds(seed, cfg.seeds_per_block, claims_registry.entry("C7").layout)
    rhos = sorted(r for r in cfg.ratios if r > 1)
    conds = []
    for rho in rhos:
        costs = _cost(rows, rho) if 1.0 in cfg.ratios else np.array([])
        cost = float(np.mean(costs)) if len(costs) else float("nan")
        holds = bool(cost >= cfg.min_effect)
        why = (
            f"not testable on these data: imbalance costs the dense encoder's few group "
            f"{cost:.3f} (rho 1 minus rho {rho:g}) < real.min_effect = {cfg.min_effect:g}"
            if np.isfinite(cost)
            else "not testable on these data: no balanced run (real.extra_ratios lacks 1.0)"
        )
        c = regime.condition(
            {"rho": float(rho)},
            paired(_block(rows, disc), rho, "pruned", "dense", "probe_few"),
            paired(_block(rows, conf), rho, "pruned", "dense", "probe_few"),
            cfg.min_effect,
            len(rhos),
            tested=holds,
            why_not=why,
        )
        c["precondition"] = {"dense_few_cost": cost, "min_effect": cfg.min_effect, "holds": holds}
        conds.append(c)
    row = claim.as_dict()
    verdict, regime_text = regime.summarise(conds, ["rho"])
    row["conditions"], row["regime"] = conds, regime_text
    if claim.health.get("healthy", True):
        row["verdict"] = verdict
        row["reason"] = (
            ""
            if any(c["precondition"]["holds"] for c in conds)
            else ("not testable on these data at any rho: " + "; ".join(c["reason"] for c in conds))
        )
    row["rule"] = (
        "per imbalanced rho: pruned - dense few-group probe accuracy per seed, each block's 95% "
        f"interval Bonferroni over the {len(rhos)} rhos, equivalence margin real.min_effect "
        "(core.regime); tested only where imbalance costs the dense encoder >= real.min_effect "
        "on the few group against its own balanced run (fixed before the runs), else not tested "
        "as intended; the row's verdict from the conditions; inconclusive when the dense "
        "encoder fails real.health_margin"
    )
    return row


def _cost(rows: pd.DataFrame, rho: float) -> np.ndarray:
    """Per seed: dense few-group accuracy at rho 1 minus at rho (paired by seed)."""
    balanced, imbalanced = _at(rows, 1.0, "dense"), _at(rows, rho, "dense")
    return paired_difference(balanced, imbalanced, "probe_few")
