"""The per-condition rules of C1 and C2 on constructed per-run tables whose answers are known."""

import numpy as np
import pandas as pd
import pytest

from imbcl.core import regime as rg
from imbcl.core.params import replace
from imbcl.dynamics.claims import NOT_LEARNED, Blocks, claim_c1, claim_c2, claim_rows
from imbcl.synthetic.health_rule import mark
from imbcl.synthetic.params import AnalyzeParams, ClaimRule, HealthParams

N = 4
RULE = ClaimRule(min_effect=0.2, pilot_sd=0.03)
CFG = replace(AnalyzeParams(), c1=RULE, c2=RULE)
BLOCKS = Blocks(base=10, per_block=N)
HP = HealthParams()


def runs(
    effect,
    loss_ratio: float = 0.5,
    minority_final: float = 1.0,
    segments: int = 3,
    plateau: float = 0.01,
) -> pd.DataFrame:
    """Seeds 10..17 at rho = 10 and rho = 1: the imbalanced majority - minority gaps exceed the
    balanced ones by effect(seed) (stage-1 rate and final strength), plus a seed wobble. At
    rho = 10 the minority ends at minority_final - gap (its curve's peak)."""
    rows = []
    for s in range(10, 10 + 2 * N):
        wobble = 0.01 * ((s % 3) - 1)
        for rho in (10.0, 1.0):
            gap = effect(s) + wobble if rho > 1 else 0.0
            mino = minority_final if rho > 1 else 1.0
            rows.append(
                {
                    "imbalance_ratio": rho,
                    "seed": s,
                    "segments": segments,
                    "null_segments": 1,
                    "stage1_end": 400,
                    "stage2_end": 900,
                    "majority_rate_s1": 2.0 + gap,
                    "minority_rate_s1": 2.0,
                    "noise_rate_s1": -0.1,
                    "majority_initial": 0.01,
                    "minority_initial": 0.01,
                    "majority_final": mino + gap,
                    "minority_final": mino,
                    "majority_peak": mino + gap,
                    "minority_peak": mino,
                    "majority_plateau_change": 0.01,
                    "minority_plateau_change": plateau,
                    "noise_plateau_change": 0.01,
                    "final_step": 2000,
                    "t_learn_majority": 100.0,
                    "t_learn_minority": (200.0 if rho > 1 else 100.0)
                    if mino >= CFG.learned_strength
                    else np.nan,
                    "loss_ratio": loss_ratio,
                    "oracle_ratio": 0.2,
                    "gap_closed": (1 - loss_ratio) / (1 - 0.2),
                    "oracle_majority_ratio": 0.4,
                    "gap_closed_majority": (1 - loss_ratio) / (1 - 0.4),
                    "probe_majority_sign_accuracy": 0.99,
                    "probe_minority_sign_accuracy": 0.99 if mino >= 0.1 else 0.5,
                    "nonzero_share": 0.5,
                }
            )
    return mark(pd.DataFrame(rows), HP)


def both(table: pd.DataFrame, cfg: AnalyzeParams = CFG):
    return [f(table, 10.0, 1.0, cfg, HP, BLOCKS) for f in (claim_c1, claim_c2)]


def test_supported_when_both_blocks_show_the_gap_over_the_control():
    (c1, x1), (c2, x2) = both(runs(lambda s: 0.5))
    assert c1.verdict == c2.verdict == rg.SUPPORTED
    assert x1["verdict_ungated"] == x2["verdict_ungated"] == rg.SUPPORTED
    assert c1.value == pytest.approx(0.5, abs=0.01)
    assert [c["rho"] for c in x2["conditions"]] == [10.0]
    assert x2["regime"].startswith("holds at rho 10")
    assert c2.health["healthy_seeds"] == 2 * N
    assert "minority learned in every run" in x2["conditions"][0]["outcome"]


def test_absent_and_reversed_effects():
    assert [c.verdict for c, _ in both(runs(lambda s: 0.0))] == [rg.NOT_SUPPORTED] * 2
    assert [c.verdict for c, _ in both(runs(lambda s: -0.5))] == [rg.REVERSED] * 2


