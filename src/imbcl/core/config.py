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

from imbcl.core.errors import ParamError

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
    # fixed: p_majority and noise_std as given; paper: the scales of the paper's Assumption 3.1
    # (synthetic/data.py): p_maj = frequency_scale * log log K / K, and
    # noise_std^2 = noise_scale * sqrt(log K) / K, K = n_features (the paper's d).
    frequency: str = choice("fixed", "fixed", "paper")
    frequency_scale: float = positive(1.0)  # frequency = paper: the constant in front
    noise: str = choice("fixed", "fixed", "paper")
    noise_scale: float = nonneg(1.0)  # noise = paper: the constant in front of sigma^2
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
        if self.frequency == "paper":
            k = self.n_features
            if k < 3:  # log log K <= 0 for K <= e
                raise ParamError(
                    f"data.n_features = {k}: expected at least 3 when data.frequency = paper"
                )
            if self.frequency_scale * math.log(math.log(k)) / k > 1:
                raise ParamError(
                    f"data.frequency_scale = {self.frequency_scale:g}: expected at most "
                    f"K / log log K = {k / math.log(math.log(k)):.4g} (a probability <= 1)"
                )


@dataclass(frozen=True)
class ModelConfig:
    """The Transformer-MLP encoder and its bias schedule."""

    width: int = at_least(64, 1)  # m: number of BReLU neurons
    init_std: float = positive(0.01)  # std of neuron weights w_i at init (times 1/sqrt(d))
    # W_Q, W_K, W_V at init and whether they are trained: uniform_* draws W_Q, W_K ~
    # N(0, attn_init_std^2) (near-uniform attention) and sets W_V = I; identity_* sets all
    # three to I (the paper's theory: identity_fixed).
    attention: str = choice(
        "uniform_trained", "uniform_trained", "uniform_fixed", "identity_fixed", "identity_trained"
    )
    attn_init_std: float = nonneg(0.01)  # std of W_Q, W_K at init with uniform_*
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
    # manual: the hand-written gradient; autograd: torch autograd through a plain forward
    # (the same update, a rounding perturbation of it)
    backend: str = choice("manual", "manual", "autograd")


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
        raise ParamError(
            f"{path}: file not found; expected a params.yaml with the sections "
            + ", ".join(["seed", *SECTIONS])
        )
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
    built: dict[str, Any] = {}
    for name in sections:
        if name not in raw:
            raise ParamError(f"{name}: missing section; expected the keys of {name} in {path}")
        built[name] = build(schema[name], raw[name], name)
    return Params(seed=seed, sections=built)


def as_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


# --- section: sweep (imbalance sweeps, claims C3-C5) --------------------------------------


@dataclass(frozen=True)
class SweepConfig:
    """The imbalance sweeps of claims C3-C5: a (rho x width x seed) grid of small runs.

    The grid runs a smaller model than `train` so the whole grid fits the default pipeline's
    time budget; every other setting (lr, tau, weight decay, view, noise, p_majority, bias
    schedule shape) is taken from the data, model and train sections.
    """

    ratios: list[float] = floats(
        [1.0, 2.0, 5.0, 10.0, 20.0, 50.0], lambda v: v >= 1, "a list of ratios >= 1"
    )
    widths: list[int] = ints([4, 8, 16, 32, 64], lambda v: v >= 1, "a list of widths >= 1")
    seeds: int = at_least(5, 2)  # runs per grid cell: seed, seed + 1, ...
    dim: int = at_least(16, 2)  # d of the sweep runs
    n_features: int = at_least(8, 2)  # K of the sweep runs
    n_majority: int = at_least(4, 1)
    tokens: int = at_least(4, 1)  # L of the sweep runs
    steps: int = at_least(600, 1)
    batch: int = at_least(64, 2)
    lr: float = positive(0.2)  # larger than train.lr so runs leave the init within `steps`
    init_std: float = positive(0.1)  # neuron init std (times 1/sqrt(d)), as model.init_std
    bias_ramp_steps: int = at_least(300, 1)  # b(t) ramps to model.bias_final over these
    # Decision rules (fixed before the sweep is run).
    test_ratio: float = at_least(10.0, 1.0)  # C3, C5 compare this rho with the control
    cover_share: float = _num(0.5, lambda v: 0 < v < 1, "a number in (0, 1)")  # m*: 'most seeds'
    slope_min: float = nonneg(0.0)  # C4: the slope's interval must lie above this
    bootstrap: int = at_least(1000, 10)  # resamples of seeds for the m* slope interval

    def check(self) -> None:
        if self.n_features > self.dim or self.n_majority >= self.n_features:
            raise ParamError(
                f"sweep.n_features = {self.n_features}, sweep.n_majority = "
                f"{self.n_majority}: expected n_majority < n_features <= sweep.dim"
            )
        if 1.0 not in self.ratios:
            raise ParamError(f"sweep.ratios = {self.ratios}: expected the control ratio 1.0")
        if self.test_ratio not in self.ratios:
            raise ParamError(
                f"sweep.test_ratio = {self.test_ratio:g}: expected one of sweep.ratios"
            )
        for key, grid in (("ratios", self.ratios), ("widths", self.widths)):
            if list(grid) != sorted(set(grid)):
                raise ParamError(f"sweep.{key} = {grid}: expected increasing, distinct values")


