"""The forward-mask C6 study: the rule on constructed per-seed effects, the design of cells,
and a tiny end-to-end run of the study."""

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_params
from imbcl.core.blocks import SPACED, block_seeds
from imbcl.core.verdicts import decide
from imbcl.pruning import claims as fc
from imbcl.pruning.forward import cells, design, run_table, setting
from imbcl.pruning.params import ForwardEffects, PruneForwardStage
from imbcl.pruning.sensitivity import cell_effects
from imbcl.pruning.study import study
from imbcl.synthetic.params import (
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
)

MIN = ForwardEffects().model_dump()
SD = {k: 0.01 for k in MIN}


def effects(values: dict[tuple[str, str], list[float]], seeds: list[int]) -> pd.DataFrame:
    rows = []
    for (stat, control), vals in values.items():
        for seed, v in zip(seeds, vals, strict=True):
            rows.append({"seed": seed, "statistic": stat, "control": control, "effect": v})
    return pd.DataFrame(rows)


def table(dense: list[float], random: list[float], seeds: list[int]) -> pd.DataFrame:
    zero = [0.0] * len(seeds)
    vals = {(s, c): zero for s in fc.STATISTICS for c in fc.CONTROLS}
    vals[("slope", "dense")], vals[("slope", "random")] = dense, random
    return effects(vals, seeds)


def verdict(dense: list[float], random: list[float]) -> str:
    d, c = block_seeds(0, len(dense), SPACED)
    dec = fc.decisions(table(dense, random, d), table(dense, random, c), MIN, SD)
    return fc.combine(dec[("slope", "dense")], dec[("slope", "random")])[0]


UP = [0.50, 0.55, 0.60, 0.52, 0.58, 0.54]
NONE = [0.01, -0.01, 0.0, 0.005, -0.005, 0.0]
WIDE = [2.0, -1.5, 1.0, -2.0, 1.5, -0.5]


def test_supported_only_against_both_controls() -> None:
    assert verdict(UP, UP) == "supported"


def test_beating_dense_but_not_random_is_not_supported() -> None:
    # shown absent against random: the effect is the mask's sparsity, not its choice
    assert verdict(UP, NONE) == "not supported"


def test_beating_dense_with_random_unresolved_is_inconclusive() -> None:
    assert verdict(UP, WIDE) == "inconclusive"


def test_absent_against_dense_is_not_supported() -> None:
    assert verdict(NONE, UP) == "not supported"


def test_combine_uses_decide() -> None:
    a, b = decide(UP, UP, 0.25), decide(WIDE, WIDE, 0.25)
    assert fc.combine(a, a)[0] == "supported"
    assert fc.combine(a, b)[0] == "inconclusive"


def test_design_has_no_duplicates_and_controls_in_every_cell() -> None:
    arms = design([1, 10, 10.0], [0.1, 0.5, 0.5], [1, 50], ["neuron", "entry"])
    assert len(arms) == len(set(arms))
    for rho, alpha, every, unit in cells(arms):
        here = [a for a in arms if a.rho == rho and (a.arm == "dense" or a.alpha == alpha)]
        kinds = {a.arm for a in here if a.arm == "dense" or (a.every, a.unit) == (every, unit)}
        assert kinds == {"dense", "magnitude", "random"}
    assert len(cells(arms)) == 2 * 2 * 2 * 2
    masks = [a.forward_mask() for a in arms if a.arm != "dense"]
    assert {m.method for m in masks if m} == {"magnitude", "random"}


def test_blocks_are_disjoint() -> None:
    d, c = block_seeds(3, 5, SPACED)
    assert not set(d) & set(c) and len(d) == len(c) == 5


def test_slope_recovers_a_line() -> None:
    x = np.log([1.0, 10.0, 50.0])
    assert fc.slope(x, 2 - 0.7 * x) == pytest.approx(-0.7)


