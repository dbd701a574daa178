"""The calibrated bias: the health rule on constructed tables, the paper's setting as the
default, the noise-tied bias, a tiny calibration, and the stage's one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from imbcl.core.errors import ParamError
from imbcl.core.params import replace
from imbcl.synthetic.bias import Bias, candidate_bias, noise_tied_bias, read_bias
from imbcl.synthetic.calibrate import calibrate, choose, scores, unhealthy_summary
from imbcl.synthetic.health_rule import mark
from imbcl.synthetic.model import init_params
from imbcl.synthetic.params import (
    CalibrateParams,
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
)

ROOT = Path(__file__).resolve().parents[2]
CAL = CalibrateParams(candidates=[0.3, 0.1, 0.03, "noise"])
HP = HealthParams()
GOOD = {
    "loss_ratio": 0.3,
    "oracle_ratio": 0.2,
    "gap_closed": 0.875,  # (1 - 0.3) / (1 - 0.2)
    "probe_majority_sign_accuracy": 0.99,
    "nonzero_share": 0.5,
}
NEAR_CHANCE = {"loss_ratio": 0.9, "gap_closed": 0.125}


def table(per_candidate: dict[str, list[dict]]) -> pd.DataFrame:
    rows = [
        {"candidate": c, "seed": s, **{**GOOD, **change}}
        for c, runs in per_candidate.items()
        for s, change in enumerate(runs)
    ]
    return pd.DataFrame(rows)


def test_the_rule_picks_among_candidates_whose_runs_are_all_healthy():
    t = table(
        {
            "0.3": [{}, {"nonzero_share": 0.002}],  # one dead run: the level fails
            "0.1": [{}, NEAR_CHANCE],  # loss near chance on one seed
            "0.03": [{}, {}],
            "noise": [{}, {}],
        }
    )
    assert choose(t, CAL, HP) == "0.03"  # 0.03 and noise score equal: list order breaks ties
    assert mark(t, HP).healthy.tolist() == [True, False, True, False, True, True, True, True]


def test_calibration_chooses_by_score_not_list_order():
    """Every candidate healthy; the last in the list closes most of the gap (beyond the
    tolerance) and wins."""
    better = {"loss_ratio": 0.25, "gap_closed": 0.9375}
    t = table({"0.3": [{}, {}], "0.1": [{}, {}], "0.03": [{}, {}], "noise": [better, better]})
    assert choose(t, CAL, HP) == "noise"
    s = scores(t, CAL, HP)
    assert s.candidate.tolist() == ["0.3", "0.1", "0.03", "noise"]
    assert s.score.tolist() == pytest.approx([0.875, 0.875, 0.875, 0.9375])
    assert s.chosen.tolist() == [False, False, False, True] and s.eligible.all()
    # an unhealthy candidate never wins, whatever its score
    t2 = table({"0.3": [{}, {}], "noise": [better, {"nonzero_share": 0.001, **better}]})
    assert choose(t2, CAL, HP) == "0.3"


def test_scores_within_the_tolerance_fit_equally_and_the_sparsest_wins():
    """0.01 scores best by less than the tolerance; 0.3 is the sparsest of the near-best."""
    dense = {"gap_closed": 0.9, "nonzero_share": 0.94}
    sparse = {"gap_closed": 0.86, "nonzero_share": 0.43}
    middle = {"gap_closed": 0.89, "nonzero_share": 0.62}
    cal = replace(CAL, candidates=[0.01, 0.1, 0.3], score_tolerance=0.05)
    t = table({"0.01": [dense, dense], "0.1": [middle, middle], "0.3": [sparse, sparse]})
    assert choose(t, cal, HP) == "0.3"
    assert scores(t, cal, HP).sparsity.tolist() == pytest.approx([0.94, 0.62, 0.43])
    assert choose(t, replace(cal, score_tolerance=0.02), HP) == "0.1"  # 0.3 out of reach
    assert choose(t, replace(cal, score_tolerance=0.0), HP) == "0.01"  # the plain best score


def test_the_sizes_read_their_own_bias(tmp_path):
    path = tmp_path / "bias.json"
    small = {"candidate": "0.03", "level": 0.03, "tied": False}
    default = {"candidate": "0.3", "level": 0.3, "tied": False}
    path.write_text(json.dumps({**small, "sizes": {"small": small, "default": default}}))
    assert read_bias(path).level == 0.03 and read_bias(path, "default").level == 0.3


def test_each_health_check_and_none_healthy():
    t = table(
        {
            "0.3": [{"probe_majority_sign_accuracy": 0.8}],
            "0.1": [{"nonzero_share": 0.99}],
            "0.03": [{"loss_ratio": 0.6, "gap_closed": 0.4}],
            "noise": [{"nonzero_share": 0.01}],
        }
    )
    assert choose(t, CAL, HP) is None
    line = unhealthy_summary(t, HP)
    assert "0.3: 0/1 healthy (majority sign accuracy" in line
    assert "0.03: 0/1 healthy (gap closed 0.4 < 0.5 (loss 0.6 log B, oracle 0.2 log B))" in line
    assert "\n" not in line


def test_the_noise_candidate_can_win_when_it_alone_is_healthy():
    t = table({"0.3": [{"loss_ratio": 1.0, "gap_closed": 0.0}], "noise": [{}]})
    assert choose(t, CAL, HP) == "noise"


def test_the_noise_candidate_first_is_allowed_and_wins_when_healthy():
    cal = CalibrateParams(candidates=["noise", 0.3, 0.1])
    t = table({"noise": [{}], "0.3": [{}], "0.1": [{}]})
    assert choose(t, cal, HP) == "noise"
    t = table({"noise": [{"nonzero_share": 0.999}], "0.3": [{}], "0.1": [{}]})
    assert choose(t, cal, HP) == "0.3"


def test_candidates_must_decrease():
    with pytest.raises(ParamError, match="decreasing"):
        CalibrateParams.parse({**CalibrateParams().model_dump(), "candidates": [0.1, 0.3]}, "c")


def test_the_papers_setting_is_the_default():
    assert ModelParams().attention == "identity_fixed"
    assert (DataParams().frequency, DataParams().noise) == ("paper", "paper")
    params = init_params(ModelParams(width=3), 5, [0])
    assert torch.equal(params["qkv"][0], torch.eye(5).repeat(3, 1))  # W_Q = W_K = W_V = I


def test_noise_tied_bias_keeps_the_shared_mean_and_follows_the_noise():
    cfg = ModelParams(width=4, bias_final=0.2, bias_ramp_steps=10)
    M = torch.eye(6)[:, :2].numpy()
    params = init_params(cfg, 6, [0, 1])
    b = noise_tied_bias(cfg, M)(5, params)  # (R, m)
    assert b.shape == (2, 4)
    assert torch.allclose(b.mean(dim=1), torch.full((2,), 0.1))
    noise = params["w"][..., 2:].norm(dim=-1)  # W_V = I: u = w, the residual off span(M)
    assert torch.equal(b.argsort(dim=1), noise.argsort(dim=1))


def test_bias_round_trip_and_model(tmp_path):
    b = candidate_bias("noise", 0.05)
    assert b == Bias("noise", 0.05, True) and candidate_bias(0.1, 0.05).candidate == "0.1"
    path = tmp_path / "bias.json"
    path.write_text('{"candidate": "0.1", "level": 0.1, "tied": false}')
    got = read_bias(path)
    assert got.model(ModelParams(bias_schedule="constant")).bias_schedule == "ramp"
    assert got.fn(ModelParams(), M=torch.eye(4).numpy()) is None


def test_a_tiny_calibration_returns_one_row_per_candidate_and_seed():
    small = SmallParams(
        dim=6, n_features=4, n_majority=2, tokens=2, steps=6, batch=8, bias_ramp_steps=3
    )
    cal = replace(CAL, seeds=2, width=4)
    hp = HealthParams(
        eval_samples=32,
        heldout_batches=1,
        min_gap_closed=0.0,
        min_sign_accuracy=0.0,
        nonzero_min=0.0,
        nonzero_max=1.0,
    )
    t, chosen = calibrate(DataParams(), ModelParams(), TrainParams(), small, cal, hp, seed=0)
    s = scores(t, cal, hp)
    assert len(t) == 4 * 2 and chosen == s.candidate[s.chosen].iloc[0]
    assert t.seed.tolist()[:2] == [0, 1] and t.healthy.all()


def _stage(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / "calibrate.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "IMBCL_PARAMS": str(ROOT / "params.yaml")},
    )


def test_the_stage_prints_its_usage(tmp_path):
    out = _stage(cwd=tmp_path)
    assert out.returncode == 2
    assert (
        out.stderr.strip() == f"error: usage: python {ROOT / 'stages' / 'calibrate.py'} out tables"
    )


def test_train_reads_a_missing_bias_as_one_line(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "dictionary.npz").write_bytes(b"")
    out = subprocess.run(
        [sys.executable, str(ROOT / "stages" / "train.py"), "d", "nope.json", "o"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "IMBCL_PARAMS": str(ROOT / "params.yaml")},
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        out.stderr.strip()
        == "error: nope.json: not found; expected the calibrate stage's bias.json"
    )
