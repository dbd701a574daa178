"""Imbalance measures on hand-built neurons whose answers are known."""

import math

import numpy as np
import pandas as pd
import pytest

from imbcl.core import regime as rg
from imbcl.core.claims import Claim
from imbcl.core.params import replace
from imbcl.imbalance.claims import (
    claim_c3,
    claim_c4,
    claim_c5,
    width_trend,
)
from imbcl.imbalance.figures import plot_separation
from imbcl.imbalance.grid import FinalState
from imbcl.imbalance.measures import (
    best_alignment,
    coverage,
    feature_separation,
    floor_measures,
    margin,
    min_width,
    run_row,
    seed_slopes,
    width_steps,
)
from imbcl.imbalance.params import ConditionRules, SweepParams
from imbcl.synthetic.health_rule import mark
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
    state = FinalState(RunSpec(5.0, 5, 0), proj, norm, noise, 1.0, {})
    row = run_row(state, MAJORITY, 0.7, 0.0, 0.3)  # no strength floor
    assert row["specialists_majority"] == pytest.approx(1.5)  # (2 + 1) / 2
    assert row["specialists_minority"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert row["coverage_majority"] == 1.0
    assert row["coverage_minority"] == 0.5
    assert coverage(np.array([0, 0, 0, 0]), MAJORITY) == 0.0
    # with the floor (0.5 x the strongest component, 2.0) the 0.9 neuron is no specialist;
    # coverage reads the same definition
    floored = run_row(state, MAJORITY, 0.7, 0.5, 0.3)
    assert floored["specialists_majority"] == pytest.approx(1.0)
    assert floored["coverage_majority"] == 1.0


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


def test_width_trend_finds_m_star_of_each_rho():
    trend = width_trend(synthetic_table(lambda r: 2 * r), 0.5, 200, 0.95, seed=0)
    assert trend["mstar_minority"].tolist() == [2.0, 4.0, 8.0]
    assert trend["control_gap"] == 0.0 and trend["censored"] == []


def test_a_censored_width_is_counted_censored_not_as_a_number():
    # the minority needs width 64 at rho = 4: beyond the grid (widest 32)
    table = synthetic_table(lambda r: {1.0: 2, 2.0: 8, 4.0: 64}[r])
    steps = width_steps(table)
    at = steps.xs(4.0, level="imbalance_ratio")
    assert at.censored.all() and at.mstar.isna().all()  # no m* entered, not 64, not 128
    assert (at.uncovered == 5).all()  # every width of the grid uncovered: a tie beyond it
    assert steps.xs(2.0, level="imbalance_ratio").mstar.tolist() == [8.0] * 5
    trend = width_trend(table, 0.5, 50, 0.95, seed=0)
    assert trend["censored"] == [4.0] and np.isinf(trend["mstar_minority"][-1])


# --- the per-rho rules on constructed per-seed tables -------------------------------------------

RATIOS = (1.0, 2.0, 4.0, 8.0)
N = 4  # seeds per block
ANALYZE = AnalyzeParams()
RULE = ClaimRule(min_effect=0.2, pilot_sd=0.03)
SWEEP = replace(
    SweepParams(),
    ratios=list(RATIOS),
    widths=[4, 16],
    seeds_per_block=N,
    test_ratio=4.0,
    bootstrap=50,
    conditions=ConditionRules(c3=0.2, c4=0.5, c5=0.2),
    c3=RULE,
    c4=RULE,
    c5=RULE,
)


def rule_table(gap, loss_ratio=0.5, width_needed=None) -> pd.DataFrame:
    """Runs whose majority - minority gaps (specialists, separation) are gap(rho, seed) plus
    a seed wobble; the minority is covered at width >= width_needed(rho, seed)."""
    rows = []
    for s in range(2 * N):
        wobble = 0.01 * ((s % 3) - 1)
        for rho in RATIOS:
            g = gap(rho, s) + wobble * math.log(rho)
            for m in (4, 16):
                need = width_needed(rho, s) if width_needed else 4
                rows.append(
                    {
                        "imbalance_ratio": rho,
                        "width": m,
                        "seed": s,
                        "specialists_majority": 2.0 + g,
                        "specialists_minority": 2.0,
                        "mixing": 1.0 + 0.1 * math.log(rho),
                        "separation_majority": 1.0 + g,
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


def trend_gap(slope):
    return lambda rho, s: slope(s) * math.log(rho)


def verdicts(table, sweep=SWEEP, earlier=None) -> dict[str, Claim]:
    trend = width_trend(table, sweep.cover_share, sweep.bootstrap, 0.95, seed=0)
    return {
        "C3": claim_c3(table, earlier, ANALYZE, sweep, HP, 0, 600),
        "C4": claim_c4(table, earlier, trend, ANALYZE, sweep, HP, 0, 600),
        "C5": claim_c5(table, earlier, ANALYZE, sweep, HP, 0, 600),
    }


def test_rules_supported_when_both_blocks_show_the_effect_at_every_rho():
    table = rule_table(trend_gap(lambda s: 1.0), width_needed=lambda r, s: 16 if r >= 4 else 4)
    rows = verdicts(table)
    assert rows["C3"].verdict == rows["C5"].verdict == rg.SUPPORTED
    c3 = rows["C3"]
    assert [c["rho"] for c in c3.conditions] == [2.0, 4.0, 8.0]
    assert all(c["verdict"] == rg.SUPPORTED for c in c3.conditions)
    assert c3.value == pytest.approx(math.log(4.0), abs=0.02)  # the test ratio's condition
    assert c3.regime == "holds at rho 2, 4, 8"
    assert c3.secondary["note"].startswith("post hoc")
    assert c3.crossing["rho_star"] is None  # never changes sign
    # C4: one width step more from rho = 4 on, nothing at rho 2 (shown absent)
    c4 = rows["C4"]
    assert [c["value"] for c in c4.conditions] == [0.0, 1.0, 1.0]
    assert c4.verdict == "supported in a regime (rho 4, 8)"
    assert all(c["censored_share"] == 0.0 for c in c4.conditions)


def test_rules_not_supported_when_the_effect_is_shown_absent():
    rows = verdicts(rule_table(trend_gap(lambda s: 0.0)))
    assert {k: r.verdict for k, r in rows.items()} == dict.fromkeys(
        ("C3", "C4", "C5"), rg.NOT_SUPPORTED
    )


def test_a_u_shaped_effect_gives_a_regime_statement_not_supported():
    shape = {1.0: 0.0, 2.0: 0.0, 4.0: -0.8, 8.0: 0.8}
    rows = verdicts(rule_table(lambda rho, s: shape[rho]))
    c3 = rows["C3"]
    assert c3.verdict == "supported in a regime (rho 8)"
    assert c3.regime == "holds at rho 8; reversed at rho 4; absent at rho 2"
    assert 4.0 < c3.crossing["rho_star"] < 8.0  # where it turns to the paper's direction
    # the post-hoc slope over the grid calls the U-shape supported
    assert c3.secondary["verdict"] == rg.SUPPORTED


def test_rules_inconclusive_when_the_blocks_disagree():
    rows = verdicts(rule_table(trend_gap(lambda s: 1.0 if s < N else 0.0)))
    assert rows["C3"].verdict == rg.INCONCLUSIVE
    assert rows["C3"].conditions[-1]["reason"].startswith("did not replicate")


def test_rules_not_tested_on_an_unhealthy_encoder():
    rows = verdicts(rule_table(trend_gap(lambda s: 1.0), loss_ratio=1.0))
    assert all(r.verdict == rg.NOT_TESTED for r in rows.values())
    c3 = rows["C3"].conditions[0]
    assert c3["reason"].startswith("encoder unhealthy")
    assert c3["verdict_without_gate"] == rg.SUPPORTED  # the statistic, printed without gate


def test_the_plateau_check_tells_a_constant_curve_from_a_rising_one():
    final = rule_table(trend_gap(lambda s: 1.0))
    flat = verdicts(final, earlier=final)["C3"]
    assert all(c["converged"] for c in flat.conditions)
    assert "final values, converged at every rho" in flat.statistic
    rising = verdicts(final, earlier=rule_table(trend_gap(lambda s: 0.5)))["C3"]
    assert not any(c["converged"] for c in rising.conditions)
    assert "values at step 600 (not converged" in rising.statistic
    undated = verdicts(final)["C3"]
    assert all(c["converged"] is None for c in undated.conditions)
    assert "values at step 600" in undated.statistic


def test_floor_measures_ignore_weak_specialists():
    # neuron 0: strong on feature 0; neuron 1: aligned with feature 2 but 10x weaker
    u = np.array(
        [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.1, 0.0, 0.0], [0.8, 0.8, 0.0, 0.0, 0.5]]
    )  # neuron 2: mixed, not a specialist
    proj, norm, noise = neurons(u, 4)
    cert = {"loss_ratio": 0.4, "gap_closed": 0.75}
    state = FinalState(RunSpec(2.0, 3, 0), proj, norm, noise, math.log(8) / 2, cert)
    row = floor_measures(state, 0.5, 8)
    counted = run_row(state, MAJORITY, 0.7, 0.5, 0.3)
    assert counted["specialists_majority"] == pytest.approx(0.5)  # feature 0 only
    assert counted["specialists_minority"] == 0.0  # the weak neuron does not count
    assert row["mixing"] == pytest.approx((1 + 2) / 2)  # neuron 2 reads two features
    assert row["train_loss_ratio"] == pytest.approx(0.5)  # the training loss / log 8
    assert (row["loss_ratio"], row["gap_closed"]) == (0.4, 0.75)  # the certificate's


def test_seed_slopes_compare_each_rho_with_the_seeds_balanced_run():
    table = rule_table(trend_gap(lambda s: 0.5 * s))
    slopes = seed_slopes(table.assign(g=table.specialists_majority), 16, "g")
    assert slopes.loc[2] == pytest.approx(1.0 + 0.01)  # slope 0.5 * 2 plus the wobble


def test_the_separation_caption_states_c5s_regime_from_its_claims_row(tmp_path):
    """The caption quotes the claim's regime statement: a pooled interval drawn beside it
    could call a rho reversed where the claim's two blocks leave it undecided."""
    shape = {1.0: 0.0, 2.0: 0.0, 4.0: -0.8, 8.0: 0.8}
    table = rule_table(lambda rho, s: shape[rho])
    c5 = verdicts(table)["C5"]
    caption = plot_separation(table, 16, 0.95, tmp_path / "s.png", c5.regime)
    assert c5.regime == "holds at rho 8; reversed at rho 4; absent at rho 2"
    assert caption.endswith(f"(both seed blocks, its claims row): {c5.regime}.")
    assert "CI below 0" not in caption and (tmp_path / "s.png").stat().st_size > 0


def test_c4_counts_a_censored_rho_as_censored_in_width_steps():
    # the minority needs 64 neurons at rho = 8, beyond the grid (4, 16): censored in every seed
    table = rule_table(trend_gap(lambda s: 0.0), width_needed=lambda r, s: 64 if r == 8 else 4)
    c4 = verdicts(table)["C4"]
    at8 = c4.conditions[-1]
    assert (at8["rho"], at8["censored_share"], at8["mstar_pooled"]) == (8.0, 1.0, ">16")
    assert at8["value"] == 2.0  # both grid widths uncovered, against none at rho = 1: no 128
    assert at8["verdict"] == rg.SUPPORTED and c4.verdict == "supported in a regime (rho 8)"
    assert "censored share" in c4.statistic and "never entered as a number" in c4.statistic
