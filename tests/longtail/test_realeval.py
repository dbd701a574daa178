"""Probe, kNN, group scores, the long-tail table and the C7 decision rule."""

import numpy as np
import pandas as pd
import pytest

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from imbcl.core.params import replace
from imbcl.longtail import claims
from imbcl.longtail import evaluate as realeval
from imbcl.longtail.params import RealParams

GROUPS = np.array([0, 0, 1, 1, 2, 2])  # six classes: two per group


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(6), n)
    return np.eye(6)[y] * 3 + 0.3 * rng.standard_normal((len(y), 6)), y


def test_probe_and_knn_separate_clean_blobs():
    f_fit, y_fit = _blobs(10, 0)
    f_test, y_test = _blobs(5, 1)
    assert (realeval.linear_probe(f_fit, y_fit, f_test, 1.0) == y_test).mean() == 1.0
    assert (realeval.knn_predict(f_fit, y_fit, f_test, 5, 0.07, 6) == y_test).mean() == 1.0


def test_group_scores():
    y = np.repeat(np.arange(6), 2)
    pred = y.copy()
    pred[y >= 4] = 0  # every few-shot image wrong
    pred[y == 2] = 5  # class 2 (medium) wrong
    s = realeval.group_scores(pred, y, GROUPS)
    assert s["many"] == 1.0 and s["medium"] == 0.5 and s["few"] == 0.0
    assert s["overall"] == pytest.approx(6 / 12)
    assert s["gap"] == 1.0
    assert s["balancedness"] == pytest.approx(np.std([1.0, 0.5, 0.0]))


def _rows(few_gain: list[float], gap_change: list[float], over_random: list[float]):
    rows = []
    for seed, (g, c, r) in enumerate(zip(few_gain, gap_change, over_random, strict=True)):
        base = {
            "probe_overall": 0.8,
            "probe_many": 0.9,
            "probe_medium": 0.8,
            "knn_overall": 0.7,
            "knn_few": 0.5,
            "probe_balancedness": 0.1,
        }
        dense = {**base, "probe_few": 0.6, "probe_gap": 0.3}
        pruned = {**base, "probe_few": 0.6 + g, "probe_gap": 0.3 + c}
        rand = {**base, "probe_few": 0.6 + g - r, "probe_gap": 0.3}
        for variant, vals in (
            ("dense", dense),
            ("pruned", pruned),
            ("random", rand),
            ("sdclr", dense),
        ):
            rows.append({"variant": variant, "seed": seed, **vals})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "gain, gap, over_random, verdict",
    [
        ([0.05, 0.06, 0.07], [-0.05, -0.06, -0.04], [0.03, 0.04, 0.05], SUPPORTED),
        ([0.05, 0.06, 0.07], [-0.05, -0.06, -0.04], [0.03, -0.04, 0.0], INCONCLUSIVE),
        ([-0.02, -0.01, -0.03], [0.01, 0.02, 0.0], [0.0, 0.0, 0.01], NOT_SUPPORTED),
        ([0.05, -0.04, 0.02], [-0.01, 0.02, -0.02], [0.01, 0.0, 0.0], INCONCLUSIVE),
    ],
)
def test_c7_rule(gain, gap, over_random, verdict):
    claim = claims.claim_c7(_rows(gain, gap, over_random), RealParams(), "digits")
    assert claim.verdict == verdict
    assert claim.value == pytest.approx(np.mean(gain))
    assert claim.ci_low <= claim.value <= claim.ci_high


def test_c7_with_one_seed_is_inconclusive():
    claim = claims.claim_c7(_rows([0.1], [-0.1], [0.1]), replace(RealParams(), seeds=1), "digits")
    assert claim.verdict == INCONCLUSIVE


def test_table_formats_mean_and_std():
    rows = _rows([0.05, 0.06, 0.07], [-0.05, -0.06, -0.04], [0.03, 0.04, 0.05])
    table = claims.summary(rows)
    table.insert(1, "seeds", 3)
    assert table.variant.tolist() == ["dense", "pruned", "random", "sdclr"]
    fmt = claims.formatted(table)
    assert fmt.loc[1, "few"] == "66.0 ± 1.0"
    assert list(fmt.columns[2:6]) == ["overall", "many", "medium", "few"]
    tex = claims.latex(table, RealParams())
    assert "66.0 ± 1.0" in tex and r"\toprule" in tex and r"\bottomrule" in tex
    assert r"accuracy (\%) on digits-LT ($\rho = 10$)" in tex


def test_table_counts_seeds_and_metrics_are_the_means():
    rows = _rows([0.05, 0.06, 0.07], [-0.05, -0.06, -0.04], [0.03, 0.04, 0.05])
    rows = rows[~((rows.variant == "sdclr") & (rows.seed == 2))]  # one sdclr run missing
    table = claims.table(rows)
    assert table.columns[:2].tolist() == ["variant", "seeds"]
    assert table.seeds.tolist() == [3, 3, 3, 2]
    m = claims.metrics(table)
    assert m["pruned.probe_few"] == pytest.approx(0.66)
    assert m["dense.probe_gap"] == pytest.approx(0.3)
    assert set(m) == {f"{v}.{c}" for v in claims.VARIANT_LABELS for c in rows.columns[2:]}
