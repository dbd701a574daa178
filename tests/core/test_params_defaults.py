"""One home per value: every default a section class holds equals the value params.yaml
gives that key (a config built in code is the pipeline's, unless changed on purpose)."""

import importlib
import pkgutil
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

import imbcl
from imbcl.core.params import Section, Stage, read_yaml

ROOT = Path(__file__).resolve().parents[2]
for _module in pkgutil.walk_packages(imbcl.__path__, "imbcl."):
    importlib.import_module(_module.name)


def _stages(cls: type) -> list[type]:
    return [s for sub in cls.__subclasses__() for s in (sub, *_stages(sub))]


SECTIONS = sorted(
    {
        (name, field.annotation)
        for stage in _stages(Stage)
        for name, field in stage.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, Section)
    },
    key=lambda s: s[0],
)


def test_every_section_of_params_yaml_has_a_class():
    assert {n for n, _ in SECTIONS} == set(read_yaml(ROOT / "params.yaml")) - {"seed"}


@pytest.mark.parametrize(("name", "cls"), SECTIONS, ids=[n for n, _ in SECTIONS])
def test_defaults_equal_params_yaml(name, cls):
    written = cls.parse(read_yaml(ROOT / "params.yaml")[name], name)
    differ = [
        f"{name}.{key}: code {field.default!r}, params.yaml {getattr(written, key)!r}"
        for key, field in cls.model_fields.items()
        if field.default is not PydanticUndefined and field.default != getattr(written, key)
    ]
    assert differ == []
