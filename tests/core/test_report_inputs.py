"""core.report_inputs: the study summaries become findings that state their numbers."""

import json
from pathlib import Path

from imbcl.core.report_inputs import calibration_finding, censoring_finding


def _write(path: Path, obj: dict) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_calibration_finding_names_choice_declared_and_scores(tmp_path: Path) -> None:
    d = {
        "chosen": "0.1",
        "declared": "0.3",
        "agree": False,
        "candidates": [
            {"candidate": "0.3", "score": 0.61, "eligible": False},
            {"candidate": "0.1", "score": 0.8, "eligible": True},
        ],
    }
    text = calibration_finding(_write(tmp_path / "calibrate_default.json", d))
    assert "chooses 0.1" in text and "declares 0.3" in text and "they differ" in text
    assert "0.3 0.610 (not all healthy)" in text and "0.1 0.800" in text


def test_censoring_finding_reports_readings_and_prediction(tmp_path: Path) -> None:
    d = {
        "runs": 180,
        "effects": [
            {
                "imbalance_ratio": 20.0,
                "reading": "width-limited",
                "censored_first": 0.8,
                "width_effect": -0.5,
                "time_effect": 0.0,
            },
            {
                "imbalance_ratio": 50.0,
                "reading": "neither",
                "censored_first": 1.0,
                "width_effect": 0.0,
                "time_effect": 0.0,
            },
        ],
        "prediction": {
            "held": False,
            "held_at": ["50"],
            "predicted": {"20": "neither", "50": "neither"},
        },
    }
    text = censoring_finding(_write(tmp_path / "censoring.json", d))
    assert "rho 20 width-limited" in text and "width effect -0.50" in text
    assert "held at rho 50 of 20, 50" in text and "180 runs" in text
