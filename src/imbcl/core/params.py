"""Typed parameters: the params.yaml reader, the base models of a section and of a stage, and
`load`, which checks the sections one stage reads and nothing else.

`params.yaml` is read (`core.params_file`) with ruamel.yaml (YAML 1.2, the dialect DVC
writes), so a float written by `dvc exp run -S lr=0.000001` as `1e-06` loads as a number,
not as the string PyYAML (YAML 1.1) would make of it.

A section is a frozen pydantic model (`Section`); each field's type carries its check and the
phrase shown when the check fails (`expect(...)` and the helpers below). A wrong, missing or
unknown key raises `ParamError`, whose message names the dotted key and the expectation in
one line, e.g. `data.p_majority = 1.5: expected a probability in [0, 1]`; stage scripts turn
it into a non-zero exit before anything is written.

Numbers are read as before: `Int` takes an int or an integral float (3.0), `Float` an int, a
float or a YAML 1.1 float string ('1e-3'); neither takes a bool, and a Float must be finite.
A bool field takes only true or false, a string field only a string.

Configs are frozen: derive one with `replace(cfg, key=value)` (checked names, unchecked
values, as `dataclasses.replace`) or `cfg.model_copy(update={...})`, and turn one into a dict
with `cfg.model_dump()`.
"""

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from imbcl.core.errors import ParamError
from imbcl.core.params_file import (
    expectation,
    first_error,
    lookup,
    model_of,
    read_yaml,
    walk,
    wrong_type,
)

# --- numbers -------------------------------------------------------------------------------


def _as_int(value: Any) -> Any:
    """An int, or an integral float such as 3.0; never a bool (an int in Python) or a string."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("number_type", "expected an integer")
    if abs(value) >= 2**63:
        raise PydanticCustomError("number_type", "expected an integer below 2^63")
    return value


def _as_float(value: Any) -> Any:
    """A finite float from an int, a float or a YAML 1.1 float string ('1e-3'); never a bool."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise PydanticCustomError("number_type", "expected a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PydanticCustomError("number_type", "expected a finite number")
    return float(value)


Int = Annotated[int, BeforeValidator(_as_int)]
Float = Annotated[float, BeforeValidator(_as_float)]


# --- expectations: `field: Annotated[Int, at_least(2)] = 64` ------------------------------


def expect(phrase: str, **constraints: Any) -> Any:
    """Field metadata: pydantic constraints (ge=, lt=, min_length=, ...) and the phrase shown
    to the user when the field's value is refused."""
    return Field(json_schema_extra={"expect": phrase}, **constraints)


def at_least(low: float) -> Any:
    return expect(f"a number >= {low:g}", ge=low)


def positive() -> Any:
    return expect("a number > 0", gt=0)


def nonneg() -> Any:
    return expect("a number >= 0", ge=0)


def probability() -> Any:
    return expect("a probability in [0, 1]", ge=0, le=1)


def unit_open() -> Any:
    return expect("a number in [0, 1)", ge=0, lt=1)


def open_unit() -> Any:
    return expect("a number in (0, 1)", gt=0, lt=1)


# --- sections and stages -------------------------------------------------------------------

_FROM_FILE = "from_params_file"  # validation context: the input is a params file's mapping

MEMORY_LIMIT = 2**35  # bytes: the largest array one section's sizes may ask for (32 GiB)
BLOCK_OFFSETS = 2**20  # the most any block adds to `seed` (confirmation, pilot, sensitivity)
MAX_SEED = 2**63 - BLOCK_OFFSETS  # seed + offset stays an int64 (numpy, torch)


class _Missing:
    """Stands in for a key the params file leaves out; no field accepts it."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


class Section(BaseModel):
    """One section of params.yaml. Built in code, unset fields take their defaults; read from
    a params file (`parse`, `load`), every key must be written out."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    every_key: ClassVar[bool] = True  # False: a key left out of the file keeps its default
    # (key, ...): keys whose product x 4 bytes is (at least) the size of an array made from them
    arrays: ClassVar[tuple[tuple[str, ...], ...]] = ()

    @model_validator(mode="after")
    def _arrays_fit(self) -> Self:
        for dims in self.arrays:
            sizes = [getattr(self, d) for d in dims]
            if None in sizes:
                continue
            need = 4 * math.prod(sizes)
            if need > MEMORY_LIMIT:
                key = dims[max(range(len(dims)), key=lambda i: sizes[i])]
                raise PydanticCustomError(
                    "memory", "too large", {"key": key, "need": need, "dims": " x ".join(dims)}
                )
        return self

    @model_validator(mode="before")
    @classmethod
    def _absent_keys_fail(cls, data: Any, info: ValidationInfo) -> Any:
        if cls.every_key and isinstance(data, dict) and (info.context or {}).get(_FROM_FILE):
            return {**dict.fromkeys(cls.model_fields, MISSING), **data}
        return data

    @classmethod
    def parse(cls, raw: Any, name: str) -> Self:
        """The section `name` from its mapping `raw` as written in a params file, checked."""
        return _validate(cls, raw, prefix=(name,))


