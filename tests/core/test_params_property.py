"""Property-based attacks on every params section: any wrong value is refused by name."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from imbcl.core.errors import ParamError
from imbcl.core.params import Section, read_yaml
from imbcl.imbalance.params import SweepParams
from imbcl.longtail.params import RealParams
from imbcl.pruning.params import PruneParams
from imbcl.synthetic.params import (
    AnalyzeParams,
    DataParams,
    ModelParams,
    SmallParams,
    TrainParams,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every section, by the dotted name its messages start with.
SECTIONS: dict[str, type[Section]] = {
    "data": DataParams,
    "model": ModelParams,
    "train": TrainParams,
    "analyze": AnalyzeParams,
    "small": SmallParams,
    "sweep": SweepParams,
    "real": RealParams,
    "prune": PruneParams,
}


def kind_of(field: FieldInfo) -> Any:
    """int, float, bool, str (also a choice), list or BaseModel (a nested mapping)."""
    kind = field.annotation
    if get_origin(kind) in (Union, types.UnionType):  # an optional override: X | None
        inner = [a for a in get_args(kind) if a is not type(None)]
        kind = inner[0] if len(inner) == 1 else object
    if get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) is Literal:
        return str
    if get_origin(kind) is list:
        return list
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return BaseModel
    return kind if kind in (int, float, bool, str) else object


def fields_of(section: str) -> list[tuple[str, FieldInfo, Any]]:
    return [(n, f, kind_of(f)) for n, f in SECTIONS[section].model_fields.items()]


ALL_FIELDS = [(s, name) for s in SECTIONS for name, _, _ in fields_of(s)]


def defaults(section: str) -> dict[str, Any]:
    return SECTIONS[section]().model_dump()


def parse(section: str, raw: dict[str, Any]) -> Section:
    return SECTIONS[section].parse(raw, section)


def wrong_type(kind: Any) -> st.SearchStrategy:
    """Values no field of type `kind` accepts."""
    text = st.text(min_size=1, max_size=8).filter(lambda t: not _is_number(t))
    if kind is bool:
        return st.one_of(st.integers(), text, st.floats(allow_nan=False))
    if kind in (int, float):
        return st.one_of(
            text,
            st.booleans(),
            st.lists(st.integers(), max_size=2),
            st.just(float("nan")),
            st.just(float("inf")),
        )
    if kind is str:
        return st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False))
    return st.one_of(st.integers(), text, st.booleans())  # lists and mappings


def _is_number(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("section", "name"), ALL_FIELDS)
@SETTINGS
@given(data=st.data())
def test_wrong_type_is_refused_by_name(section, name, data):
    kind = {n: k for n, _, k in fields_of(section)}[name]
    raw = defaults(section)
    raw[name] = data.draw(wrong_type(kind))
    with pytest.raises(ParamError) as err:
        parse(section, raw)
    message = str(err.value)
    assert message.startswith(f"{section}.{name}") and "expected" in message
    assert "\n" not in message


def accepts(field: FieldInfo, v: float) -> bool:
    """What the field's range constraints say of `v`."""
    checks = {at.Ge: lambda c: v >= c.ge, at.Gt: lambda c: v > c.gt}
    checks |= {at.Le: lambda c: v <= c.le, at.Lt: lambda c: v < c.lt}
    return all(checks[type(c)](c) for c in field.metadata if type(c) in checks)


def has_range(field: FieldInfo) -> bool:
    return any(isinstance(c, at.Ge | at.Gt | at.Le | at.Lt) for c in field.metadata)


NUMERIC = [
    (s, n) for s in SECTIONS for n, f, k in fields_of(s) if k in (int, float) and has_range(f)
]


def test_every_number_has_a_range():
    numbers = [(s, n) for s in SECTIONS for n, f, k in fields_of(s) if k in (int, float)]
    assert numbers == NUMERIC and len(NUMERIC) > 50


@pytest.mark.parametrize(("section", "name"), NUMERIC)
@SETTINGS
@given(value=st.floats(min_value=-1.0e6, max_value=1.0e6, allow_nan=False))
def test_out_of_range_numbers_are_refused_by_name(section, name, value):
    field, kind = {n: (f, k) for n, f, k in fields_of(section)}[name]
    if kind is int:
        value = float(int(value))
    if accepts(field, kind(value)):
        return  # a valid value: nothing to refuse
    raw = defaults(section)
    raw[name] = kind(value)
    with pytest.raises(ParamError, match=rf"^{section}\.{name} = .*expected"):
        parse(section, raw)


@pytest.mark.parametrize("section", list(SECTIONS))
@SETTINGS
@given(key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_unknown_keys_are_refused_by_name(section, key):
    raw = defaults(section)
    if key in raw:
        return
    raw[key] = 1
    with pytest.raises(ParamError, match=rf"^{section}\.{key}: unknown key"):
        parse(section, raw)


@pytest.mark.parametrize(
    ("section", "name"), [(s, n) for s, n in ALL_FIELDS if SECTIONS[s].every_key]
)
def test_missing_keys_are_refused_by_name(section, name):
    raw = defaults(section)
    del raw[name]
    with pytest.raises(ParamError, match=rf"^{section}\.{name}: missing"):
        parse(section, raw)


FLOATS = [
    (s, n)
    for s in SECTIONS
    for n, f, k in fields_of(s)
    if k is float and getattr(SECTIONS[s](), n) is not None
]


@pytest.mark.parametrize(("section", "name"), FLOATS)
def test_yaml_1_1_exponent_floats_load_as_numbers(tmp_path, section, name):
    """`dvc exp run -S` may write 1e-06; it must load as the number, not a string."""
    default = getattr(SECTIONS[section](), name)
    text = f"{default:e}".replace("e-0", "e-").replace("e+0", "e+").replace(".000000", "")
    path = tmp_path / "p.yaml"
    path.write_text(f"v: {text}\n")
    raw = read_yaml(path)
    assert isinstance(raw["v"], float) and raw["v"] == pytest.approx(default)
    assert getattr(parse(section, defaults(section) | {name: text}), name) == default
