"""Parameters of the race study (section `race`, stage race of study/dvc.yaml): the cells of
the grid, the pre-registered race index's thresholds, the rule that reads a run's outcome,
and the two-scale oracle's grid of rho."""

from typing import Annotated, Self

from pydantic import model_validator

from imbcl.core.errors import ParamError
from imbcl.core.params import (
    Float,
    Int,
    Section,
    Stage,
    at_least,
    nonneg,
    positive,
    probability,
)
from imbcl.synthetic.params import DataParams, ModelParams, SmallParams, TrainParams

Ratio = Annotated[Float, at_least(1.0)]


class Cell(Section):
    """One setting of the race: rho, the bias ramp (final level, steps), the neuron init
    scale (init_std, times 1/sqrt(d)), the learning rate and the training length."""

    rho: Ratio
    bias: Annotated[Float, positive()]
    ramp: Annotated[Int, at_least(1)]
    init_std: Annotated[Float, positive()]
    lr: Annotated[Float, positive()]
    steps: Annotated[Int, at_least(1)]


class Routes(Section):
    """Cells that move one input of `base` at a time (confirmation)."""

    ramp: list[Annotated[Int, at_least(1)]]
    bias: list[Annotated[Float, positive()]]
    init_std: list[Annotated[Float, positive()]]
    lr: list[Annotated[Float, positive()]]
    rho: list[Ratio]
    steps: list[Annotated[Int, at_least(1)]]


class Thresholds(Section):
    """The index's cut points, set on the discovery cells only (study.fit_thresholds)."""

    kappa: Annotated[Float, nonneg()]  # weight of the steps after the ramp in the budget
    dead: Annotated[Float, nonneg()]  # majority index below it: encoder dead
    learned: Annotated[Float, nonneg()]  # minority index below it: minority frozen
    stronger: Annotated[Float, nonneg()]  # minority index at or above it: minority stronger


class Observed(Section):
    """The rule that reads a run's outcome from its final neurons (fixed before the runs)."""

    clear_factor: Annotated[
        Float, positive()
    ]  # feature j learned: max_i |<u_i, M_j>| > this x b(T)
    group_share: Annotated[Float, probability()]  # a group learned: > this share of it
    stronger_ratio: Annotated[Float, positive()]  # minority / majority strength above it: stronger


class RaceParams(Section):
    width: Annotated[Int, at_least(1)]  # m of every run
    seeds: Annotated[Int, at_least(1)]  # runs per cell
    confirmation_seed: Annotated[Int, at_least(1)]  # confirmation seeds start at seed + this
    log_every: Annotated[Int, at_least(1)]  # every cell's steps must be a multiple of it
    base: Cell  # the small model's setting the routes move away from
    discovery_ratios: list[Ratio]  # discovery: rho x ramp x steps at the base's other inputs
    discovery_ramps: list[Annotated[Int, at_least(1)]]
    discovery_steps: list[Annotated[Int, at_least(1)]]
    routes: Routes  # confirmation, small model
    default_cells: list[Cell]  # confirmation, the default-size model (data, model, train)
    default_seeds: Annotated[Int, at_least(1)]
    thresholds: Thresholds
    observed: Observed
    oracle_ratios: list[Ratio]  # the two-scale oracle's rho
    oracle_batches: Annotated[Int, at_least(1)]  # held-out batches of B pairs per rho


class RaceStage(Stage):
    """stages/race.py: the race grid on the small model (`scaled(data, model, train, small)`,
    with race.width) and a few default-size cells."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    small: SmallParams
    race: RaceParams

    @model_validator(mode="after")
    def _steps(self) -> Self:
        r = self.race
        steps = [
            r.base.steps,
            *r.discovery_steps,
            *r.routes.steps,
            *(c.steps for c in r.default_cells),
        ]
        bad = [s for s in steps if s % r.log_every]
        if bad:
            raise ParamError(
                f"race: steps {bad[0]}: expected a multiple of race.log_every = {r.log_every}"
            )
        return self
