"""The replicated rules of C1 and C2 on constructed per-run tables whose answers are known."""

import pandas as pd
import pytest

from imbcl.core.blocks import UNHEALTHY
from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from imbcl.core.params import replace
from imbcl.core.verdicts import DID_NOT_REPLICATE, UNDERPOWERED
from imbcl.dynamics.claims import Blocks, claim_c1, claim_c2, claim_rows
from imbcl.synthetic.health import mark
from imbcl.synthetic.params import AnalyzeParams, ClaimRule, HealthParams

N = 4
RULE = ClaimRule(min_effect=0.2, pilot_sd=0.03)
CFG = replace(AnalyzeParams(), c1=RULE, c2=RULE)
BLOCKS = Blocks(base=10, per_block=N)
HP = HealthParams()


def runs(effect, loss_ratio: float = 0.5) -> pd.DataFrame:
    """Seeds 10..17 at rho = 10 and rho = 1: the imbalanced majority - minority gaps exceed the
    balanced ones by effect(seed) (stage-1 rate and final strength), plus a seed wobble."""
    rows = []
    for s in range(10, 10 + 2 * N):
        wobble = 0.01 * ((s % 3) - 1)
        for rho in (10.0, 1.0):
            gap = effect(s) + wobble if rho > 1 else 0.0
            rows.append(
                {
                    "imbalance_ratio": rho,
                    "seed": s,
                    "stage_gain": 0.8,
                    "majority_rate_s1": 2.0 + gap,
                    "minority_rate_s1": 2.0,
                    "noise_rate_s1": -0.1,
                    "majority_final": 1.0 + gap,
                    "minority_final": 1.0,
                    "t_learn_majority": 100,
                    "t_learn_minority": 200 if rho > 1 else 100,
                    "loss_ratio": loss_ratio,
                    "oracle_ratio": 0.2,
                    "gap_closed": (1 - loss_ratio) / (1 - 0.2),
                    "probe_majority_sign_accuracy": 0.99,
                    "nonzero_share": 0.5,
                }
            )
    return mark(pd.DataFrame(rows), HP)


def both(table: pd.DataFrame, cfg: AnalyzeParams = CFG):
    return [f(table, 10.0, 1.0, cfg, HP, BLOCKS) for f in (claim_c1, claim_c2)]


def test_supported_when_both_blocks_show_the_gap_over_the_control():
    c1, c2 = both(runs(lambda s: 0.5))
    assert c1.verdict == c2.verdict == SUPPORTED
    assert c1.value == pytest.approx(0.5, abs=0.01)
    assert c1.discovery["seeds"] == c1.confirmation["seeds"] == N
    assert "measured" in c1.prediction and "= -1" in c2.prediction
    assert c2.health["healthy_seeds"] == 2 * N


def test_not_supported_when_the_gap_equals_the_control():
    assert [c.verdict for c in both(runs(lambda s: 0.0))] == [NOT_SUPPORTED] * 2


def test_not_supported_when_reversed():
    assert [c.verdict for c in both(runs(lambda s: -0.5))] == [NOT_SUPPORTED] * 2


def test_inconclusive_when_the_confirmation_block_disagrees():
    for c in both(runs(lambda s: 0.5 if s < 10 + N else 0.0)):
        assert c.verdict == INCONCLUSIVE and c.reason.startswith(DID_NOT_REPLICATE)


def test_underpowered_when_the_pilot_asks_for_more_seeds():
    noisy = ClaimRule(min_effect=0.2, pilot_sd=1.0)
    for c in both(runs(lambda s: 0.5), replace(CFG, c1=noisy, c2=noisy)):
        assert c.verdict == INCONCLUSIVE and c.reason.startswith(UNDERPOWERED)


def test_unhealthy_runs_are_not_decided():
    for c in both(runs(lambda s: 0.5, loss_ratio=1.0)):
        assert c.verdict == INCONCLUSIVE and c.reason.startswith(UNHEALTHY)


def test_a_ratio_equal_to_the_control_is_an_a_a_run_left_undecided():
    """Issue 15, case 6: data.imbalance_ratio = train.control_ratio. The same runs play both
    roles; their paired difference is 0 by construction, which must not read as "effect shown
    absent" (not supported): both claims are inconclusive, naming the two keys."""
    table = runs(lambda s: 0.5)
    balanced_only = table[table.imbalance_ratio == 1.0]
    rows = claim_rows(balanced_only, 1.0, 1.0, CFG, HP, BLOCKS)
    assert [r.id for r in rows] == ["C1", "C2"]
    for r in rows:
        assert r.verdict == INCONCLUSIVE
        assert "data.imbalance_ratio = train.control_ratio = 1" in r.reason
        assert "nan" not in r.prediction  # a slope on log rho at rho = 1: not measured
    # and a real imbalance is still decided by the same function
    assert [r.verdict for r in claim_rows(table, 10.0, 1.0, CFG, HP, BLOCKS)] == [SUPPORTED] * 2
