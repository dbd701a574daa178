"""The replication rule on constructed per-seed effects, whose verdicts are known."""

import numpy as np
import pytest

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from imbcl.core.verdicts import block_verdict, decide, seeds_needed

RNG = np.random.default_rng(0)


def around(mean: float, sd: float, n: int = 10) -> np.ndarray:
    """n values with exactly this mean and sample s.d."""
    z = RNG.standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


def test_an_effect_in_both_blocks_is_supported():
    d = decide(around(1.0, 0.3), around(0.9, 0.3), min_effect=0.2)
    assert (d.discovery.verdict, d.confirmation.verdict, d.verdict) == (SUPPORTED,) * 3
    assert d.reason == ""


def test_an_effect_in_one_block_only_did_not_replicate():
    d = decide(around(1.0, 0.3), around(0.0, 1.5), min_effect=0.2)
    assert d.discovery.verdict == SUPPORTED and d.confirmation.verdict == INCONCLUSIVE
    assert d.verdict == INCONCLUSIVE
    assert d.reason.startswith("did not replicate")


def test_both_blocks_inside_the_margin_are_not_supported():
    d = decide(around(0.01, 0.05), around(-0.02, 0.05), min_effect=0.2)
    assert d.verdict == NOT_SUPPORTED
    assert -0.2 < d.discovery.equivalence.low and d.discovery.equivalence.high < 0.2


def test_a_wide_interval_covering_zero_is_inconclusive_not_a_negative():
    block = block_verdict(around(0.05, 2.0), min_effect=0.2)
    assert block.ci.low < 0 < block.ci.high
    assert block.verdict == INCONCLUSIVE
    assert decide(around(0.05, 2.0), around(-0.05, 2.0), 0.2).verdict == INCONCLUSIVE


def test_a_reversed_effect_in_both_blocks_is_not_supported():
    d = decide(around(-1.0, 0.3), around(-0.8, 0.3), min_effect=0.2)
    assert d.verdict == NOT_SUPPORTED


def test_opposite_decisions_did_not_replicate():
    d = decide(around(1.0, 0.3), around(-1.0, 0.3), min_effect=0.2)
    assert d.verdict == INCONCLUSIVE and "did not replicate" in d.reason


def test_too_few_seeds_for_the_precision_are_reported_underpowered():
    d = decide(around(1.0, 0.3, n=4), around(1.0, 0.3, n=4), 0.2, seeds_required=20)
    assert d.verdict == INCONCLUSIVE and d.reason.startswith("underpowered")


@pytest.mark.parametrize(("sd", "min_effect"), [(0.19, 0.2), (1.4, 0.5), (0.05, 0.2)])
def test_seeds_needed_reach_half_the_margin(sd, min_effect):
    from scipy import stats

    n = seeds_needed(sd, min_effect)
    assert stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) <= min_effect / 2
    if n > 2:  # and one seed fewer would not
        assert stats.t.ppf(0.975, n - 2) * sd / np.sqrt(n - 1) > min_effect / 2


def test_min_effect_must_be_positive():
    with pytest.raises(ValueError, match="min_effect"):
        block_verdict([1.0, 2.0], 0.0)
