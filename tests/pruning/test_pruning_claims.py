"""C6 and the pruning summaries on constructed tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imbcl.core.claims import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Interval
from imbcl.pruning.claims import (
    c6_verdict,
    claim_c6,
    effects,
    metrics,
    regime,
    select,
    variants_table,
)
from imbcl.pruning.design import SWEEP, candidate, design
from imbcl.pruning.measures import MEASURES
from imbcl.pruning.params import AblationParams

ABLATION = AblationParams(sweep_at=[200], sweep_ratios=[0.5, 0.8], sweep_bias=["shared", "noise"])
COLUMNS = (
    *MEASURES,
    "probe_majority_auc",
    "probe_minority_auc",
    "probe_gap_auc",
    "probe_majority_accuracy",
    "probe_minority_accuracy",
    "active_fraction",
)
JITTER = np.array([0.02, -0.01, 0.0, 0.01, -0.02])  # per seed: intervals of finite width


def table(
    vs_dense: float,
    vs_random: float,
    separation: float,
    seeds: int = 5,
    other: float = -1.0,
) -> pd.DataFrame:
    """One row per run of every cell of ABLATION's design.

    Every column of a dense run is 1 + seed/10. In the sweep's pre-registered cell at the
    default rho, minority_neurons of a pruned run is vs_dense above its dense run and
    vs_random above its random control, and minority_separation is `separation` above the
    dense run. Every other cell (other biases, rhos, parts, ratios) moves every column by
    `other` instead, so reading the wrong cell changes the verdict.
    """
    target = candidate(ABLATION, SWEEP)
    rows = []
    for cell in design(ABLATION):
        variants = ["dense"] if cell.dense else [cell.method, "random"]
        for variant in variants:
            for seed in range(seeds):
                base = 1.0 + seed / 10
                values = dict.fromkeys(COLUMNS, base)
                if cell == target:
                    jitter = JITTER[seed % len(JITTER)]
                    values["minority_neurons"] = base + vs_dense + jitter
                    values["minority_separation"] = base + separation - jitter
                    if variant == "random":
                        values["minority_neurons"] -= vs_random + jitter
                elif not cell.dense:
                    values = {k: v + other for k, v in values.items()}
                rows.append(
                    {
                        "part": cell.part,
                        "role": cell.role,
                        "rho": 10.0 if cell.role == "imbalanced" else 1.0,
                        "seed": seed,
                        "variant": variant,
                        "method": cell.method,
                        "ratio": cell.ratio,
                        "timing": cell.timing,
                        "step": 600,
                        "bias": cell.bias,
                        "run": f"{cell}_{variant}_{seed}",
                        **values,
                    }
                )
    return pd.DataFrame(rows)


def test_select_reads_one_cell_and_its_controls() -> None:
    rows = table(0.5, 0.3, 0.2)
    cell = candidate(ABLATION, SWEEP)
    pruned, control = select(rows, cell), select(rows, cell, control=True)
    assert len(pruned) == len(control) == 5
    assert set(pruned.variant) == {"magnitude_input"} and set(control.variant) == {"random"}
    assert list(pruned.seed) == list(range(5))
    dense = select(rows, cell.baseline())
    assert set(dense.variant) == {"dense"} and set(dense.bias) == {"shared"}


def test_effects_are_paired_by_seed() -> None:
    vs_dense, vs_random = effects(
        table(0.5, 0.3, 0.2), candidate(ABLATION), "minority_neurons", 0.95
    )
    assert vs_dense.mean == pytest.approx(0.5) and vs_dense.n == 5
    assert vs_random.mean == pytest.approx(0.3)
    assert 0 < vs_random.low < 0.3 < vs_random.high


def test_c6_supported_when_pruning_beats_dense_and_random_and_separates_better() -> None:
    claim = claim_c6(table(0.5, 0.3, 0.2), ABLATION, 0.95)
    assert claim.id == "C6" and claim.verdict == SUPPORTED
    assert claim.value == pytest.approx(0.3)  # the statistic: pruned - random
    assert "full-size main runs: pruned - dense -1 [-1, -1]" in claim.statistic
    assert "balanced rho: pruned - dense -1 [-1, -1]" in claim.control


@pytest.mark.parametrize(
    ("vs_dense", "vs_random"),
    [(0.0, 0.3), (0.5, 0.0), (-0.5, 0.3), (0.5, -0.3)],
    ids=["no-gain-over-dense", "no-gain-over-random", "below-dense", "below-random"],
)
def test_c6_not_supported_when_a_neuron_effect_is_not_above_zero(
    vs_dense: float, vs_random: float
) -> None:
    assert claim_c6(table(vs_dense, vs_random, 0.2), ABLATION, 0.95).verdict == NOT_SUPPORTED


def test_c6_inconclusive_when_only_separation_fails_or_one_seed() -> None:
    assert claim_c6(table(0.5, 0.3, 0.0), ABLATION, 0.95).verdict == INCONCLUSIVE
    assert claim_c6(table(0.5, 0.3, 0.2, seeds=1), ABLATION, 0.95).verdict == INCONCLUSIVE


def test_c6_verdict_rule() -> None:
    up, flat, down = Interval(1, 0.5, 1.5, 5), Interval(0, -0.5, 0.5, 5), Interval(-1, -2, -0.5, 5)
    assert c6_verdict(up, up, up) == SUPPORTED
    assert c6_verdict(up, up, flat) == INCONCLUSIVE
    assert c6_verdict(up, flat, up) == NOT_SUPPORTED
    assert c6_verdict(down, up, up) == NOT_SUPPORTED
    single = Interval(1, 1, 1, 1)
    assert c6_verdict(single, single, single) == INCONCLUSIVE


def test_regime_counts_the_cells_where_pruning_beats_each_reference() -> None:
    rows = table(0.5, 0.3, 0.2)
    reg = regime(rows, ABLATION, 0.95)
    assert len(reg) == 2 * 2 * 2  # measures x ratios x (random, dense), one timing
    neurons = reg[(reg.measure == "minority_neurons") & np.isclose(reg.ratio, 0.8)]
    assert neurons.set_index("versus").beats.to_dict() == {"random": True, "dense": True}
    other = reg[np.isclose(reg.ratio, 0.5)]
    assert not other.beats.any()  # every run there is 1 below dense, its control too
    out = metrics(rows, ABLATION, 0.95)
    assert out["sweep.regime.minority_neurons.cells_beating_random"] == 1.0
    assert out["sweep.regime.minority_neurons.cells_beating_dense"] == 1.0
    assert out["sweep.regime.minority_strength.cells_losing_to_dense"] == 1.0  # ratio 0.5: -1
    assert out["sweep.imbalanced.shared.magnitude_input.minority_neurons"] == pytest.approx(1.7)
    assert out["main.imbalanced.shared.dense.minority_neurons"] == pytest.approx(1.2)


def test_variants_table_rows_and_order() -> None:
    out = variants_table(table(0.5, 0.3, 0.2), ABLATION)
    imbalanced = out[out["rho role"] == "imbalanced"]
    assert list(imbalanced.variant) == [
        "dense",
        "magnitude_global",
        "magnitude_neuron",
        "magnitude_input",
        "magnitude_neuron_whole",
        "random (global)",
        "random (neuron)",
        "random (input)",
        "random (neuron_whole)",
    ]
    assert list(out["rho role"]) == ["imbalanced"] * 9 + ["balanced"] * 9
    assert set(out.seeds) == {5}
    row = imbalanced.set_index("variant").loc["magnitude_input"]
    assert row["minority_neurons"] == "1.700 ± 0.149"