def test_blocks_that_disagree_do_not_replicate():
    for c, _ in both(runs(lambda s: 0.5 if s < 10 + N else 0.0)):
        assert c.verdict == rg.INCONCLUSIVE and c.reason.startswith("did not replicate")


def test_a_constant_minority_curve_is_not_learned_an_outcome_not_ill_health():
    """The minority stays at 0.02 (below analyze.learned_strength): C2 holds in its extreme
    form, its lag is censored, and the runs are healthy against the majority oracle."""
    table = runs(lambda s: 0.7, minority_final=0.02)
    _, (c2, x2) = both(table)
    cond = x2["conditions"][0]
    assert c2.verdict == rg.SUPPORTED and x2["verdict_ungated"] == rg.SUPPORTED
    assert cond["outcome"] == f"{NOT_LEARNED} ({2 * N} of {2 * N} runs)"
    assert cond["lag"] == "not learned (censored at step 2000)"
    assert "steps later" not in c2.statistic and NOT_LEARNED in x2["regime"]
    assert bool(table.healthy.all())


def test_unhealthy_seeds_leave_the_condition_untested_but_the_ungated_verdict_stands():
    for c, x in both(runs(lambda s: 0.5, loss_ratio=1.0)):
        assert c.verdict == rg.NOT_TESTED and c.reason.startswith("encoder unhealthy")
        assert x["verdict_ungated"] == rg.SUPPORTED


def test_c1_needs_three_stages_chosen_by_the_penalty():
    (two, x), _ = both(runs(lambda s: 0.5, segments=2))
    assert two.verdict == rg.NOT_SUPPORTED
    assert x["conditions"][0]["growth"] == rg.SUPPORTED
    stages = x["conditions"][0]["stages"]
    assert stages["segments"] == [2] * 2 * N and stages["null_segments"] == [1] * 2 * N
    assert stages["theory_T1_ours"] == pytest.approx(np.log(100) / 0.0025)


def test_a_count_at_the_search_cap_is_not_identified():
    (c1, x), _ = both(runs(lambda s: 0.5, segments=CFG.max_stages))
    assert c1.verdict == rg.INCONCLUSIVE == x["verdict_ungated"]
    assert "stage count not identified" in x["conditions"][0]["reason"]


def test_final_values_are_converged_or_dated():
    _, (_, flat) = both(runs(lambda s: 0.5))
    _, (_, moving) = both(runs(lambda s: 0.5, plateau=0.3))
    assert flat["conditions"][0]["final_values"].startswith("converged")
    assert moving["conditions"][0]["final_values"].startswith(
        "at step 2000 (not converged: the minority curve"
    )


def test_a_ratio_equal_to_the_control_is_an_a_a_run_left_undecided():
    """data.imbalance_ratio = train.control_ratio: the same runs play both roles; their
    paired difference is 0 by construction, which must not read as "effect shown absent"."""
    table = runs(lambda s: 0.5)
    balanced_only = table[table.imbalance_ratio == 1.0]
    rows = claim_rows(balanced_only, 1.0, 1.0, CFG, HP, BLOCKS)
    assert [r.id for r, _ in rows] == ["C1", "C2"]
    for r, x in rows:
        assert r.verdict == rg.INCONCLUSIVE == x["verdict_ungated"]
        assert "data.imbalance_ratio = train.control_ratio = 1" in r.reason
    assert [r.verdict for r, _ in claim_rows(table, 10.0, 1.0, CFG, HP, BLOCKS)] == [
        rg.SUPPORTED
    ] * 2


def test_a_condition_names_the_bias_and_ramp_its_runs_trained_with():
    table = runs(lambda s: 0.7, minority_final=0.02)
    setting = {"bias": 0.3, "ramp": 1000}
    (_, x1), (_, x2) = claim_rows(table, 10.0, 1.0, CFG, HP, BLOCKS, setting)
    assert x2["conditions"][0]["bias"] == 0.3 and x2["conditions"][0]["ramp"] == 1000
    assert x2["regime"].startswith("holds at (rho 10, bias 0.3, ramp 1000) (rho 10: minority")
