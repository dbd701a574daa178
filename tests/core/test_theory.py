"""The theory table on hand-built per-run tables with known answers."""

import numpy as np
import pandas as pd

from imbcl.core.theory import dynamics_rows, findings, gap_by_rho, sweep_rows, theory_table


def dynamics(ratio_noise: float = -0.1) -> pd.DataFrame:
    rows = []
    for seed, wiggle in enumerate((0.9, 1.0, 1.1)):
        for rho, minority in ((10.0, 6.0 * wiggle), (1.0, 60.0 * wiggle)):
            rows.append(
                {
                    "imbalance_ratio": rho,
                    "seed": seed,
                    "majority_rate_s1": 60.0 * wiggle,
                    "minority_rate_s1": minority,
                    "noise_rate_s1": ratio_noise * wiggle,
                    "majority_final": 1.0,
                    "minority_final": 0.1 if rho == 10.0 else 1.0,  # slope exactly -1
                    "stage1_end": 100.0,
                    "stage2_end": 400.0,
                }
            )
    return pd.DataFrame(rows)


def test_rate_ratio_noise_and_slope_against_the_theory():
    frame = theory_table(dynamics_rows(dynamics(), 10.0, 1.0))
    by = frame.set_index("prediction")
    ratio = by.loc["stage-1 growth rate, minority / majority"]
    assert np.isclose(ratio.ours, 0.1) and ratio.holds == "yes" and np.isclose(ratio.delta, 0)
    assert by.loc["stage-1 rate of the noise (non-feature) component"].holds == "yes"
    slope = by.loc["C2: slope of log(minority / majority strength) on log rho"]
    assert np.isclose(slope.ours, -1.0) and slope.holds == "yes"
    assert by.loc["stage 1 end, imbalanced / balanced"].holds == "n/a"  # an order: not judged
    positive = theory_table(dynamics_rows(dynamics(ratio_noise=0.8), 10.0, 1.0))
    noise = positive.set_index("prediction").loc[
        "stage-1 rate of the noise (non-feature) component"
    ]
    assert noise.holds == "no"
    assert any(
        line.startswith("Theory that does not hold: stage-1 rate of the noise")
        for line in findings(positive)
    )


def sweep() -> pd.DataFrame:
    rows = []
    for seed in range(4):
        for rho in (1.0, 10.0, 100.0):
            k = np.log(rho)
            rows.append(
                {
                    "imbalance_ratio": rho,
                    "width": 64,
                    "seed": seed,
                    "specialists_majority": 2.0,
                    "specialists_minority": 2.0 - 0.5 * k + 0.01 * seed,
                    "mixing": 1.0 + 0.2 * k,
                    "separation_majority": 1.0,
                    "separation_minority": 1.0 + 0.1 * seed,
                }
            )
    return pd.DataFrame(rows)


def test_sweep_slopes_and_the_gap_by_rho():
    frame = theory_table(sweep_rows(sweep(), 64)).set_index("prediction")
    spec = frame.loc["specialists per minority feature, slope on log rho"]
    assert np.isclose(spec.ours, -0.5) and spec.holds == "yes"
    assert frame.loc["features mixed per neuron, slope on log rho"].holds == "yes"
    said = gap_by_rho(sweep(), 64, "C3")
    assert "present at rho 10, 100" in said and "unresolved at rho 1" in said
    assert gap_by_rho(sweep().drop(columns="specialists_minority"), 64, "C3") == ""
