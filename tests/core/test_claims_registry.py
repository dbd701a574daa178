"""core.claims_registry against the pipeline it names: each claim's stages are dvc.yaml
stages, its rule and block keys are params.yaml keys; core.blocks' seed layouts are disjoint
for the seed counts params.yaml asks for."""

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from imbcl.core import claims_registry
from imbcl.core.blocks import (
    CONTIGUOUS,
    PILOT_OFFSET,
    SENSITIVITY_OFFSET,
    SPACED,
    block_seeds,
    run_seeds,
)
from imbcl.core.params import BLOCK_OFFSETS, read_yaml

ROOT = Path(__file__).resolve().parents[2]
PARAMS = read_yaml(ROOT / "params.yaml")
STAGES = YAML(typ="safe", pure=True).load((ROOT / "dvc.yaml").read_text())["stages"]
CLAIMS = claims_registry.CLAIMS


def test_ids_are_unique_and_in_order():
    ids = claims_registry.ids()
    assert ids == sorted(set(ids), key=lambda i: int(i[1:]))


@pytest.mark.parametrize("c", CLAIMS, ids=[c.id for c in CLAIMS])
def test_each_claim_names_stages_and_keys_that_exist(c):
    assert f"runs/{c.stage}" in [
        next(iter(o)) if isinstance(o, dict) else o for o in STAGES[c.stage]["outs"]
    ]
    assert c.trains in STAGES
    rule = c.lookup(PARAMS, c.rule)
    assert "min_effect" in rule
    assert PARAMS[c.blocks]["seeds_per_block"] >= 2


def test_an_unknown_claim_is_named():
    with pytest.raises(KeyError, match="C9: not a claim"):
        claims_registry.entry("C9")


def test_deciding_stages_per_track():
    assert claims_registry.deciding_stages("synthetic") == ["analyze", "imbalance", "prune_forward"]
    assert claims_registry.deciding_stages("real") == ["longtail_eval"]


@pytest.mark.parametrize("layout", [CONTIGUOUS, SPACED])
def test_blocks_are_disjoint_and_below_the_sensitivity_and_pilot_seeds(layout):
    n = max(PARAMS[c.blocks]["seeds_per_block"] for c in CLAIMS)
    disc, conf = block_seeds(7, n, layout)
    assert len(disc) == len(conf) == n and not set(disc) & set(conf)
    assert disc[0] == 7 and run_seeds(7, n, layout) == disc + conf
    assert max(conf) < 7 + SENSITIVITY_OFFSET
    sensitivity = 7 + SENSITIVITY_OFFSET + PARAMS["prune"]["sensitivity_seeds"]
    assert sensitivity <= 7 + PILOT_OFFSET < BLOCK_OFFSETS


def test_the_layouts_differ_where_the_confirmation_block_starts():
    assert block_seeds(0, 3, CONTIGUOUS)[1] == [3, 4, 5]
    assert block_seeds(0, 3, SPACED)[1] == [100, 101, 102]


def test_the_report_states_each_claim_as_the_registry_does():
    from imbcl.core.summary import summary_table

    rows = [
        {
            "id": c.id,
            "claim": "-",
            "statistic": "s",
            "verdict": "inconclusive",
            "value": None,
            "ci_low": None,
            "ci_high": None,
            "n": 0,
        }
        for c in CLAIMS
    ]
    text = summary_table(rows, {})
    for c in CLAIMS:
        assert c.plain in text
