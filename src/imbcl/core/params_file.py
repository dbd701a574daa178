"""The params.yaml reader and the parts of a one-line error message: the file read with
ruamel.yaml (YAML 1.2, the dialect DVC writes), a YAML error as `path:line: key: what`, and
the pydantic error a one-pass check meets first, with the field and dotted key it names."""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from imbcl.core.errors import ParamError


def read_yaml(path: str | Path, sections: Iterable[str] = ()) -> dict[str, Any]:
    """Read a params file as plain dicts (YAML 1.2), with a clear error when it is absent."""
    path = Path(path)
    if not path.is_file():
        wanted = ", ".join(sections)
        raise ParamError(
            f"{path}: file not found; expected a params.yaml"
            + (f" with the sections {wanted}" if wanted else "")
        )
    text = path.read_text()
    try:
        raw = YAML(typ="safe", pure=True).load(text)
    except YAMLError as err:
        raise ParamError(_yaml_message(path, text, err)) from None
    if not isinstance(raw, dict):
        raise ParamError(f"{path}: expected a mapping of sections at the top level")
    return raw


def _dotted(lines: list[str], n: int) -> str:
    """The dotted key written on line n (0-based) of a YAML file: its own key and those of
    the less indented lines above it."""
    keys, indent = [], None
    for line in reversed(lines[: n + 1]):
        body = line.split("#", 1)[0].rstrip()
        if not body.strip() or ":" not in body:
            continue
        width = len(body) - len(body.lstrip())
        if indent is None or width < indent:
            keys.append(body.strip().split(":", 1)[0].strip())
            indent = width
        if width == 0:
            break
    return ".".join(reversed(keys))


def _yaml_message(path: Path, text: str, err: YAMLError) -> str:
    """One line for a YAML error: the file and line, the dotted key there, what is wrong."""
    mark = getattr(err, "problem_mark", None)
    problem = str(getattr(err, "problem", None) or str(err).splitlines()[0])
    if mark is None:
        return f"{path}: not valid YAML ({problem})"
    lines = text.splitlines()
    n = min(mark.line, len(lines) - 1)
    key = _dotted(lines, n)
    dup = re.match(r'found duplicate key "([^"]*)"', problem)
    if dup:
        name, width = dup.group(1), len(lines[n]) - len(lines[n].lstrip())
        start = getattr(err, "context_mark", mark).line
        first = next(
            (
                i
                for i in range(start, n)
                if lines[i][width:].startswith(f"{name}:")
                and len(lines[i]) - len(lines[i].lstrip()) == width
            ),
            None,
        )
        where = f" (first at line {first + 1})" if first is not None else ""
        return f"{path}:{n + 1}: {key}: written twice{where}; expected each key once"
    if r"'\t'" in problem:
        return f"{path}:{n + 1}: {key}: a tab; expected spaces for indentation"
    if "mapping values are not allowed" in problem or "<block end>" in problem:
        return (
            f"{path}:{n + 1}: {key}: indented unlike the keys beside it, or a second ':'; "
            "expected the keys of one section indented alike"
        )
    return f"{path}:{n + 1}: {key}: not valid YAML ({problem})"


# --- pydantic errors: which one, and what it names -----------------------------------------


def first_error(errors: list[ErrorDetails], depth: int) -> ErrorDetails:
    """The error a one-pass check meets first: sections in order; in a section its unknown
    keys (by name), then its fields in order; in a field, a wrong type before a bad range.
    `depth`: 1 where the model's keys are sections (a Stage), 0 for one section."""
    groups: dict[Any, int] = {}
    fields: dict[Any, int] = {}
    for e in errors:
        groups.setdefault(e["loc"][:depth], len(groups))
        fields.setdefault(field_loc(e), len(fields))

    def rank(e: ErrorDetails) -> tuple:
        extra = e["type"] == "extra_forbidden"
        return (
            groups[e["loc"][:depth]],
            not extra,
            str(e["loc"][-1]) if extra else "",
            fields[field_loc(e)],
            not wrong_type(e),
        )

    return min(errors, key=rank)  # the first of equals: pydantic reports in field order


def wrong_type(e: ErrorDetails) -> bool:
    """A value of the wrong type, rather than one of the right type out of range."""
    return e["type"].endswith("_type") or (
        e["type"] == "literal_error" and not isinstance(e["input"], str)
    )


def field_loc(e: ErrorDetails) -> tuple:
    return tuple(p for p in e["loc"] if isinstance(p, str))  # list indices dropped


def walk(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[type[BaseModel], FieldInfo | None, list[str]]:
    """The model holding the key at `loc`, the key's field (None: unknown, or the mapping
    itself) and the key's dotted names."""
    owner, field, names = model, None, []
    for part in loc:
        if isinstance(part, int):  # an element of a list field: the field is what is named
            break
        if field is not None:
            nested = model_of(field)
            if nested is None:
                break
            owner = nested
        names.append(part)
        field = owner.model_fields.get(part)
        if field is None:
            break
    return owner, field, names


def model_of(field: FieldInfo) -> type[BaseModel] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def expectation(field: FieldInfo) -> str | None:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("expect"), str):
        return str(extra["expect"])
    if get_origin(field.annotation) is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(field.annotation))
    return None


def lookup(raw: Any, names: list[str]) -> Any:
    for name in names:
        raw = raw.get(name) if isinstance(raw, dict) else None
    return raw
