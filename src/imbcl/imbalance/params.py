"""Parameters of the imbalance sweeps (claims C3-C5): the section sweep, and the schemas of
the stages sweep and imbalance."""

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
    nonneg,
    open_unit,
    probability,
)
from imbcl.synthetic.params import (
    AnalyzeParams,
    CalibrateParams,
    DataParams,
    ModelParams,
    SmallParams,
    TrainParams,
)


class SweepParams(Section):
    """The (rho x width x seed) grid of claims C3-C5, run with the `small` model, and the
    decision rules, fixed before the sweep is run."""

    ratios: Annotated[
        list[Annotated[Float, Field(ge=1)]], expect("a list of ratios >= 1", min_length=1)
    ] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
    widths: Annotated[
        list[Annotated[Int, Field(ge=1)]], expect("a list of widths >= 1", min_length=1)
    ] = [4, 8, 16, 32, 64]
    seeds: Annotated[Int, at_least(2)] = 5  # runs per grid cell: seed, seed + 1, ...
    test_ratio: Annotated[Float, at_least(1.0)] = 10.0  # C3, C5 compare this rho with 1
    cover_share: Annotated[Float, open_unit()] = 0.5  # m*: 'most seeds'
    slope_min: Annotated[Float, nonneg()] = 0.0  # C4: the slope's interval must lie above
    bootstrap: Annotated[Int, at_least(10)] = 1000  # resamples of seeds for the m* slope

    @model_validator(mode="after")
    def _grid(self) -> Self:
        if 1.0 not in self.ratios:
            raise ParamError(f"sweep.ratios = {self.ratios}: expected the control ratio 1.0")
        if self.test_ratio not in self.ratios:
            raise ParamError(
                f"sweep.test_ratio = {self.test_ratio:g}: expected one of sweep.ratios"
            )
        for key, grid in (("ratios", self.ratios), ("widths", self.widths)):
            if list(grid) != sorted(set(grid)):
                raise ParamError(f"sweep.{key} = {grid}: expected increasing, distinct values")
        return self


class SweepStage(Stage):
    """stages/sweep.py: the grid's runs, on `scaled(data, model, train, small)`."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    small: SmallParams
    sweep: SweepParams


class ImbalanceStage(Stage):
    """stages/imbalance.py: claims C3-C5 (model.bias_final, the small model's sizes in the
    figure captions)."""

    model: ModelParams
    analyze: AnalyzeParams
    sweep: SweepParams
    small: SmallParams


class RegimesParams(Section):
    """The regime maps: the small model at the sweep's widest width over bias level (the
    calibrate candidates) x rho x attention variant, with each cell's health."""

    ratios: Annotated[
        list[Annotated[Float, Field(ge=1)]], expect("a list of ratios >= 1", min_length=1)
    ] = [1.0, 10.0, 50.0]
    attentions: Annotated[
        list[Literal["identity_fixed", "identity_trained", "uniform_fixed", "uniform_trained"]],
        expect("a list of model.attention variants", min_length=1),
    ] = ["identity_fixed", "uniform_trained"]
    seeds: Annotated[Int, at_least(2)] = 5  # runs per cell: seed, seed + 1, ...
    # C3 counts neuron i for feature j only when |<u_i, M_j>| >= strength_floor times the
    # run's strongest feature strength max_j max_i |<u_i, M_j>| (a count without a floor
    # rewards sparsity itself)
    strength_floor: Annotated[Float, probability()] = 0.5


class RegimesStage(Stage):
    """stages/regimes.py: the regime maps (calibrate: the candidates and health thresholds)."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    small: SmallParams
    sweep: SweepParams
    calibrate: CalibrateParams
    analyze: AnalyzeParams
    regimes: RegimesParams
