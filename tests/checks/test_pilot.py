"""make pilot (verify/pilot.py): the per-seed s.d. read back from a claim row's pooled
interval is the seeds' own sample s.d., and the pilot's seeds are disjoint from both blocks."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from imbcl.core.claims import mean_ci
from imbcl.core.rerun import read_params

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("pilot", ROOT / "verify" / "pilot.py")
assert spec is not None and spec.loader is not None
pilot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pilot)


@pytest.mark.parametrize("n", [3, 4, 9])
def test_the_sd_read_back_from_the_pooled_interval_is_the_sample_sd(n):
    x = np.random.default_rng(n).normal(0.3, 0.7, n)
    iv = mean_ci(x, 0.95)
    row = {
        "ci_low": iv.low,
        "ci_high": iv.high,
        "discovery": {"seeds": n // 2},
        "confirmation": {"seeds": n - n // 2},
    }
    sd, seeds = pilot.sd_from_row(row)
    assert seeds == n
    assert sd == pytest.approx(float(np.std(x, ddof=1)), rel=1e-9)


def test_pilot_seeds_are_disjoint_from_every_block():
    params = read_params(ROOT / "params.yaml")
    changed = {k: dict(v) if isinstance(v, dict) else v for k, v in params.items()}
    pilot.pilot_params(changed)
    start = changed["seed"]
    pilot_seeds = set(range(start, start + 2 * pilot.PER_BLOCK))
    s = params["seed"]
    used = set()
    for n in (
        params["train"]["seeds_per_block"],
        params["sweep"]["seeds_per_block"],
        params["real"]["seeds_per_block"],
    ):
        used |= set(range(s, s + 2 * n))
    n = params["prune"]["seeds_per_block"]
    used |= set(range(s, s + n)) | set(range(s + 100, s + 100 + n))  # C6: confirmation at +100
    used |= set(range(s + 300, s + 300 + params["prune"]["sensitivity_seeds"]))
    assert not pilot_seeds & used


def test_fewer_than_two_healthy_pilot_seeds_give_no_sd():
    one = {"ci_low": 0.8, "ci_high": 0.8, "discovery": {"seeds": 1}, "confirmation": {"seeds": 0}}
    sd, seeds = pilot.sd_from_row(one)
    assert seeds == 1 and np.isnan(sd)
