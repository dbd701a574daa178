"""Parameters of the pruning experiments (claim C6): the section prune (the paper's
Algorithm 1, stages prune_forward and prune_sensitivity) and the schema of those stages."""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from imbcl.core.errors import ParamError
from imbcl.core.params import (
    Float,
    Int,
    Section,
    Stage,
    at_least,
    expect,
    positive,
    probability,
    unit_open,
)
from imbcl.synthetic.params import (
    AnalyzeParams,
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
)

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

    `alpha`, `unit`, `every`, `start` and `masked_grad` are Algorithm 1 as the C6 study runs
    it, fixed before the runs.
    """

    method: Literal["forward_mask"] = "forward_mask"  # the only one
    alpha: Annotated[Float, unit_open()] = 0.5  # share of units masked
    unit: Literal["neuron", "entry"] = "neuron"  # neuron: the theory's unit
    every: Annotated[Int, at_least(1)] = 50  # recompute the mask every this many steps
    start: Annotated[Int, at_least(0)] = 0  # first masked step (0: from the init)
    masked_grad: Literal["exact", "dense"] = "dense"  # synthetic.masking
    width: Annotated[Int, at_least(1)] = 16  # m of the small model of C6
    rhos: Annotated[
        list[Annotated[Float, Field(ge=1)]], expect("a list of ratios >= 1", min_length=2)
    ] = [1.0, 10.0, 50.0]  # the rho grid; must contain 1.0 (the balanced control)
    premise_margin: Annotated[Float, positive()] = 0.1  # dense log(min/maj) below -this
    condition_min_effect: Annotated[Float, positive()] = 0.25  # margin of effect(rho)
    early_steps: Annotated[Int, at_least(1)] = 100  # window of the growth rate (a)
    mechanism_steps: Annotated[
        list[Annotated[Int, Field(ge=0)]], expect("a list of steps >= 0", min_length=1)
    ] = [0, 100, 200, 300, 400, 500]  # pruning.mechanism
    floor: Annotated[Float, probability()] = 0.5  # specialist: >= this x best neuron
    seeds_per_block: Annotated[Int, at_least(2)] = 6  # discovery and confirmation
    primary: ForwardStatistic = "slope"  # the row's value (evidence); conditions decide C6
    min_effect: Annotated[ForwardEffects, expect("a mapping growth/slope/...")] = ForwardEffects()
    pilot_sd: Annotated[ForwardEffects, expect("a mapping growth/slope/...")] = ForwardEffects(
        growth=0.1867, slope=0.072, specialists=0.289, sign=0.032
    )
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


class PruneForwardStage(Stage):
    """stages/prune_forward.py and stages/prune_sensitivity.py: Algorithm 1 on the small
    model (`scaled(data, model, train, small)`) at width prune.width."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    analyze: AnalyzeParams
    small: SmallParams
    prune: PruneParams
    health: HealthParams  # the certificate of C1-C5, for every run that decides C6

    @model_validator(mode="after")
    def _forward(self) -> Self:
        p = self.prune
        if 1.0 not in p.rhos:
            raise ParamError(f"prune.rhos = {p.rhos}: expected the balanced control 1.0")
        if p.start >= self.small.steps:
            raise ParamError(
                f"prune.start = {p.start}: expected a step below small.steps = {self.small.steps}"
            )
        bad = [t for t in p.mechanism_steps if not p.start <= t < self.small.steps]
        if bad:
            raise ParamError(
                f"prune.mechanism_steps = {p.mechanism_steps}: expected masked steps in "
                f"[prune.start, small.steps) = [{p.start}, {self.small.steps})"
            )
        if p.early_steps > self.small.steps:
            raise ParamError(
                f"prune.early_steps = {p.early_steps}: expected at most "
                f"small.steps = {self.small.steps}"
            )
        return self
