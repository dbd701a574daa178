"""Parameters of the pruning experiments (claim C6): the section prune (the paper's
Algorithm 1, stages prune_forward and prune_sensitivity), the section ablation (the project's
own one-shot frozen masks, stages prune and prune_figures of ablation/dvc.yaml), and the
schemas of those stages."""

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
    probability,
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


ForwardStatistic = Literal["growth", "slope", "specialists", "sign"]


class ForwardEffects(Section):
    """One number per C6 statistic of the forward-mask study (min_effect or pilot_sd)."""

    growth: Annotated[Float, positive()] = 0.1
    slope: Annotated[Float, positive()] = 0.25
    specialists: Annotated[Float, positive()] = 0.5
    sign: Annotated[Float, positive()] = 0.02


class PruneParams(Section):
    """The paper's Algorithm 1 (stages prune_forward, prune_sensitivity; synthetic.masking):
    a forward-only mask recomputed from the current weights, every parameter updated.

    The one-shot frozen masks are not the paper's method: they are the project's own
    ablation, configured in the section `ablation` (`AblationParams`). `ratio`, `unit`,
    `every` and `start` are Algorithm 1 as the C6 study runs it, fixed before the runs.
    """

    method: Literal["forward_mask"] = "forward_mask"  # the only one; one-shot: `ablation`
    ratio: Annotated[Float, unit_open()] = 0.5  # alpha: share of units masked
    unit: Literal["neuron", "entry"] = "neuron"  # neuron: the theory's unit
    every: Annotated[Int, at_least(1)] = 1  # recompute the mask every this many steps
    start: Annotated[Int, at_least(0)] = 0  # first masked step (0: from the init)
    masked_grad: Literal["zero", "straight_through"] = "zero"
    width: Annotated[Int, at_least(1)] = 16  # m of the small model of C6
    ratios: Annotated[
        list[Annotated[Float, Field(ge=1)]], expect("a list of ratios >= 1", min_length=2)
    ] = [1.0, 10.0, 50.0]  # the rho grid; must contain 1.0 (the balanced control)
    early_steps: Annotated[Int, at_least(1)] = 100  # window of the growth rate (a)
    floor: Annotated[Float, probability()] = 0.5  # specialist: >= this x best neuron
    seeds_per_block: Annotated[Int, at_least(2)] = 8  # discovery and confirmation
    primary: ForwardStatistic = "slope"  # the statistic that decides C6
    min_effect: Annotated[ForwardEffects, expect("a mapping growth/slope/...")] = ForwardEffects()
    pilot_sd: Annotated[ForwardEffects, expect("a mapping growth/slope/...")] = ForwardEffects()
    # The sensitivity map (pipeline sensitivity/dvc.yaml): alpha x every x unit per rho.
    sensitivity_alphas: Annotated[
        list[Annotated[Float, Field(ge=0, lt=1)]],
        expect("a list of numbers in [0, 1)", min_length=1),
    ] = [0.1, 0.3, 0.5, 0.7, 0.9]
    sensitivity_every: Annotated[
        list[Annotated[Int, Field(ge=1)]], expect("a list of steps >= 1", min_length=1)
    ] = [1, 50, 600]
    sensitivity_units: Annotated[
        list[Literal["neuron", "entry"]], expect("a list of neuron, entry", min_length=1)
    ] = ["neuron", "entry"]
    sensitivity_seeds: Annotated[Int, at_least(2)] = 3


class AblationParams(Section):
    """The project's own ablation of C6, not the paper's method: one-shot magnitude masks on
    the neuron weights, frozen at zero during the masked training after them, and the sweep
    grid (pipeline ablation/dvc.yaml, stages prune and prune_figures).

    `method`, `ratio` and `at` also name the pre-registered candidate: fixed here before
    the runs, it is the variant whose effect the ablation reports against the dense run and
    against the random mask of the same ratio and step.
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
    # The ablation's small model keeps the main model's L and init (data.tokens,
    # model.init_std).
    small_overrides: Annotated[SmallOverrides, expect("a mapping of keys of small to override")] = (
        SmallOverrides(tokens=8, init_std=0.01)
    )


class AblationStage(Stage):
    """stages/prune.py (the ablation): the main runs pruned at ablation.at, and the sweep on
    the small model (`scaled(data, model, train, small, ablation.small_overrides)`)."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    analyze: AnalyzeParams
    small: SmallParams
    ablation: AblationParams

    @model_validator(mode="after")
    def _steps(self) -> Self:
        overrides = self.ablation.small_overrides
        small = self.small.with_overrides(overrides)
        if not sizes_ok(small):
            raise ParamError(
                f"ablation.small_overrides = {overrides.model_dump(exclude_none=True)}: "
                "expected n_majority < n_features <= dim once applied to small"
            )
        steps_key = (
            "ablation.small_overrides.steps" if overrides.steps is not None else "small.steps"
        )
        for name in ("at", "sweep_at"):
            value = getattr(self.ablation, name)
            listed = value if isinstance(value, list) else [value]
            if any(isinstance(v, int) and v >= small.steps for v in listed):
                raise ParamError(
                    f"ablation.{name} = {value!r}: expected steps below {steps_key} = {small.steps}"
                )
        if isinstance(self.ablation.at, int) and self.ablation.at >= self.train.steps:
            raise ParamError(
                f"ablation.at = {self.ablation.at}: expected a step below train.steps = "
                f"{self.train.steps}"
            )
        return self


class PruneForwardStage(Stage):
    """stages/prune_forward.py and stages/prune_sensitivity.py: Algorithm 1 on the small
    model (`scaled(data, model, train, small)`) at width prune.width."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    analyze: AnalyzeParams
    small: SmallParams
    prune: PruneParams

    @model_validator(mode="after")
    def _forward(self) -> Self:
        p = self.prune
        if 1.0 not in p.ratios:
            raise ParamError(f"prune.ratios = {p.ratios}: expected the balanced control 1.0")
        if p.start >= self.small.steps:
            raise ParamError(
                f"prune.start = {p.start}: expected a step below small.steps = {self.small.steps}"
            )
        if p.early_steps > self.small.steps:
            raise ParamError(
                f"prune.early_steps = {p.early_steps}: expected at most "
                f"small.steps = {self.small.steps}"
            )
        return self


class AblationFiguresStage(Stage):
    """stages/prune_figures.py: the figures of the ablation's pruning runs."""

    ablation: AblationParams
