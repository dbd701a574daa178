"""The pruning params: a bad value names its key."""

from __future__ import annotations

import pytest

from imbcl.core import config
from imbcl.core.config import ParamError, PruneConfig


def _prune_section(**changes: object) -> dict:
    raw = {k: v for k, v in config.as_dict(PruneConfig()).items()}
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("method", "magnitude"),
        ("ratio", 1.0),
        ("ratio", -0.1),
        ("at", "late"),
        ("at", -5),
        ("at", True),
        ("at", 2.5),
        ("sweep_at", ["init", "end"]),
        ("at", 10_000),
    ],
)
def test_bad_prune_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ParamError, match=f"prune.{key}"):
        config.build(PruneConfig, _prune_section(**{key: value}), "prune")


def test_good_prune_timings_load() -> None:
    for at in ("init", "stage1", 0, 150):
        assert config.build(PruneConfig, _prune_section(at=at), "prune").at == at
