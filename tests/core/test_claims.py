import json
import math

import pytest

from imbcl.core.claims import mean_ci, merge
from imbcl.core.io import write_json


def test_interval_matches_the_t_table():
    iv = mean_ci([2.0, 3.0, 4.0], 0.95)
    # mean 3, sem 1/sqrt(3), t_{0.975, 2} = 4.302653
    assert iv.mean == 3.0
    assert iv.high - iv.mean == pytest.approx(4.302653 / 3**0.5, rel=1e-5)
    assert iv.covers_zero() is False and iv.excludes_zero() is True


def test_single_value_has_no_interval(tmp_path):
    iv = mean_ci([0.4, float("nan")])
    assert iv.mean == 0.4 and iv.n == 1
    assert math.isnan(iv.low) and math.isnan(iv.high)
    assert not iv.excludes_zero() and not iv.covers_zero()
    write_json(tmp_path / "m.json", {"ci_low": iv.low, "ci_high": iv.high, "value": iv.mean})
    assert json.loads((tmp_path / "m.json").read_text()) == {
        "ci_high": None,
        "ci_low": None,
        "value": 0.4,
    }


def test_merge_sorts_and_refuses_duplicates():
    assert [r["id"] for r in merge([{"id": "C2"}, {"id": "C1"}])] == ["C1", "C2"]
    with pytest.raises(ValueError, match="C1"):
        merge([{"id": "C1"}, {"id": "C1"}])
