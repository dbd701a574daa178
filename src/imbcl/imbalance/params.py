"""Parameters of the imbalance sweeps (claims C3-C5): the section sweep, and the schemas of
the stages sweep and imbalance."""

from typing import Annotated, Literal, Self, TypeVar

from pydantic import Field, model_validator

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
)
from imbcl.synthetic.params import (
    AnalyzeParams,
    CalibrateParams,
    ClaimRule,
    DataParams,
    HealthParams,
    ModelParams,
    SmallParams,
    TrainParams,
)

S = TypeVar("S", bound=Section)


def increasing(section: S, name: str, keys: tuple[str, ...]) -> S:
    """`section` itself when each of its grids `keys` is increasing and distinct; else a
    ParamError naming `name.key`."""
    for key in keys:
        grid = list(getattr(section, key))
        if grid != sorted(set(grid)):
            raise ParamError(f"{name}.{key} = {grid}: expected increasing, distinct values")
    return section


class ConditionRules(Section):
    """Equivalence margins of the per-rho conditions of C3-C5 (core.regime), each in its
    statistic's units: the gap at rho minus the seed's own gap at rho = 1."""

    c3: Annotated[Float, positive()] = 0.2  # specialists per feature
    c4: Annotated[Float, positive()] = 0.5  # grid widths (doublings of m)
    c5: Annotated[Float, positive()] = 0.1  # log10 of the feature-to-noise ratio


class SweepParams(Section):
    """The (rho x width x seed) grid of claims C3-C5, run with the `small` model, and the
    decision rules, fixed before the sweep is run."""

    ratios: Annotated[
        list[Annotated[Float, Field(ge=1)]], expect("a list of ratios >= 1", min_length=1)
    ] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
    widths: Annotated[
        list[Annotated[Int, Field(ge=1)]], expect("a list of widths >= 1", min_length=1)
    ] = [4, 8, 16, 32, 64]
    # seeds per replication block in every (rho, m) cell: discovery seed .. seed+n-1,
    # confirmation seed+n .. seed+2n-1
    seeds_per_block: Annotated[Int, at_least(2)] = 14
    test_ratio: Annotated[Float, at_least(1.0)] = 10.0  # C3, C5 evidence: this rho against 1
    cover_share: Annotated[Float, open_unit()] = 0.5  # pooled m*: 'most seeds'
    bootstrap: Annotated[Int, at_least(10)] = 1000  # resamples of seeds for the pooled m* slope
    # C3: a specialist of feature j also reads j at >= this share of the run's strongest
    # neuron-feature component (a count without a strength floor rewards sparsity)
    strength_floor: Annotated[Float, probability()] = 0.5
    conditions: ConditionRules = ConditionRules()  # the per-rho family (core.regime)
    # converged: each condition's value moves over the last plateau_window of training by
    # less than plateau_bound x max(|value|, its margin); else the value is dated "at step T"
    plateau_window: Annotated[Float, open_unit()] = 0.2
    plateau_bound: Annotated[Float, positive()] = 0.05
    c3: ClaimRule = ClaimRule(min_effect=0.1, pilot_sd=0.084)  # slope of the specialist gap
    c4: ClaimRule = ClaimRule(min_effect=0.1, pilot_sd=0.067)  # slope of log m* on log rho
    c5: ClaimRule = ClaimRule(min_effect=0.05, pilot_sd=0.032)  # slope of the separation gap

    @property
    def seeds(self) -> int:
        """Runs per grid cell: both blocks."""
        return 2 * self.seeds_per_block

    @model_validator(mode="after")
    def _grid(self) -> Self:
        if 1.0 not in self.ratios:
            raise ParamError(f"sweep.ratios = {self.ratios}: expected the control ratio 1.0")
        if self.test_ratio not in self.ratios:
            raise ParamError(
                f"sweep.test_ratio = {self.test_ratio:g}: expected one of sweep.ratios"
            )
        return increasing(self, "sweep", ("ratios", "widths"))


class SweepStage(Stage):
    """stages/sweep.py: the grid's runs, on `scaled(data, model, train, small)`."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    small: SmallParams
    sweep: SweepParams
    health: HealthParams


class ImbalanceStage(Stage):
    """stages/imbalance.py: claims C3-C5 (model.bias_final, the small model's sizes in the
    figure captions)."""

    model: ModelParams
    analyze: AnalyzeParams
    sweep: SweepParams
    small: SmallParams
    health: HealthParams


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
    """stages/regimes.py: the regime maps (calibrate: the candidates; health: the rule)."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    small: SmallParams
    sweep: SweepParams
    calibrate: CalibrateParams
    analyze: AnalyzeParams
    health: HealthParams
    regimes: RegimesParams


Reading = Literal["width-limited", "time-limited", "both", "neither", "covered"]


class CensoringParams(Section):
    """C4's censoring study (study/dvc.yaml): the small model at wider widths and longer
    training, where the minority is censored at the sweep's widest width."""

    ratios: Annotated[
        list[Annotated[Float, Field(ge=1)]], expect("a list of ratios >= 1", min_length=1)
    ] = [1.0, 20.0, 50.0]
    widths: Annotated[
        list[Annotated[Int, Field(ge=1)]], expect("a list of widths >= 1", min_length=2)
    ] = [64, 128, 256]
    steps: Annotated[
        list[Annotated[Int, Field(ge=1)]], expect("a list of step counts >= 1", min_length=2)
    ] = [600, 1200]
    seeds: Annotated[Int, at_least(2)] = 10  # per cell (an even count: two blocks)
    margin: Annotated[Float, open_unit()] = 0.2  # a change of the censored share that matters
    # rho -> the reading predicted before the runs (params.yaml's reasons)
    prediction: dict[str, Reading] = {"1": "covered", "20": "neither", "50": "neither"}

    @model_validator(mode="after")
    def _grid(self) -> Self:
        return increasing(self, "censoring", ("ratios", "widths", "steps"))


class CensoringStage(Stage):
    """stages/censoring.py: C4's censoring study."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    small: SmallParams
    sweep: SweepParams
    analyze: AnalyzeParams
    health: HealthParams
    censoring: CensoringParams
