"""Per-condition decisions and regime statements on constructed effects."""

import numpy as np
import pytest

from imbcl.core import regime as rg


def _effects(mean: float, n: int = 10, sd: float = 0.05, seed: int = 0) -> np.ndarray:
    z = np.random.default_rng(seed).standard_normal(n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def test_block_words():
    assert rg.block(_effects(0.5), 0.1)["verdict"] == rg.SUPPORTED
    assert rg.block(_effects(-0.5), 0.1)["verdict"] == rg.REVERSED
    assert rg.block(_effects(0.0, sd=0.01), 0.1)["verdict"] == rg.NOT_SUPPORTED
    assert rg.block(_effects(0.0, n=3, sd=2.0), 0.1)["verdict"] == rg.UNDERPOWERED
    assert rg.block(_effects(0.05, sd=0.1), 0.1)["verdict"] == rg.INCONCLUSIVE


def test_a_single_seed_has_no_interval():
    b = rg.block([0.7], 0.1)
    assert b["ci_low"] is None and b["ci_high"] is None and b["verdict"] == rg.UNDERPOWERED


def test_an_interval_far_from_zero_is_never_underpowered():
    wide_but_far = _effects(3.0, n=4, sd=1.0)
    assert rg.block(wide_but_far, 0.1)["verdict"] == rg.SUPPORTED


def test_the_family_widens_the_intervals():
    x = _effects(0.1, n=6, sd=0.1)
    one, five = rg.block(x, 0.05, family=1), rg.block(x, 0.05, family=5)
    assert five["ci_low"] < one["ci_low"] and five["ci_high"] > one["ci_high"]
    with pytest.raises(ValueError, match="family"):
        rg.block(x, 0.05, family=0)


def test_a_u_shaped_effect_is_a_regime_not_supported():
    shape = {1.0: 0.0, 2.0: 0.0, 5.0: -0.4, 10.0: -0.6, 20.0: 0.3, 50.0: 0.5}
    conds = [
        rg.condition({"rho": r}, _effects(m, seed=1), _effects(m, seed=2), 0.1, family=6)
        for r, m in shape.items()
    ]
    verdict, regime = rg.summarise(conds, ["rho"])
    assert verdict == "supported in a regime (rho 20, 50)"
    assert regime == "holds at rho 20, 50; reversed at rho 5, 10; absent at rho 1, 2"


def test_row_verdicts():
    def row(*means, tested=True):
        conds = [
            rg.condition({"rho": float(i)}, _effects(m), _effects(m, seed=3), 0.1, tested=tested)
            for i, m in enumerate(means, start=2)
        ]
        return rg.summarise(conds, ["rho"])[0]

    assert row(0.5, 0.6) == rg.SUPPORTED
    assert row(-0.5, -0.6) == rg.REVERSED
    assert row(0.0, -0.6) == rg.NOT_SUPPORTED
    assert row(0.5, tested=False) == rg.NOT_TESTED


def test_blocks_that_disagree_do_not_replicate():
    c = rg.condition({"rho": 10.0}, _effects(0.5), _effects(-0.5), 0.1)
    assert c["verdict"] == rg.INCONCLUSIVE and c["reason"].startswith("did not replicate")


def test_crossing_of_a_curve_that_changes_sign():
    vals = {1.0: _effects(-0.5), 10.0: _effects(0.5, seed=4)}
    out = rg.crossing(vals, n_boot=200)
    assert out["rho_star"] == pytest.approx(np.sqrt(10.0), rel=1e-6)  # midway in log rho
    assert out["ci_low"] <= out["rho_star"] <= out["ci_high"]
    flat = rg.crossing({1.0: _effects(0.5), 10.0: _effects(0.6)}, n_boot=50)
    assert flat["rho_star"] is None and flat["crossed_share"] == 0.0


def test_the_last_crossing_is_where_the_sign_holds_to_the_end():
    u = {1.0: _effects(0.2), 10.0: _effects(-0.5, seed=5), 100.0: _effects(0.5, seed=6)}
    assert rg.crossing(u, n_boot=20)["rho_star"] < 10.0  # first: from + to -
    last = rg.crossing(u, n_boot=20, last=True)["rho_star"]
    assert last == pytest.approx(np.sqrt(1000.0), rel=1e-6)  # midway between 10 and 100


def test_verdict_codes_follow_the_word_list():
    assert rg.code("supported") == 0
    assert rg.code("supported in a regime (rho 20, 50)") == rg.VERDICTS.index(rg.IN_A_REGIME)
    assert rg.code("not supported") == rg.VERDICTS.index(rg.NOT_SUPPORTED)
    with pytest.raises(ValueError, match="not a verdict word"):
        rg.code("confirmed")
