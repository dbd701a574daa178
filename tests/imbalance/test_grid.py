"""The sweep grid: its settings, a tiny trained grid, storage round trip, bad parameters."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imbcl.core.errors import ParamError
from imbcl.core.params import replace
from imbcl.imbalance.grid import (
    grid_specs,
    load_sweep,
    run_sweep,
    save_sweep,
    sweep_configs,
    window_start,
)
from imbcl.imbalance.params import SweepParams
from imbcl.synthetic.params import DataParams, HealthParams, ModelParams, SmallParams, TrainParams

TINY = replace(SweepParams(), ratios=[1.0, 4.0], widths=[2, 3], seeds_per_block=2, test_ratio=4.0)
SMALL = replace(
    SmallParams(), dim=6, n_features=4, n_majority=2, tokens=2, steps=4, batch=8, bias_ramp_steps=2
)


def test_sweep_configs_take_the_sweep_sizes_and_keep_the_rest():
    data, model, train = sweep_configs(DataParams(), ModelParams(), TrainParams(), SMALL)
    assert (data.dim, data.n_features, data.tokens) == (6, 4, 2)
    assert data.noise_std == DataParams().noise_std  # shared setting kept
    assert (train.steps, train.lr, train.log_every) == (4, SMALL.lr, 4)
    # the plateau window's start is logged too: 600 steps, the last fifth from step 480
    _, _, train600 = sweep_configs(
        DataParams(), ModelParams(), TrainParams(), replace(SMALL, steps=600), 0.2
    )
    assert train600.log_every == 120 and window_start(600, 0.2) == 480
    assert model.init_std == SMALL.init_std
    assert len(grid_specs(TINY, seed=7)) == 2 * 2 * 4
    assert {s.seed for s in grid_specs(TINY, seed=7)} == {7, 8, 9, 10}  # both blocks


def test_tiny_grid_trains_saves_and_loads_deterministically(tmp_path):
    hp = HealthParams(eval_samples=32, heldout_batches=1)
    args = (DataParams(), ModelParams(), TrainParams(), SMALL, TINY, hp, 0)
    states, majority = run_sweep(*args, progress=False)
    again, _ = run_sweep(*args, progress=False)
    assert majority.tolist() == [True, True, False, False]
    assert all(np.array_equal(a.proj, b.proj) for a, b in zip(states, again, strict=True))
    save_sweep(tmp_path / "sweep", states, majority)
    loaded, majority2 = load_sweep(tmp_path / "sweep")
    assert majority2.tolist() == majority.tolist()
    by_name = {s.spec.name: s for s in loaded}
    for s in states:
        assert s.proj.shape == (s.spec.width, 4)
        np.testing.assert_array_equal(by_name[s.spec.name].noise, s.noise)
        assert by_name[s.spec.name].health == s.health  # the certificate round-trips
        # and the state at the start of the plateau window (step 4 - round(0.2 * 4) = 3)
        before = by_name[s.spec.name].previous
        assert before is not None and (before.step, by_name[s.spec.name].step) == (3, 4)
        np.testing.assert_array_equal(before.proj, s.previous.proj)
        assert 0 < s.health["oracle_ratio"] < 1 and np.isfinite(s.health["gap_closed"])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ratios", [2.0, 5.0], "sweep.ratios"),
        ("test_ratio", 3.0, "sweep.test_ratio"),
        ("widths", [8, 4], "sweep.widths"),
        ("seeds_per_block", 1, "sweep.seeds_per_block"),
    ],
)
def test_bad_sweep_parameters_name_their_key(key, value, message):
    raw = SweepParams().model_dump()
    raw[key] = value
    with pytest.raises(ParamError, match=message):
        SweepParams.parse(raw, "sweep")


STAGES = Path(__file__).resolve().parents[2] / "stages"


def test_sweep_stage_rejects_a_bad_rule_in_one_line_and_writes_nothing(tmp_path):
    params = Path(__file__).resolve().parents[2] / "params.yaml"
    text = params.read_text().replace("test_ratio: 10.0", "test_ratio: 7.0")
    (tmp_path / "params.yaml").write_text(text)
    done = subprocess.run(
        [sys.executable, str(STAGES / "sweep.py"), "runs/calibrate/bias.json", "runs/sweep"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: sweep.test_ratio = 7: expected one of sweep.ratios"
    ]
    assert not (tmp_path / "runs").exists()


def test_imbalance_stage_names_the_missing_sweep(tmp_path):
    params = Path(__file__).resolve().parents[2] / "params.yaml"
    (tmp_path / "params.yaml").write_text(params.read_text())
    done = subprocess.run(
        [
            sys.executable,
            str(STAGES / "imbalance.py"),
            "runs/sweep",
            "runs/imbalance",
            "reports/figures",
            "reports/tables",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "runs/sweep: not found" in done.stderr
    assert not (tmp_path / "reports").exists()
