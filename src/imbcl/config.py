"""Typed parameters: one dataclass per `params.yaml` section, checked on load.

`params.yaml` is read with ruamel.yaml (YAML 1.2, the dialect DVC itself writes), so a float
written by `dvc exp run -S lr=0.000001` as `1e-06` loads as a number, not as the string
PyYAML (YAML 1.1) would make of it.

Every field carries its check and a phrase saying what is expected. A wrong, missing or
unknown key raises `ParamError`, whose message names the dotted key and the expectation in
one line; stage scripts turn it into a non-zero exit before anything is written.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class ParamError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


# --- field helpers -----------------------------------------------------------------------
# Each helper returns a dataclass field whose metadata holds a predicate and the phrase
# shown to the user when the predicate fails.


def _num(default: Any, ok: Callable[[float], bool], expect: str) -> Any:
    return field(default=default, metadata={"ok": ok, "expect": expect})


def positive(default: float) -> Any:
    return _num(default, lambda v: v > 0, "a number > 0")


def nonneg(default: float) -> Any:
    return _num(default, lambda v: v >= 0, "a number >= 0")


def at_least(default: float, low: float) -> Any:
    return _num(default, lambda v: v >= low, f"a number >= {low:g}")


def probability(default: float) -> Any:
    return _num(default, lambda v: 0 <= v <= 1, "a probability in [0, 1]")


def unit_open(default: float) -> Any:
    return _num(default, lambda v: 0 <= v < 1, "a number in [0, 1)")


def choice(default: str, *options: str) -> Any:
    return field(
        default=default,
        metadata={"ok": lambda v: v in options, "expect": "one of " + ", ".join(options)},
    )


def floats(default: list[float], ok: Callable[[float], bool], expect: str) -> Any:
    return field(
        default_factory=lambda: list(default),
        metadata={"ok": lambda v: len(v) > 0 and all(ok(x) for x in v), "expect": expect},
    )


def ints(default: list[int], ok: Callable[[int], bool], expect: str) -> Any:
    return floats(default, ok, expect)  # type: ignore[arg-type]


# --- sections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    """The sparse-coding data model (stage `synthesize`, also read by `train`)."""

    dim: int = at_least(64, 2)  # d: token dimension
    n_features: int = at_least(20, 2)  # K: dictionary atoms (orthonormal, K <= d)
    n_majority: int = at_least(10, 1)  # the first n_majority features are the majority group
    tokens: int = at_least(8, 1)  # L: tokens per sample
    imbalance_ratio: float = at_least(10.0, 1.0)  # rho: majority / minority activation rate
    p_majority: float = probability(0.25)  # activation probability of a majority feature
    noise_std: float = nonneg(0.1)  # per-coordinate std of the Gaussian token noise
    basis: str = choice("identity", "identity", "random")  # M = I[:, :K] or random orthonormal
    view: str = choice("noise", "noise", "mask")  # positive pair: redrawn noise, or masks
    eval_samples: int = at_least(2048, 16)  # balanced held-out samples for probes

    def check(self) -> None:
        if self.n_features > self.dim:
            raise ParamError(
                f"data.n_features = {self.n_features}: expected at most data.dim = {self.dim}"
            )
        if self.n_majority >= self.n_features:
            raise ParamError(
                f"data.n_majority = {self.n_majority}: expected fewer than "
                f"data.n_features = {self.n_features} (the rest are the minority group)"
            )


@dataclass(frozen=True)
class ModelConfig:
    """The Transformer-MLP encoder and its bias schedule."""

    width: int = at_least(64, 1)  # m: number of BReLU neurons
    init_std: float = positive(0.01)  # std of neuron weights w_i at init (times 1/sqrt(d))
    attn_init_std: float = nonneg(0.01)  # std of W_Q, W_K at init (W_V starts at identity)
    train_attention: bool = True  # train W_Q, W_K, W_V or keep them at init
    bias_schedule: str = choice("ramp", "ramp", "constant")
    bias_final: float = nonneg(0.3)  # b after the ramp
    bias_ramp_steps: int = at_least(1000, 1)  # b(t) = bias_final * min(1, t / bias_ramp_steps)


@dataclass(frozen=True)
class TrainConfig:
    """Contrastive training: InfoNCE with stop-gradient, plain SGD."""

    steps: int = at_least(2000, 1)
    batch: int = at_least(256, 2)  # samples per step (2 views each); not 'size', see README
    lr: float = positive(0.05)
    temperature: float = positive(0.5)
    weight_decay: float = nonneg(1.0e-3)  # lambda in (lambda / 2) * ||theta||^2
    log_every: int = at_least(20, 1)
    seeds: int = at_least(3, 1)  # runs per imbalance ratio: seed, seed + 1, ...
    control_ratio: float = at_least(1.0, 1.0)  # the balanced control rho
    checkpoint_steps: list[int] = ints(
        [0, 200, 500], lambda v: isinstance(v, int) and v >= 0, "a list of steps >= 0"
    )
    block_steps: int = at_least(50, 1)  # steps of data drawn at once per run
    batched_runs: int = at_least(16, 1)  # at most this many runs are trained together
    device: str = choice("cpu", "cpu", "cuda", "auto")


@dataclass(frozen=True)
class AnalyzeConfig:
    """Stage detection and the decision rules of claims C1 and C2."""

    n_stages: int = at_least(3, 2)  # segments sought by the change-point search
    min_stage_logs: int = at_least(3, 2)  # shortest stage, in logged points
    stage_gain_min: float = probability(0.5)  # C1: share of 2-stage residual the 3rd removes
    specialise_threshold: float = probability(0.7)  # normalised alignment for specialisation
    learned_fraction: float = probability(0.5)  # C2: 'learned' = reached this share of final
    confidence: float = _num(0.95, lambda v: 0 < v < 1, "a number in (0, 1)")


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "analyze": AnalyzeConfig,
}

T = TypeVar("T")


# --- loading -------------------------------------------------------------------------------


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a params file as plain dicts (YAML 1.2), with a clear error when it is absent."""
    path = Path(path)
    if not path.is_file():
        raise ParamError(f"{path}: file not found; expected a params.yaml with the sections "
                         + ", ".join(["seed", *SECTIONS]))
    try:
        raw = YAML(typ="safe", pure=True).load(path.read_text())
    except YAMLError as err:
        raise ParamError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ParamError(f"{path}: expected a mapping of sections at the top level")
    return raw