def test_tiny_end_to_end() -> None:
    small = SmallParams(dim=6, n_features=4, n_majority=2, tokens=2, steps=12, batch=8)
    s = setting(DataParams(eval_samples=64), ModelParams(), TrainParams(), small, 4, 0, 0.7, 0.5, 4)
    arms = design([1.0, 10.0], [0.5], [2], ["neuron"], masked_grad="dense", dropout=True)
    hp = HealthParams(eval_samples=64, heldout_batches=1)
    runs = run_table(arms, [0, 1, 2, 3], s, health=(hp, 0))
    assert len(runs) == 4 * 4 * 2 and np.isfinite(runs["log_ratio"]).all()
    assert runs["health_gap_closed"].notna().all() and runs["healthy"].dtype == bool
    eff = fc.seed_effects(runs)
    assert set(eff.statistic) == set(fc.STATISTICS) and set(eff.control) == set(fc.CONTROLS)
    dec = fc.decisions(eff, eff, MIN, SD)
    conds = fc.conditions(runs, [0, 1], [2, 3], 0.25, 0.1)
    row = fc.c6_row(dec, eff, "slope", MIN, SD, "tiny", {}, conds)
    assert row["id"] == "C6" and [c["rho"] for c in row["conditions"]] == [10.0]
    assert row["conditions"][0]["premise"]["holds"] == (row["verdict"] != "not tested as intended")
    assert "Theorem 3.2" in row["prediction"] and row["regime"]
    sens = cell_effects(runs[runs.arm != "dropout"])
    assert set(sens.control) == {"dense", "random"} and len(sens) == 2 * 2


def constructed(dense_lr: dict[float, float], gain: dict[float, list[float]]) -> pd.DataFrame:
    """Runs whose dense log_ratio is dense_lr[rho] and whose magnitude arm beats the
    controls by gain[rho][seed] (0 at rho 1)."""
    rows = []
    for rho, base in dense_lr.items():
        for seed, g in enumerate(gain[rho]):
            for arm in ("dense", "magnitude", "random", "dropout"):
                lr = base + (g if arm == "magnitude" else 0.0) + 0.01 * seed
                rows.append({"rho": rho, "arm": arm, "seed": seed, "log_ratio": lr})
    return pd.DataFrame(rows)


def test_c6_is_decided_only_where_the_dense_run_shows_the_premise() -> None:
    up = [0.5, 0.6, 0.55, 0.52, 0.58, 0.57, 0.51, 0.6]
    runs = constructed(
        {1.0: 0.0, 10.0: 0.4, 50.0: -1.0},  # rho 10: minority stronger (no premise)
        {1.0: [0.0] * 8, 10.0: up, 50.0: up},
    )
    conds = fc.conditions(runs, [0, 1, 2, 3], [4, 5, 6, 7], 0.25, 0.1)
    by = {c["rho"]: c for c in conds}
    assert by[10.0]["verdict"] == "not tested as intended"
    assert "not below -0.1" in by[10.0]["premise"]["why"]
    assert by[50.0]["premise"]["holds"] and by[50.0]["verdict"] == "supported"
    assert by[50.0]["value"] == pytest.approx(np.mean(up))
    assert by[50.0]["vs_dropout"]["verdict"] == "supported"
    eff = fc.seed_effects(runs.assign(growth=0.0, specialists=0.0, sign=0.0))
    row = fc.c6_row(fc.decisions(eff, eff, MIN, SD), eff, "slope", MIN, SD, "c", {}, conds)
    assert row["verdict"] == "supported"  # at the one condition tested
    assert row["regime"] == "holds at rho 50; not tested at rho 10"


def test_no_premise_anywhere_is_not_tested() -> None:
    gain = {1.0: [0.0] * 4, 10.0: [1.0] * 4, 50.0: [1.0] * 4}
    runs = constructed({1.0: 0.0, 10.0: 0.3, 50.0: 0.5}, gain)
    conds = fc.conditions(runs, [0, 1], [2, 3], 0.25, 0.1)
    assert {c["verdict"] for c in conds} == {"not tested as intended"}


def test_tiny_study_writes_conditions_mechanism_and_health(tmp_path) -> None:
    raw = tiny_params()
    raw["prune"].update(every=10, rhos=[1.0, 10.0])
    res = study(PruneForwardStage.parse(raw), tmp_path / "f.png")
    (row,) = res.part.claims
    assert [c["rho"] for c in row["conditions"]] == [10.0]
    assert set(row["conditions"][0]) >= {"rho", "value", "ci_low", "ci_high", "verdict", "premise"}
    mech = row["mechanism"]["per_rho"]["magnitude"]
    assert [m["rho"] for m in mech] == [1.0, 10.0] and all(np.isfinite(m["value"]) for m in mech)
    assert set(res.mechanism.step) == {0, 20} and set(res.mechanism.arm) == {
        "magnitude",
        "random",
        "dropout",
    }
    assert row["health"]["healthy_share"] == 1.0 and "a seed is healthy" in row["health"]["rule"]
    assert "Per condition" in res.table_md and (tmp_path / "f.png").exists()
