"""Imbalance measures on hand-built neurons whose answers are known."""

import math

import numpy as np
import pandas as pd
import pytest

from imbcl.core.blocks import UNHEALTHY
from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Claim, Interval
from imbcl.core.params import replace
from imbcl.core.verdicts import DID_NOT_REPLICATE, UNDERPOWERED
from imbcl.imbalance.claims import (
    claim_c3,
    claim_c4,
    claim_c5,
    width_trend,
)
from imbcl.imbalance.grid import FinalState
from imbcl.imbalance.measures import (
    best_alignment,
    coverage,
    feature_separation,
    floor_measures,
    loglog_slope,
    margin,
    min_width,
    run_row,
    seed_mstar_slopes,
    seed_slopes,
)
from imbcl.imbalance.params import SweepParams
from imbcl.imbalance.summary import regime_summary
from imbcl.synthetic.health import mark
from imbcl.synthetic.params import AnalyzeParams, ClaimRule, HealthParams
from imbcl.synthetic.train import RunSpec

MAJORITY = np.array([True, True, False, False])  # K = 4: two majority, two minority
HP = HealthParams()


def neurons(directions: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """proj, norm, noise of neurons u_i (m, d) with M = the first K coordinate axes."""
    proj = directions[:, :n_features]
    return (
        proj,
        np.linalg.norm(directions, axis=1),
        np.linalg.norm(directions[:, n_features:], axis=1),
    )


def test_best_alignment_is_the_cosine_of_a_tilted_neuron():
    theta = 0.3
    u = np.array([[math.cos(theta), 0.0, 0.0, 0.0, math.sin(theta)]])  # (1, d=5)
    proj, norm, _ = neurons(2.5 * u, 4)  # scale must not matter
    assert best_alignment(proj, norm) == pytest.approx([math.cos(theta), 0, 0, 0])


def test_separation_and_margin_in_closed_form():
    # feature 0's best neuron reads 0.8 of it and carries noise 0.2; feature 2's reads 0.5
    # and carries noise 0.05 -> log10(4) and log10(10).
    u = np.array([[0.8, 0.0, 0.0, 0.0, 0.2], [0.1, 0.0, 0.5, 0.0, 0.05]])
    proj, _, noise = neurons(u, 4)
    sep = feature_separation(proj, noise)
    assert sep[0] == pytest.approx(math.log10(4.0))
    assert sep[2] == pytest.approx(math.log10(10.0))
    assert margin(proj, 0.3)[[0, 2]] == pytest.approx([0.5, 0.2])


def test_run_row_counts_specialised_neurons_and_coverage():
    u = np.array(
        [
            [1.0, 0.0, 0.0, 0.0, 0.1],  # feature 0
            [0.9, 0.1, 0.0, 0.0, 0.0],  # feature 0
            [0.0, 1.0, 0.0, 0.0, 0.0],  # feature 1
            [0.0, 0.0, 0.0, 2.0, 0.3],  # feature 3
            [0.6, 0.6, 0.5, 0.0, 0.0],  # polysemantic: best alignment 0.6/||u|| < 0.7
        ]
    )
    proj, norm, noise = neurons(u, 4)
    row = run_row(FinalState(RunSpec(5.0, 5, 0), proj, norm, noise, 1.0, {}), MAJORITY, 0.7, 0.3)
    assert row["neurons_majority"] == pytest.approx(1.5)  # (2 + 1) / 2
    assert row["neurons_minority"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert row["coverage_majority"] == 1.0
    assert row["coverage_minority"] == 0.5
    assert coverage(np.array([0, 0, 0, 0]), MAJORITY) == 0.0


def test_min_width_picks_the_first_width_covered_in_most_seeds():
    widths = np.array([4.0, 8.0, 16.0])
    covered = np.array(
        [
            [[0, 0, 0], [1, 1, 0], [1, 1, 1]],  # m* = 8 (2 of 3 seeds > 0.5)
            [[0, 0, 0], [1, 0, 0], [1, 0, 0]],  # never in most seeds -> censored
        ],
        dtype=bool,
    )  # (R=2, W=3, S=3)
    assert min_width(covered, widths, 0.5).tolist() == [8.0, np.inf]


def test_loglog_slope_recovers_a_power_law():
    ratios = np.array([1.0, 2.0, 5.0, 10.0])
    assert loglog_slope(ratios, 4.0 * ratios**0.5, 1e6) == pytest.approx(0.5)
    assert loglog_slope(ratios, np.full(4, 8.0), 1e6) == pytest.approx(0.0)
    # a censored value counts at the cap, i.e. as if it were exactly the cap
    capped = loglog_slope(ratios, np.array([1.0, 2.0, 4.0, np.inf]), 8.0)
    assert capped == pytest.approx(loglog_slope(ratios, np.array([1.0, 2.0, 4.0, 8.0]), 99.0))


def synthetic_table(
    minority_needs, seeds=5, widths=(2, 4, 8, 16, 32), ratios=(1.0, 2.0, 4.0)
) -> pd.DataFrame:
    """Runs in which a group is fully covered iff width >= needs(rho); majority needs 2."""
    rows = []
    for rho in ratios:
        for m in widths:
            for s in range(seeds):
                rows.append(
                    {
                        "imbalance_ratio": rho,
                        "width": m,
                        "seed": s,
                        "coverage_majority": float(m >= 2),
                        "coverage_minority": float(m >= minority_needs(rho)),
                    }
                )
    return pd.DataFrame(rows)


def test_width_trend_slope_one_when_the_needed_width_doubles_with_rho():
    trend = width_trend(synthetic_table(lambda r: 2 * r), 0.5, 200, 0.95, seed=0)
    assert trend["mstar_minority"].tolist() == [2.0, 4.0, 8.0]
    assert trend["slope"].mean == pytest.approx(1.0)
    assert trend["slope"].low == pytest.approx(1.0)  # every seed agrees: no spread
    assert trend["control_gap"].mean == 0.0


def test_per_seed_mstar_slopes_follow_the_needed_width():
    assert seed_mstar_slopes(synthetic_table(lambda r: 2 * r)).tolist() == pytest.approx([1.0] * 5)
    assert seed_mstar_slopes(synthetic_table(lambda r: 4)).tolist() == pytest.approx([0.0] * 5)


# --- the replicated rules on constructed per-seed tables ---------------------------------------

RATIOS = (1.0, 2.0, 4.0, 8.0)
N = 4  # seeds per block
ANALYZE = AnalyzeParams()
RULE = ClaimRule(min_effect=0.2, pilot_sd=0.03)  # 3 seeds per block suffice
SWEEP = replace(
    SweepParams(),
    ratios=list(RATIOS),
    widths=[4, 16],
    seeds_per_block=N,
    test_ratio=4.0,
    bootstrap=50,
    c3=RULE,
    c4=RULE,
    c5=RULE,
)


def rule_table(slope, loss_ratio=0.5, width_needed=None) -> pd.DataFrame:
    """Runs whose majority - minority gaps (specialists, separation) grow as slope(seed) *
    log rho, plus a seed wobble; the minority is covered at width >= width_needed(rho, seed)."""
    rows = []
    for s in range(2 * N):
        wobble = 0.01 * ((s % 3) - 1)
        for rho in RATIOS:
            gap = slope(s) * math.log(rho) + wobble * math.log(rho)
            for m in (4, 16):
                need = width_needed(rho, s) if width_needed else 4
                rows.append(
                    {
                        "imbalance_ratio": rho,
                        "width": m,
                        "seed": s,
                        "specialists_majority": 2.0 + gap,
                        "specialists_minority": 2.0,
                        "mixing": 1.0 + 0.1 * math.log(rho),
                        "separation_majority": 1.0 + gap,
                        "separation_minority": 1.0,
                        "coverage_majority": 1.0,
                        "coverage_minority": float(m >= need),
                        "loss_ratio": loss_ratio,
                        "oracle_ratio": 0.2,
                        "gap_closed": (1 - loss_ratio) / (1 - 0.2),
                        "probe_majority_sign_accuracy": 0.99,
                        "nonzero_share": 0.5,
                    }
                )
    return mark(pd.DataFrame(rows), HP)


def verdicts(table: pd.DataFrame, sweep: SweepParams = SWEEP) -> dict[str, Claim]:
    trend = width_trend(table, sweep.cover_share, sweep.bootstrap, 0.95, seed=0)
    return {
        "C3": claim_c3(table, 16, ANALYZE, sweep, HP, 0),
        "C4": claim_c4(table, trend, ANALYZE, sweep, HP, 0),
        "C5": claim_c5(table, 16, ANALYZE, sweep, HP, 0),
    }


def test_rules_supported_when_both_blocks_show_the_trend():
    rows = verdicts(rule_table(lambda s: 1.0, width_needed=lambda r, s: 16 if r >= 4 else 4))
    assert {k: r.verdict for k, r in rows.items()} == dict.fromkeys(("C3", "C4", "C5"), SUPPORTED)
    c3 = rows["C3"]
    assert c3.value == pytest.approx(1.0, abs=0.02)
    assert c3.discovery["verdict"] == c3.confirmation["verdict"] == SUPPORTED
    assert c3.seeds_per_block == N and c3.health["healthy_seeds"] == 2 * N
    assert "measured" in c3.prediction and "measured" in rows["C5"].prediction


def test_rules_not_supported_when_the_trend_is_shown_absent():
    rows = verdicts(rule_table(lambda s: 0.0))
    assert {k: r.verdict for k, r in rows.items()} == dict.fromkeys(
        ("C3", "C4", "C5"), NOT_SUPPORTED
    )


def test_rules_inconclusive_when_the_blocks_disagree():
    rows = verdicts(rule_table(lambda s: 1.0 if s < N else 0.0))
    assert rows["C3"].verdict == INCONCLUSIVE
    assert rows["C3"].reason.startswith(DID_NOT_REPLICATE)


def test_rules_underpowered_when_the_pilot_asks_for_more_seeds():
    noisy = ClaimRule(min_effect=0.2, pilot_sd=1.0)  # needs ~100 seeds per block
    sweep = replace(SWEEP, c3=noisy, c4=noisy, c5=noisy)
    rows = verdicts(rule_table(lambda s: 1.0), sweep)
    assert all(r.verdict == INCONCLUSIVE for r in rows.values())
    assert all(r.reason.startswith(UNDERPOWERED) for r in rows.values())


def test_rules_not_decided_on_an_unhealthy_encoder():
    rows = verdicts(rule_table(lambda s: 1.0, loss_ratio=1.0))
    assert all(r.verdict == INCONCLUSIVE for r in rows.values())
    assert all(r.reason.startswith(UNHEALTHY) for r in rows.values())
    assert rows["C3"].health["healthy_seeds"] == 0


def test_floor_measures_ignore_weak_specialists():
    # neuron 0: strong on feature 0; neuron 1: aligned with feature 2 but 10x weaker
    u = np.array(
        [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.1, 0.0, 0.0], [0.8, 0.8, 0.0, 0.0, 0.5]]
    )  # neuron 2: mixed, not a specialist
    proj, norm, noise = neurons(u, 4)
    cert = {"loss_ratio": 0.4, "gap_closed": 0.75}
    row = floor_measures(
        FinalState(RunSpec(2.0, 3, 0), proj, norm, noise, math.log(8) / 2, cert),
        MAJORITY,
        0.7,
        0.5,
        8,
    )
    assert row["specialists_majority"] == pytest.approx(0.5)  # feature 0 only
    assert row["specialists_minority"] == 0.0  # the weak neuron does not count
    assert row["mixing"] == pytest.approx((1 + 2) / 2)  # neuron 2 reads two features
    assert row["train_loss_ratio"] == pytest.approx(0.5)  # the training loss / log 8
    assert (row["loss_ratio"], row["gap_closed"]) == (0.4, 0.75)  # the certificate's


def test_seed_slopes_compare_each_rho_with_the_seeds_balanced_run():
    table = rule_table(lambda s: 0.5 * s)
    slopes = seed_slopes(table.assign(g=table.specialists_majority), 16, "g")
    assert slopes.loc[2] == pytest.approx(1.0 + 0.01)  # slope 0.5 * 2 plus the wobble


def test_regime_summary_sorts_ratios_by_the_sign_of_the_interval():
    gaps = {
        1.0: Interval(0.0, -1.0, 1.0, 5),
        5.0: Interval(-2.0, -3.0, -1.0, 5),
        20.0: Interval(2.0, 1.0, 3.0, 5),
        50.0: Interval(3.0, 2.0, 4.0, 5),
    }
    assert regime_summary(gaps) == (
        "present (CI above 0) at rho = 20, 50; reversed (CI below 0) at rho = 5; "
        "not resolved at rho = 1"
    )
