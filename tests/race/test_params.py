"""The race section: the project's params load; a bad value is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from imbcl.core.errors import ParamError
from imbcl.core.params import load, read_yaml
from imbcl.race.params import RaceStage
from imbcl.race.study import cells

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def test_project_params_give_discovery_and_confirmation_cells():
    p = load(PARAMS, RaceStage)
    specs = cells(p)
    sets = {s.set for s in specs}
    assert sets == {"discovery", "confirmation"}
    disc = [s for s in specs if s.set == "discovery"]
    conf = [s for s in specs if s.set == "confirmation"]
    assert not set(disc[0].seeds) & set(conf[0].seeds)  # disjoint seeds
    assert len({s.name for s in specs}) == len(specs)
    assert all(s.cell.steps % p.race.log_every == 0 for s in specs)


def test_steps_off_the_log_grid_are_named():
    raw = read_yaml(PARAMS)
    raw["race"]["routes"]["steps"] = [210]
    with pytest.raises(ParamError, match="race: steps 210: expected a multiple of race.log_every"):
        RaceStage.parse(raw)


def test_a_negative_threshold_is_named():
    raw = read_yaml(PARAMS)
    raw["race"]["thresholds"]["learned"] = -1.0
    with pytest.raises(ParamError, match="race.thresholds.learned"):
        RaceStage.parse(raw)
