"""Property-based attacks on every params section: any wrong value is refused by name."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imbcl.core import config
from imbcl.core.config import ParamError, build

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fields_of(section: str) -> list[tuple[str, dataclasses.Field, Any]]:
    cls = config.SECTIONS[section]
    hints = get_type_hints(cls)
    return [(f.name, f, hints[f.name]) for f in dataclasses.fields(cls)]


ALL_FIELDS = [(s, name) for s in config.SECTIONS for name, _, _ in fields_of(s)]


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
    if kind is object:  # a step or a name (prune.at): neither a name nor an int >= 0
        return st.one_of(
            st.booleans(),
            st.integers(max_value=-1),
            st.floats(allow_nan=False).filter(lambda v: not float(v).is_integer()),
            text.filter(lambda t: t not in ("init", "stage1")),
        )
    if kind is str:
        return st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False))
    return st.one_of(st.integers(), text, st.booleans())  # lists


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
    kind = dict((n, k) for n, _, k in fields_of(section))[name]
    raw = config.as_dict(config.SECTIONS[section]())
    raw[name] = data.draw(wrong_type(kind))
    with pytest.raises(ParamError) as err:
        build(config.SECTIONS[section], raw, section)
    message = str(err.value)
    assert message.startswith(f"{section}.{name}") and "expected" in message
    assert "\n" not in message


NUMERIC = [
    (s, n)
    for s in config.SECTIONS
    for n, f, k in fields_of(s)
    if k in (int, float) and "ok" in f.metadata
]


@pytest.mark.parametrize(("section", "name"), NUMERIC)
@SETTINGS
@given(value=st.floats(min_value=-1.0e6, max_value=1.0e6, allow_nan=False))
def test_out_of_range_numbers_are_refused_by_name(section, name, value):
    f, kind = {n: (f, k) for n, f, k in fields_of(section)}[name]
    if kind is int:
        value = float(int(value))
    if f.metadata["ok"](kind(value)):
        return  # a valid value: nothing to refuse
    raw = config.as_dict(config.SECTIONS[section]())
    raw[name] = kind(value)
    with pytest.raises(ParamError, match=rf"^{section}\.{name} = .*expected"):
        build(config.SECTIONS[section], raw, section)


@pytest.mark.parametrize("section", list(config.SECTIONS))
@SETTINGS
@given(key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_unknown_keys_are_refused_by_name(section, key):
    raw = config.as_dict(config.SECTIONS[section]())
    if key in raw:
        return
    raw[key] = 1
    with pytest.raises(ParamError, match=rf"^{section}\.{key}: unknown key"):
        build(config.SECTIONS[section], raw, section)


@pytest.mark.parametrize(("section", "name"), ALL_FIELDS)
def test_missing_keys_are_refused_by_name(section, name):
    raw = config.as_dict(config.SECTIONS[section]())
    del raw[name]
    with pytest.raises(ParamError, match=rf"^{section}\.{name}: missing"):
        build(config.SECTIONS[section], raw, section)


FLOATS = [(s, n) for s in config.SECTIONS for n, f, k in fields_of(s) if k is float]


@pytest.mark.parametrize(("section", "name"), FLOATS)
def test_yaml_1_1_exponent_floats_load_as_numbers(tmp_path, section, name):
    """`dvc exp run -S` may write 1e-06; it must load as the number, not a string."""
    default = getattr(config.SECTIONS[section](), name)
    text = f"{default:e}".replace("e-0", "e-").replace("e+0", "e+").replace(".000000", "")
    raw = config.read_yaml(_write(tmp_path, f"v: {text}\n"))
    assert isinstance(raw["v"], float) and raw["v"] == pytest.approx(default)


def _write(tmp_path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path
