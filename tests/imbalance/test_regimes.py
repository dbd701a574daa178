"""Regime maps: the strength floor of the specialist count, the cell table of a tiny run,
the heatmap, and the stage's usage line."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from imbcl.core.params import replace
from imbcl.imbalance.figures import plot_regimes
from imbcl.imbalance.params import RegimesParams
from imbcl.imbalance.regimes import (
    STATISTICS,
    cell_table,
    direction,
    run_regimes,
    strong_specialists,
)
from imbcl.synthetic.params import (
    AnalyzeParams,
    CalibrateParams,
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_strength_floor_drops_weak_specialists():
    proj = np.array([[1.0, 0.0], [0.0, 0.2], [0.0, 0.9]])  # neuron 1: aligned with 1 but weak
    norm = np.abs(proj).max(axis=1)
    assert strong_specialists(proj, norm, 0.7, 0.0).tolist() == [1, 2]
    assert strong_specialists(proj, norm, 0.7, 0.5).tolist() == [1, 1]
    assert strong_specialists(np.zeros((2, 2)), np.zeros(2), 0.7, 0.5).tolist() == [0, 0]


def test_a_tiny_regime_map_has_one_row_per_cell(tmp_path):
    small = SmallParams(
        dim=6, n_features=4, n_majority=2, tokens=2, steps=6, batch=8, bias_ramp_steps=3
    )
    cal = CalibrateParams(candidates=[0.1, "noise"])
    hp = HealthParams(eval_samples=32, heldout_batches=1)
    reg = replace(RegimesParams(), ratios=[1.0, 4.0], seeds=2)
    runs = run_regimes(
        DataParams(), ModelParams(), TrainParams(), small, 4, cal, AnalyzeParams(), hp, reg, 0
    )
    assert len(runs) == 2 * 2 * 2 * 2  # attention x bias x rho x seed
    cells = cell_table(runs, 0.95)
    assert len(cells) == 8 and set(cells.bias) == {"0.1", "noise"}
    for s in STATISTICS:
        assert {s, f"{s}_low", f"{s}_high", f"{s}_excludes_0"} <= set(cells.columns)
    assert {
        "loss_ratio",
        "oracle_ratio",
        "gap_closed",
        "nonzero_share",
        "sign_majority",
        "sign_minority",
        "healthy_share",
    } <= set(cells.columns)
    d = direction(cells, "c2_gap")
    assert sum(len(v) for v in d.values()) == 4  # the imbalanced cells only
    caption = plot_regimes(cells, tmp_path / "regimes.png")
    assert (tmp_path / "regimes.png").stat().st_size > 0 and "Regime map" in caption


def test_the_stage_prints_its_usage(tmp_path):
    script = ROOT / "stages" / "regimes.py"
    out = subprocess.run(
        [sys.executable, str(script), "only-one"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: usage: python {script} out tables figure"
