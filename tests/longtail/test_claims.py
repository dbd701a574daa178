"""Probe, kNN, group scores, the long-tail table and the C7 decision rule."""

import numpy as np
import pandas as pd
import pytest

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from imbcl.longtail import claims, results
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


SCORES = ("overall", "many", "medium", "few", "balancedness", "gap", "d20")


def _scores(few: float, overall: float = 0.9, d20: float = 0.1) -> dict:
    base = dict.fromkeys(SCORES, 0.9) | {"few": few, "overall": overall, "d20": d20}
    return {f"{k}_{s}": v for k in ("probe", "knn") for s, v in base.items()}


def _rows(gain: list[float], over_random: float = 0.0, health: float = 0.1) -> pd.DataFrame:
    """Per-seed scores: pruned - dense few accuracy `gain[seed]` at rho 10; the dense
    encoder `health` above its untrained initialisation; a balanced control at rho 1."""
    nan = float("nan")
    rows = [{"rho": nan, "variant": "raw", "seed": 0} | _scores(0.9)]
    for seed, g in enumerate(gain):
        rows.append({"rho": nan, "variant": "untrained", "seed": seed} | _scores(0.5, 0.8))
        dense = _scores(0.6, 0.8 + health)
        runs = {
            "dense": dense,
            "pruned": _scores(0.6 + g, 0.8 + health, d20=0.1 - g),
            "random": _scores(0.6 + g - over_random, 0.8 + health),
            "sdclr": dense,
        }
        for variant, vals in runs.items():
            rows.append({"rho": 10.0, "variant": variant, "seed": seed} | vals)
        for variant in ("dense", "pruned"):
            rows.append({"rho": 1.0, "variant": variant, "seed": seed} | dense)
    return pd.DataFrame(rows)


CFG = RealParams()  # seeds_per_block 3: discovery seeds 0..2, confirmation 3..5


@pytest.mark.parametrize(
    "gain, verdict, reason",
    [
        ([0.05, 0.06, 0.07, 0.06, 0.05, 0.07], SUPPORTED, ""),
        ([0.0, 0.002, -0.001, 0.001, 0.0, -0.002], NOT_SUPPORTED, ""),  # shown absent
        ([-0.05, -0.06, -0.07, -0.06, -0.05, -0.07], NOT_SUPPORTED, ""),  # reversed
        ([0.05, 0.06, 0.07, 0.0, 0.002, -0.001], INCONCLUSIVE, "did not replicate"),
        ([0.1, -0.1, 0.05, -0.05, 0.08, -0.02], INCONCLUSIVE, "neither block decides"),
    ],
)
def test_c7_rule_on_two_blocks(gain, verdict, reason):
    claim = claims.claim_c7(_rows(gain), CFG, seed=0)
    assert claim.verdict == verdict and claim.reason.startswith(reason)
    assert claim.value == pytest.approx(np.mean(gain))
    assert claim.discovery["value"] == pytest.approx(np.mean(gain[:3]))
    assert claim.confirmation["value"] == pytest.approx(np.mean(gain[3:]))
    assert claim.seeds_per_block == 3 and claim.min_effect == CFG.min_effect
    assert claim.health["healthy"] is True


def test_c7_is_inconclusive_when_the_encoder_is_unhealthy():
    gain = [0.05, 0.06, 0.07, 0.06, 0.05, 0.07]  # supported, were the encoder healthy
    claim = claims.claim_c7(_rows(gain, health=0.02), CFG, seed=0)
    assert claim.verdict == INCONCLUSIVE
    assert claim.reason.startswith("encoder unhealthy: dense - untrained probe accuracy 0.020")
    assert claim.health["healthy"] is False
    assert claim.health["dense_minus_untrained"] == pytest.approx(0.02)
    assert claim.discovery["verdict"] == SUPPORTED  # the blocks' own evidence is kept


def _ladder(cost10: float, cost50: float, gain: list[float]) -> pd.DataFrame:
    """Dense few accuracy 0.7 at rho 1, 0.7 - cost at rho 10 and 50; pruned - dense = gain."""
    rows = []
    for seed, g in enumerate(gain):
        rows.append({"rho": float("nan"), "variant": "untrained", "seed": seed} | _scores(0.5, 0.5))
        for rho, cost in ((1.0, 0.0), (10.0, cost10), (50.0, cost50)):
            for variant, extra in (("dense", 0.0), ("pruned", g), ("random", 0.0), ("sdclr", 0.0)):
                few = 0.7 - cost + extra + 0.001 * seed
                rows.append({"rho": rho, "variant": variant, "seed": seed} | _scores(few))
    return pd.DataFrame(rows)