SECTIONS["sweep"] = SweepConfig


# --- section: real (the long-tailed image track, claim C7) ---------------------------------


@dataclass(frozen=True)
class RealConfig:
    """The real long-tailed image track: data, small ViT + SimCLR, pruning, probe, claim C7.

    One section for three stages; dvc.yaml lists, per stage, only the keys it reads.
    """

    # stage longtail_data
    dataset: str = choice("digits", "digits", "cifar10", "cifar100", "imagefolder")
    root: str = ""  # cifar*: the python-format batches; imagefolder: the class-per-folder tree
    train_list: str = ""  # imagefolder: optional '<relative path> <label>' list (training split)
    test_list: str = ""  # imagefolder: optional list of the balanced test split
    image_side: int = at_least(32, 4)  # imagefolder: images resized to image_side^2 pixels
    imbalance_ratio: float = at_least(10.0, 1.0)  # rho: n_0 / n_{C-1} of the training split
    test_per_class: int = at_least(50, 1)  # held-out images per class (when no test split ships)
    probe_per_class: int = at_least(80, 1)  # balanced probe-training images per class
    # stage longtail_train: encoder, views, optimiser
    patch: int = at_least(2, 1)  # patch side in pixels; must divide the image side
    embed_dim: int = at_least(32, 4)  # token width of the ViT
    depth: int = at_least(2, 1)  # Transformer blocks
    heads: int = at_least(2, 1)  # attention heads; must divide embed_dim
    mlp_neurons: int = at_least(64, 1)  # MLP neurons per block (the pruned weights)
    proj_dim: int = at_least(32, 1)  # projection-head output (discarded for the probe)
    steps: int = at_least(250, 1)
    batch: int = at_least(128, 2)  # images per step (two views each), over all processes
    lr: float = positive(2.0e-3)  # AdamW
    weight_decay: float = nonneg(1.0e-4)
    temperature: float = positive(0.2)  # NT-Xent tau
    crop_pad: int = at_least(1, 0)  # random crop after zero padding by this many pixels
    flip: bool = False  # horizontal flips (wrong for digits, right for CIFAR)
    noise_std: float = nonneg(0.1)  # Gaussian pixel noise, in units of normalised pixels
    mask_patches: float = unit_open(0.25)  # share of patches zeroed in each view
    # pruning (magnitude, its random control, SDCLR)
    prune_ratio: float = _num(0.8, lambda v: 0 < v < 1, "a number in (0, 1)")
    prune_at: int = at_least(100, 0)  # step of the one-shot mask (pruned / random runs)
    prune_granularity: str = choice("input", "global", "neuron", "input")
    sdclr_every: int = at_least(50, 1)  # SDCLR re-derives its branch mask this often (steps)
    seeds: int = at_least(3, 1)  # seeds seed .. seed+seeds-1, for each variant
    nproc: int = at_least(1, 1)  # > 1: torchrun with DistributedDataParallel
    device: str = choice("cpu", "cpu", "cuda", "auto")
    threads: int = at_least(1, 0)  # CPU threads per process; 0 = torch's default
    # stage longtail_eval
    split_rule: str = choice("thirds", "thirds", "counts")  # many / medium / few
    many_min: int = at_least(100, 0)  # counts rule: many-shot = more than many_min images
    few_max: int = at_least(20, 0)  # counts rule: few-shot = fewer than few_max images
    probe_c: float = positive(1.0)  # inverse L2 strength of the logistic-regression probe
    knn_k: int = at_least(20, 1)
    knn_temperature: float = positive(0.07)  # weights exp(cos / T), as in DINO / solo-learn
    confidence: float = _num(0.95, lambda v: 0 < v < 1, "a number in (0, 1)")

    def check(self) -> None:
        if self.dataset in ("cifar10", "cifar100", "imagefolder") and not self.root:
            raise ParamError(
                f"real.root = '': expected the folder holding the {self.dataset} "
                "data when real.dataset is " + self.dataset
            )
        if self.embed_dim % self.heads:
            raise ParamError(
                f"real.heads = {self.heads}: expected a divisor of "
                f"real.embed_dim = {self.embed_dim}"
            )
        if self.batch % self.nproc:
            raise ParamError(
                f"real.batch = {self.batch}: expected a multiple of real.nproc = {self.nproc}"
            )
        if self.prune_at >= self.steps:
            raise ParamError(
                f"real.prune_at = {self.prune_at}: expected fewer than real.steps = {self.steps}"
            )
        if self.many_min < self.few_max:
            raise ParamError(
                f"real.many_min = {self.many_min}: expected >= real.few_max = {self.few_max}"
            )


SECTIONS["real"] = RealConfig


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