def _coerce(key: str, value: Any, kind: Any, expect: str) -> Any:
    """Return `value` as `kind`, or raise ParamError naming `key`."""
    bad = ParamError(f"{key} = {value!r}: expected {expect}")
    if kind is object:  # a free-form field (a step or a name): the field's own check decides
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ParamError(f"{key} = {value!r}: expected true or false")
        return value
    if isinstance(value, bool):  # bool is an int in Python; never accept it as a number
        raise bad
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise bad
        return value
    if kind is float:
        if isinstance(value, str):  # a YAML 1.1 float such as '1e-3' that slipped through
            try:
                value = float(value)
            except ValueError:
                raise bad from None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise bad
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise bad
        return value
    if getattr(kind, "__origin__", None) is list:
        if not isinstance(value, list):
            raise bad
        (inner,) = kind.__args__
        return [_coerce(key, v, inner, expect) for v in value]
    raise TypeError(f"unsupported parameter type {kind!r} for {key}")  # a bug, not user input


def build(cls: type[T], raw: Any, section: str) -> T:
    """Build the dataclass `cls` from the mapping `raw` of section `section`, checking all."""
    if not isinstance(raw, dict):
        raise ParamError(f"{section}: expected a mapping of keys, got {type(raw).__name__}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParamError(
            f"{section}.{unknown[0]}: unknown key; expected one of " + ", ".join(fields)
        )
    values = {}
    for name, f in fields.items():
        key = f"{section}.{name}"
        if name not in raw:
            raise ParamError(f"{key}: missing; expected {f.metadata.get('expect', 'a value')}")
        expect = f.metadata.get("expect", hints[name].__name__)
        value = _coerce(key, raw[name], hints[name], expect)
        ok = f.metadata.get("ok")
        if ok is not None and not ok(value):
            raise ParamError(f"{key} = {raw[name]!r}: expected {expect}")
        values[name] = value
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        check()
    return obj


@dataclass(frozen=True)
class Params:
    """The sections a stage asked for, plus the shared seed."""

    seed: int
    sections: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.sections[name]
        except KeyError:
            raise AttributeError(name) from None