class Stage(BaseModel):
    """The sections one stage reads, as fields (a subclass per stage), plus the shared seed.

    Cross-section checks go in a `model_validator(mode="after")` of the subclass, raising
    ParamError with the full message.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")
    seed: Annotated[
        Int, expect("an integer in [0, 2^63 - 2^20] (offsets are added)", ge=0, le=MAX_SEED)
    ]

    @classmethod
    def parse(cls, raw: Mapping[str, Any], path: str | Path = "params.yaml") -> Self:
        """The stage's sections out of a params file's top-level mapping `raw`, checked.

        Only the sections that are fields of the stage are read, so a stage is not stopped
        by an error in a section it does not track in dvc.yaml.
        """
        return _validate(cls, {k: raw[k] for k in cls.model_fields if k in raw}, path=path)


StageT = TypeVar("StageT", bound=Stage)
ModelT = TypeVar("ModelT", bound=BaseModel)


def load(path: str | Path, schema: type[StageT]) -> StageT:
    """Load the seed and the sections of `schema` from the params file at `path`, checked."""
    return schema.parse(read_yaml(path, schema.model_fields), path)


def replace(obj: ModelT, **changes: Any) -> ModelT:
    """A copy of the frozen config `obj` with `changes`, as `dataclasses.replace`: unknown
    names raise TypeError, values are not checked (a derived config, such as a sweep's
    `checkpoint_steps=[]`, need not pass the params file's rules)."""
    unknown = sorted(set(changes) - set(type(obj).model_fields))
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {unknown[0]!r}")
    return obj.model_copy(update=changes)


# --- pydantic errors as one-line messages --------------------------------------------------


def _validate(
    model: type[ModelT], raw: Any, prefix: tuple[str, ...] = (), path: str | Path = ""
) -> ModelT:
    try:
        return model.model_validate(raw, context={_FROM_FILE: True})
    except ValidationError as err:
        first = first_error(err.errors(), depth=1 if issubclass(model, Stage) else 0)
        raise ParamError(_message(model, raw, first, prefix, path)) from None


def _message(
    model: type[BaseModel],
    raw: Any,
    err: ErrorDetails,
    prefix: tuple[str, ...],
    path: str | Path,
) -> str:
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ParamError):  # a cross-field check wrote the whole message
        return str(cause)
    owner, field, names = walk(model, err["loc"])
    key = ".".join((*prefix, *names))
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key; expected one of " + ", ".join(owner.model_fields)
    if err["type"] == "memory":  # Section._arrays_fit
        ctx = err.get("ctx") or {}
        value = lookup(raw, [*names, ctx["key"]])
        return (
            f"{key}.{ctx['key']} = {value!r}: expected sizes whose arrays fit in "
            f"{MEMORY_LIMIT / 2**30:g} GiB; {ctx['dims']} x 4 bytes needs "
            f"{ctx['need'] / 2**30:,.0f} GiB"
        )
    if field is None:  # the mapping itself
        if wrong_type(err):
            return f"{key or path}: expected a mapping of keys, got {type(err['input']).__name__}"
        return f"{key or path}: {err['msg']}"
    nested = model_of(field)
    if err["type"] == "missing" or err["input"] is MISSING:
        if nested is not None and issubclass(owner, Stage):
            return f"{key}: missing section; expected the keys of {key} in {path}"
        return f"{key}: missing; expected {expectation(field) or 'a value'}"
    if nested is not None:
        return f"{key}: expected a mapping of keys, got {type(err['input']).__name__}"
    # A list element of the wrong type is shown alone; any other failure shows the value.
    element = isinstance(err["loc"][-1], int) and wrong_type(err)
    value = err["input"] if element else lookup(raw, names)
    kind = field.annotation
    phrase = expectation(field) or (
        "true or false" if kind is bool else getattr(kind, "__name__", "a value")
    )
    return f"{key} = {value!r}: expected {phrase}"
