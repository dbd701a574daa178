"""imbalance.censoring: the censored share per cell and the width / time readings."""

import pandas as pd
import pytest

from imbcl.imbalance.censoring import cells, check_prediction, contrasts


def _cells(shares: dict[tuple[float, int, int], float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"imbalance_ratio": r, "steps": s, "width": w, "censored_share": v}
            for (r, s, w), v in shares.items()
        ]
    )


def _grid(rho: float, first_narrow: float, first_wide: float, last_wide: float) -> dict:
    return {
        (rho, 600, 64): first_narrow,
        (rho, 600, 256): first_wide,
        (rho, 1200, 64): first_narrow,
        (rho, 1200, 256): last_wide,
    }


@pytest.mark.parametrize(
    ("shares", "reading"),
    [
        ((1.0, 0.3, 0.3), "width-limited"),  # width covers it, time adds nothing
        ((1.0, 1.0, 0.2), "time-limited"),
        ((1.0, 0.6, 0.1), "both"),
        ((1.0, 0.9, 0.9), "neither"),  # lost at every width and time
        ((0.1, 0.0, 0.0), "covered"),
    ],
)
def test_contrasts_reading(shares: tuple[float, float, float], reading: str) -> None:
    effects = contrasts(_cells(_grid(20.0, *shares)), margin=0.2)
    assert effects.reading.tolist() == [reading]


def test_contrasts_effects_are_signed_differences() -> None:
    effects = contrasts(_cells(_grid(50.0, 1.0, 0.7, 0.4)), margin=0.2).iloc[0]
    assert effects.width_effect == pytest.approx(-0.3)
    assert effects.time_effect == pytest.approx(-0.3)


def test_cells_share_and_wilson_interval() -> None:
    runs = pd.DataFrame(
        {
            "imbalance_ratio": [20.0] * 4,
            "steps": [600] * 4,
            "width": [64] * 4,
            "seed": [0, 1, 2, 3],
            "censored": [True, True, True, False],
            "healthy": [True, True, False, True],
        }
    )
    row = cells(runs, 0.95).iloc[0]
    assert row.censored_share == 0.75 and row.seeds == 4
    assert 0.0 < row.ci_low < 0.75 < row.ci_high < 1.0  # Wilson: never a zero-width interval
    assert row.healthy_share == 0.75


def test_prediction_held_only_where_every_reading_matches() -> None:
    effects = pd.DataFrame({"imbalance_ratio": [1.0, 20.0], "reading": ["covered", "both"]})
    miss = check_prediction(effects, {1.0: "covered", 20.0: "neither"})
    assert miss["held"] is False and miss["held_at"] == ["1"]
    hit = check_prediction(effects, {1.0: "covered", 20.0: "both"})
    assert hit["held"] is True