def load(path: str | Path, *sections: str, schema: dict[str, type] | None = None) -> Params:
    """Load `seed` and the named sections of the params file, each checked.

    Sections not named are not read, so a stage is not stopped by an error in a section it
    does not track in dvc.yaml. `schema` lets later modules add their own sections.
    """
    schema = {**SECTIONS, **(schema or {})}
    raw = read_yaml(path)
    if "seed" not in raw:
        raise ParamError("seed: missing; expected an integer >= 0")
    seed = _coerce("seed", raw["seed"], int, "an integer >= 0")
    if seed < 0:
        raise ParamError(f"seed = {seed}: expected an integer >= 0")
    built = {}
    for name in sections:
        if name not in raw:
            raise ParamError(f"{name}: missing section; expected the keys of {name} in {path}")
        built[name] = build(schema[name], raw[name], name)
    return Params(seed=seed, sections=built)


def defaults(cls: type[T]) -> T:
    """The dataclass with every default; handy for tests and small scripts."""
    return cls()


def as_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


# --- section prune (stage prune) -----------------------------------------------------------

PRUNE_METHODS = (
    "magnitude_global",
    "magnitude_neuron",
    "magnitude_input",
    "magnitude_neuron_whole",
    "random",
)


def _is_timing(v: object) -> bool:
    """A pruning time: a step (int >= 0), `init` (step 0) or `stage1` (end of stage 1)."""
    if isinstance(v, bool):
        return False
    return (isinstance(v, int) and v >= 0) or v in ("init", "stage1")


_TIMING = "a step (integer >= 0), init, or stage1"


@dataclass(frozen=True)
class PruneConfig:
    """Masks on the neuron weights, masked training after them, and the sweep grid.

    `method`, `ratio` and `at` also name the pre-registered C6 candidate: fixed here before
    the runs, it is the variant whose effect C6 reports against the dense run and against
    the random mask of the same ratio and step.
    """

    method: str = choice("magnitude_input", *PRUNE_METHODS)
    ratio: float = unit_open(0.8)  # share of the w entries (or neurons) set to zero
    at: object = field(default=200, metadata={"ok": _is_timing, "expect": _TIMING})
    rewind: bool = False  # lottery ticket: mask from step `at`, weights rewound to init (main)
    probe_c: float = positive(1.0)  # inverse L2 strength of the logistic-regression probe
    probe_train_fraction: float = _num(0.5, lambda v: 0 < v < 1, "a number in (0, 1)")
    # The sweep: a smaller model than the main runs so the whole grid stays cheap.
    sweep_seeds: int = at_least(5, 2)
    sweep_dim: int = at_least(16, 2)
    sweep_features: int = at_least(8, 2)
    sweep_majority: int = at_least(4, 1)
    sweep_width: int = at_least(16, 1)
    sweep_steps: int = at_least(600, 2)
    sweep_batch: int = at_least(64, 2)
    sweep_lr: float = positive(0.2)  # the small model learns in fewer steps at a larger lr
    sweep_bias_ramp_steps: int = at_least(300, 1)
    sweep_ratios: list[float] = floats(
        [0.5, 0.8, 0.9], lambda v: 0 <= v < 1, "a list of numbers in [0, 1)"
    )
    sweep_at: list[object] = field(
        default_factory=lambda: ["init", 200, "stage1"],
        metadata={
            "ok": lambda v: len(v) > 0 and all(_is_timing(x) for x in v),
            "expect": "a list of steps (integers >= 0), init or stage1",
        },
    )
    sweep_bias: list[str] = field(
        default_factory=lambda: ["shared", "noise"],
        metadata={
            "ok": lambda v: len(v) > 0 and all(x in ("shared", "noise") for x in v),
            "expect": "a list of shared, noise",
        },
    )

    def check(self) -> None:
        if self.sweep_majority >= self.sweep_features or self.sweep_features > self.sweep_dim:
            raise ParamError(
                f"prune.sweep_features = {self.sweep_features}: expected more than "
                f"prune.sweep_majority = {self.sweep_majority} and at most "
                f"prune.sweep_dim = {self.sweep_dim}"
            )
        for name in ("at", "sweep_at"):
            value = getattr(self, name)
            listed = value if isinstance(value, list) else [value]
            steps = [v for v in listed if isinstance(v, int)]
            if any(s >= self.sweep_steps for s in steps):
                raise ParamError(
                    f"prune.{name} = {getattr(self, name)!r}: expected steps below "
                    f"prune.sweep_steps = {self.sweep_steps}"
                )


SECTIONS["prune"] = PruneConfig
