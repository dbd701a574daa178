"""Parameters of the pruning experiments (claim C6): the section prune, and the schemas of
the stages prune and prune_figures."""

from typing import Annotated, Any, Literal, Self, get_args

from pydantic import Field, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from imbcl.core.errors import ParamError
from imbcl.core.params import (
    Float,
    Int,
    Section,
    Stage,
    at_least,
    expect,
    open_unit,
    positive,
    unit_open,
)
from imbcl.synthetic.params import (
    AnalyzeParams,
    DataParams,
    ModelParams,
    SmallOverrides,
    SmallParams,
    TrainParams,
    sizes_ok,
)

PruneMethod = Literal[
    "magnitude_global",
    "magnitude_neuron",
    "magnitude_input",
    "magnitude_neuron_whole",
    "random",
]
PRUNE_METHODS: tuple[str, ...] = get_args(PruneMethod)


def _timing(value: Any) -> Any:
    """A pruning time: a step (int >= 0), `init` (step 0) or `stage1` (end of stage 1)."""
    if isinstance(value, bool) or not (
        (isinstance(value, int) and value >= 0) or value in ("init", "stage1")
    ):
        raise PydanticCustomError("timing", "expected a step, init or stage1")
    return value


Timing = Annotated[int | str, PlainValidator(_timing)]


class PruneParams(Section):
    """Masks on the neuron weights, masked training after them, and the sweep grid.

    `method`, `ratio` and `at` also name the pre-registered C6 candidate: fixed here before
    the runs, it is the variant whose effect C6 reports against the dense run and against
    the random mask of the same ratio and step.
    """

    method: PruneMethod = "magnitude_input"
    ratio: Annotated[Float, unit_open()] = 0.8  # share of the w entries (or neurons) zeroed
    at: Annotated[Timing, expect("a step (integer >= 0), init, or stage1")] = 200
    rewind: bool = False  # lottery ticket: mask from step `at`, weights rewound to init
    probe_c: Annotated[Float, positive()] = 1.0  # inverse L2 strength of the probe
    probe_train_fraction: Annotated[Float, open_unit()] = 0.5
    # The sweep: the `small` model (with small_overrides), more seeds.
    sweep_seeds: Annotated[Int, at_least(2)] = 5
    sweep_width: Annotated[Int, at_least(1)] = 16
    sweep_ratios: Annotated[
        list[Annotated[Float, Field(ge=0, lt=1)]],
        expect("a list of numbers in [0, 1)", min_length=1),
    ] = [0.5, 0.8, 0.9]
    sweep_at: Annotated[
        list[Timing], expect("a list of steps (integers >= 0), init or stage1", min_length=1)
    ] = ["init", 200, "stage1"]
    sweep_bias: Annotated[
        list[Literal["shared", "noise"]], expect("a list of shared, noise", min_length=1)
    ] = ["shared", "noise"]
    # The C6 small model keeps the main model's L and init (data.tokens, model.init_std).
    small_overrides: Annotated[SmallOverrides, expect("a mapping of keys of small to override")] = (
        SmallOverrides(tokens=8, init_std=0.01)
    )


class PruneStage(Stage):
    """stages/prune.py: the main runs pruned at prune.at, and the sweep on the small model
    (`scaled(data, model, train, small, prune.small_overrides)`)."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    analyze: AnalyzeParams
    small: SmallParams
    prune: PruneParams

    @model_validator(mode="after")
    def _steps(self) -> Self:
        overrides = self.prune.small_overrides
        small = self.small.with_overrides(overrides)
        if not sizes_ok(small):
            raise ParamError(
                f"prune.small_overrides = {overrides.model_dump(exclude_none=True)}: expected "
                "n_majority < n_features <= dim once applied to small"
            )
        steps_key = "prune.small_overrides.steps" if overrides.steps is not None else "small.steps"
        for name in ("at", "sweep_at"):
            value = getattr(self.prune, name)
            listed = value if isinstance(value, list) else [value]
            if any(isinstance(v, int) and v >= small.steps for v in listed):
                raise ParamError(
                    f"prune.{name} = {value!r}: expected steps below {steps_key} = {small.steps}"
                )
        if isinstance(self.prune.at, int) and self.prune.at >= self.train.steps:
            raise ParamError(
                f"prune.at = {self.prune.at}: expected a step below train.steps = "
                f"{self.train.steps}"
            )
        return self


class PruneFiguresStage(Stage):
    """stages/prune_figures.py: the figures of the pruning runs."""

    prune: PruneParams