def test_c7_is_decided_only_where_imbalance_costs_the_dense_encoder():
    cfg = RealParams(imbalance_ratio=10.0, extra_ratios=[1.0, 50.0])
    gain = [0.05, 0.06, 0.07, 0.06, 0.05, 0.07]
    rows = _ladder(0.01, 0.2, gain)  # rho 10 costs 1 point (< min_effect 3), rho 50 20
    row = claims.c7_row(claims.claim_c7(rows, cfg, seed=0), rows, cfg, seed=0)
    by = {c["rho"]: c for c in row["conditions"]}
    assert set(by) == {10.0, 50.0}
    assert by[10.0]["verdict"] == "not tested as intended"
    assert by[10.0]["reason"].startswith("not testable on these data")
    assert by[10.0]["precondition"]["dense_few_cost"] == pytest.approx(0.01)
    assert by[50.0]["verdict"] == SUPPORTED and by[50.0]["precondition"]["holds"]
    assert row["verdict"] == SUPPORTED and row["regime"] == "holds at rho 50; not tested at rho 10"
    none = _ladder(0.01, 0.0, gain)
    row = claims.c7_row(claims.claim_c7(none, cfg, seed=0), none, cfg, seed=0)
    assert row["verdict"] == "not tested as intended" and "at any rho" in row["reason"]


def test_c7_blocks_follow_the_base_seed():
    gain = [0.05, 0.06, 0.07, 0.0, 0.002, -0.001]
    rows = _rows(gain)
    rows["seed"] += 10  # a run with seed: 10
    claim = claims.claim_c7(rows, CFG, seed=10)
    assert claim.discovery["value"] == pytest.approx(0.06)


def test_c7_reports_the_controls_and_the_balanced_rho():
    claim = claims.claim_c7(_rows([0.05, 0.06, 0.07, 0.06, 0.05, 0.07], 0.02), CFG, seed=0)
    assert "random control - dense few" in claim.control
    assert "pruned - random few 0.02" in claim.control
    assert "rho = 1: pruned - dense few 0 [0, 0]" in claim.control
    assert "Delta20 change pruned - dense = -0.06" in claim.statistic


def test_table_has_baseline_rows_and_formats_mean_and_std():
    rows = _rows([0.05, 0.06, 0.07, 0.06, 0.05, 0.07])
    table = results.table(rows, CFG)
    assert list(zip(table.rho, table.variant, strict=True)) == [
        ("–", "raw"),
        ("–", "untrained"),
        ("1", "dense"),
        ("1", "pruned"),
        ("10", "dense"),
        ("10", "pruned"),
        ("10", "random"),
        ("10", "sdclr"),
    ]
    assert table.seeds.tolist() == [1, 6, 6, 6, 6, 6, 6, 6]
    fmt = results.formatted(table, CFG)
    assert fmt.loc[5, "few"] == "66.0 ± 0.9"
    assert fmt.loc[1, "encoder"] == "untrained ViT" and fmt.loc[0, "overall"] == "90.0 ± 0.0"
    assert list(fmt.columns[:7]) == ["rho", "encoder", "seeds", "overall", "many", "medium", "few"]
    tex = results.latex(table, CFG)
    assert "66.0 ± 0.9" in tex and r"\toprule" in tex
    assert "longtail_paper.md" in results.markdown(table, CFG)


def test_metrics_are_the_means_and_carry_c7():
    rows = _rows([0.05, 0.06, 0.07, 0.06, 0.05, 0.07])
    table = results.table(rows, CFG)
    m = results.metrics(table, claims.claim_c7(rows, CFG, seed=0))
    assert m["rho10.pruned.probe_few"] == pytest.approx(0.66)
    assert m["baseline.untrained.probe_overall"] == pytest.approx(0.8)
    assert m["C7.health.dense_minus_untrained"] == pytest.approx(0.1)
    assert {"C7.value", "C7.discovery.value", "C7.confirmation.ci_low"} <= set(m)


def test_the_paper_table_sets_the_papers_rows_beside_ours():
    rows = _rows([0.05, 0.06, 0.07, 0.06, 0.05, 0.07])
    md = results.paper_table(results.table(rows, CFG), CFG)
    assert "| paper (reported) | CIFAR-10-LT" in md and "79.25 → 84.92" in md
    assert "| this pipeline    | digits-LT" in md
    assert "other data" in md
    assert md.count("paper (reported)") == len(results.PAPER_ROWS)


def test_delta20_compares_the_most_and_least_frequent_fifth():
    from imbcl.longtail import splits

    counts = np.array([100, 77, 59, 46, 35, 27, 21, 16, 12, 10])
    top, bottom = splits.top_bottom(counts)
    assert top.tolist() == [0, 1] and bottom.tolist() == [8, 9]
    y = np.repeat(np.arange(10), 2)
    pred = y.copy()
    pred[y == 9] = 0  # class 9 all wrong
    s = realeval.group_scores(pred, y, np.repeat([0, 1, 2], [4, 3, 3])[:10], top, bottom)
    assert s["d20"] == pytest.approx(0.5)
