"""Parameters of the synthetic model: the sections data, model, train and small, and the
schemas of the stages synthesize, train and report."""

import math
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
    positive,
    probability,
)
from imbcl.core.runtime import resolve_device
from imbcl.core.verdicts import seeds_needed


class DataParams(Section):
    """The sparse-coding data model (stage `synthesize`, also read by `train`)."""

    arrays = (("eval_samples", "tokens", "dim"), ("n_features", "dim"))

    dim: Annotated[Int, at_least(2)] = 64  # d: token dimension
    n_features: Annotated[Int, at_least(2)] = 20  # K: dictionary atoms (orthonormal, K <= d)
    n_majority: Annotated[Int, at_least(1)] = 10  # the first n_majority features: majority
    tokens: Annotated[Int, at_least(1)] = 8  # L: tokens per sample
    imbalance_ratio: Annotated[Float, at_least(1.0)] = 10.0  # rho: majority / minority rate
    p_majority: Annotated[Float, probability()] = 0.25  # activation prob. of a majority feature
    noise_std: Annotated[Float, nonneg()] = 0.1  # per-coordinate std of the token noise
    # fixed: p_majority and noise_std as given; paper: the scales of the paper's Assumption
    # 3.1 (synthetic/data.py): p_maj = frequency_scale * log log K / K, and
    # noise_std^2 = noise_scale * sqrt(log K) / K, K = n_features (the paper's d).
    frequency: Literal["fixed", "paper"] = "paper"
    frequency_scale: Annotated[Float, positive()] = 2.5  # p_maj * L ~ 1 (params.yaml)
    noise: Literal["fixed", "paper"] = "paper"
    noise_scale: Annotated[Float, nonneg()] = 0.1  # noise = paper: the constant of sigma^2
    basis: Literal["identity", "random"] = "identity"  # M = I[:, :K] or random orthonormal
    view: Literal["noise", "mask"] = "noise"  # positive pair: redrawn noise, or masks
    eval_samples: Annotated[Int, at_least(16)] = 2048  # balanced held-out samples for probes

    @model_validator(mode="after")
    def _sizes(self) -> Self:
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
        return self


class ModelParams(Section):
    """The Transformer-MLP encoder and its bias schedule."""

    width: Annotated[Int, at_least(1)] = 64  # m: number of BReLU neurons
    init_std: Annotated[Float, positive()] = 0.01  # std of w_i at init (times 1/sqrt(d))
    # W_Q, W_K, W_V at init and whether they are trained: uniform_* draws W_Q, W_K ~
    # N(0, attn_init_std^2) (near-uniform attention) and sets W_V = I; identity_* sets all
    # three to I (the paper's theory: identity_fixed).
    attention: Literal["uniform_trained", "uniform_fixed", "identity_fixed", "identity_trained"] = (
        "identity_fixed"
    )
    attn_init_std: Annotated[Float, nonneg()] = 0.01  # std of W_Q, W_K with uniform_*
    bias_schedule: Literal["ramp", "constant"] = "ramp"
    bias_final: Annotated[Float, nonneg()] = 0.3  # b after the ramp
    bias_ramp_steps: Annotated[Int, at_least(1)] = 1000  # b(t) = b_final min(1, t / these)


class TrainParams(Section):
    """Contrastive training: InfoNCE with stop-gradient, plain SGD."""

    arrays = (("block_steps", "batch", "batched_runs"),)

    steps: Annotated[Int, at_least(1)] = 2000
    batch: Annotated[Int, at_least(2)] = 256  # samples per step (2 views each)
    lr: Annotated[Float, positive()] = 0.05
    temperature: Annotated[Float, positive()] = 0.5
    weight_decay: Annotated[Float, nonneg()] = 1.0e-3  # lambda in (lambda / 2) ||theta||^2
    log_every: Annotated[Int, at_least(1)] = 20
    # seeds per replication block, at each ratio: discovery seed .. seed+n-1, confirmation
    # seed+n .. seed+2n-1 (fixed before the runs; core.verdicts decides on both blocks)
    seeds_per_block: Annotated[Int, at_least(2)] = 4
    control_ratio: Annotated[Float, at_least(1.0)] = 1.0  # the balanced control rho
    checkpoint_steps: Annotated[
        list[Annotated[Int, Field(ge=0)]], expect("a list of steps >= 0", min_length=1)
    ] = [0, 200, 500]
    block_steps: Annotated[Int, at_least(1)] = 50  # steps of data drawn at once per run
    batched_runs: Annotated[Int, at_least(1)] = 16  # at most this many runs train together
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    # intra-op CPU threads of the synthetic stages (0: torch's default, one per core); the
    # outputs are the same bytes for any count (core.runtime.set_threads)
    threads: Annotated[Int, at_least(0)] = 2
    # manual: the hand-written gradient; autograd: torch autograd through a plain forward
    # (the same update, a rounding perturbation of it)
    backend: Literal["manual", "autograd"] = "manual"

    @model_validator(mode="after")
    def _device(self) -> Self:
        # cuda on a torch build without it: refused when the params are read, before a stage
        # trains or writes anything (not from inside the training loop)
        resolve_device(self.device, key="train.device")
        return self


class SmallParams(Section):
    """The small model of the sweeps: the (rho x width x seed) grid of claims C3-C5 and the
    pruning sweep of claim C6. Small enough for a grid to fit the default pipeline's time
    budget; every setting not here (view, noise, p_majority, bias schedule shape, tau,
    weight decay, ...) is taken from data, model and train (see `scaled`)."""

    arrays = (("batch", "tokens", "dim"), ("n_features", "dim"))

    dim: Annotated[Int, at_least(2)] = 16  # d
    n_features: Annotated[Int, at_least(2)] = 8  # K
    n_majority: Annotated[Int, at_least(1)] = 4
    tokens: Annotated[Int, at_least(1)] = 4  # L
    init_std: Annotated[Float, positive()] = 0.1  # neuron init std (times 1/sqrt(d))
    steps: Annotated[Int, at_least(2)] = 600
    batch: Annotated[Int, at_least(2)] = 64
    lr: Annotated[Float, positive()] = 0.2  # larger than train.lr: runs leave the init in time
    bias_ramp_steps: Annotated[Int, at_least(1)] = 300  # b(t) ramps to model.bias_final

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if not sizes_ok(self):
            raise ParamError(
                f"small.n_features = {self.n_features}, small.n_majority = {self.n_majority}: "
                "expected n_majority < n_features <= small.dim"
            )
        return self


def sizes_ok(small: SmallParams) -> bool:
    return small.n_majority < small.n_features <= small.dim


def scaled(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
) -> tuple[DataParams, ModelParams, TrainParams]:
    """data, model and train with the small model's sizes, init, bias ramp and optimiser.

    data: dim, n_features, n_majority, tokens; model: init_std, bias_ramp_steps; train:
    steps, batch, lr. Everything else is shared. A caller sets what is its own on top
    (the width, the seeds, the logging and checkpoint steps).
    """
    s = small
    return (
        data.model_copy(
            update={
                "dim": s.dim,
                "n_features": s.n_features,
                "n_majority": s.n_majority,
                "tokens": s.tokens,
            }
        ),
        model.model_copy(update={"init_std": s.init_std, "bias_ramp_steps": s.bias_ramp_steps}),
        train.model_copy(update={"steps": s.steps, "batch": s.batch, "lr": s.lr}),
    )


class ClaimRule(Section):
    """The precision a claim's rule asks for, fixed before its runs: the smallest effect that
    matters (equivalence margin) and a pilot's seed s.d. of the per-seed effect, from which
    the seeds a block needs follow (core.verdicts.seeds_needed)."""

    min_effect: Annotated[Float, positive()]  # in the statistic's units
    pilot_sd: Annotated[Float, nonneg()]  # s.d. over seeds of the per-seed effect in a pilot

    def seeds_required(self) -> int:
        return seeds_needed(self.pilot_sd, self.min_effect)


class AnalyzeParams(Section):
    """Measures of trained neurons shared by the synthetic tracks (specialisation threshold,
    interval confidence), stage detection and the decision rules of claims C1 and C2."""

    min_stage_logs: Annotated[Int, at_least(2)] = 3  # shortest stage, in logged points
    specialise_threshold: Annotated[Float, probability()] = 0.7  # normalised alignment
    learned_fraction: Annotated[Float, probability()] = 0.5  # C2: 'learned' = this share
    # C1: the number of stages, chosen by a penalised criterion (dynamics.stages), never forced
    stage_penalty: Annotated[Float, positive()] = 1.0  # times the BIC's log N per parameter
    max_stages: Annotated[Int, at_least(2)] = 6  # most segments the search considers
    stages_min_effect: Annotated[Float, positive()] = 0.5  # C1: margin of (segments - 2)
    # C2: a group is learned when its strength curve ever reaches this (feature units); a
    # minority that never does is "not learned" (an outcome; its timing is censored)
    learned_strength: Annotated[Float, positive()] = 0.1
    # final values are "converged" when every group curve changed by less than this share
    # over the last `plateau_window` of training; otherwise they are "at step T"
    plateau_window: Annotated[Float, open_unit()] = 0.2
    plateau_rel_change: Annotated[Float, positive()] = 0.05
    confidence: Annotated[Float, open_unit()] = 0.95
    # C1: per seed, (majority - minority stage-1 log-growth rate) at the imbalanced rho minus
    # the same at rho = 1, log units per 1000 steps
    c1: ClaimRule = ClaimRule(min_effect=10.0, pilot_sd=8.0)
    # C2: per seed, (final majority - minority strength) imbalanced minus balanced
    c2: ClaimRule = ClaimRule(min_effect=0.05, pilot_sd=0.0804)


class CalibrateParams(Section):
    """The bias per model size: the small model's chosen on its balanced control (rho = 1) at
    each candidate bias by a rule fixed before any run, whose scores decide (the balanced
    runs only, never a claim statistic); the default size's declared."""

    # candidate biases, in order of preference (largest level first): a number is the level
    # b reaches on the ramp schedule; `noise` is the noise-tied per-neuron bias b_i(t) whose
    # mean follows the ramp to noise_level. Among the candidates whose runs are all healthy,
    # those within score_tolerance of the best score (mean gap closed), and of these the
    # sparsest encoder, win (synthetic.calibrate).
    candidates: Annotated[
        list[Float | Literal["noise"]],
        expect("a list of bias levels >= 0 or 'noise'", min_length=1),
    ] = [0.3, 0.1, 0.03, 0.01, "noise"]
    noise_level: Annotated[Float, nonneg()] = 0.1  # mean level of the noise-tied candidate
    # scores within this of the best fit equally well; of those the sparsest encoder wins
    score_tolerance: Annotated[Float, nonneg()] = 0.05
    seeds: Annotated[Int, at_least(1)] = 4  # balanced runs per candidate: seed, seed + 1, ...
    width: Annotated[Int, at_least(1)] = 64  # m of the calibration runs
    # the default size's bias level (ramp schedule, shared), declared, not calibrated: its
    # runs are too costly to calibrate within the time budget
    default_bias: Annotated[Float, nonneg()] = 0.3

    @model_validator(mode="after")
    def _order(self) -> Self:
        levels = [c for c in self.candidates if not isinstance(c, str)]
        if levels != sorted(set(levels), reverse=True):
            raise ParamError(
                f"calibrate.candidates = {self.candidates}: expected the levels decreasing "
                "and distinct (the rule takes the largest healthy one)"
            )
        if self.candidates.count("noise") > 1:
            raise ParamError(f"calibrate.candidates = {self.candidates}: 'noise' at most once")
        return self


class HealthParams(Section):
    """The health certificate of a run (synthetic.health) and the rule that reads it, fixed
    before the runs; one rule for the calibration, the train and sweep runs that decide C1-C5,
    and the regime maps.

    A run is healthy when all hold:
    - it closes at least `min_gap_closed` of the way from chance to the oracle:
      (log B - loss) / (log B - oracle loss) >= min_gap_closed, both InfoNCE losses on the
      same held-out pairs drawn from the run's own training distribution (its rho), the
      oracle being the encoder that reads every feature exactly (f = s * z_hat at its best
      scale s). With a floor of 0 (samples always told apart) this is loss <= 0.5 log B at
      0.5; imbalanced data carry fewer features per sample, and the floor rises with rho.
    - the signed probe reads the majority group's signs: accuracy >= min_sign_accuracy;
    - the share of non-zero outputs on the balanced held-out set lies in
      [nonzero_min, nonzero_max] (a dead encoder reads ~0; a BReLU that always fires is a
      linear map).
    A claim whose seeds are healthy in less than min_healthy_share is not decided ("encoder
    unhealthy"); otherwise it is decided on the healthy seeds.
    """

    arrays = (("eval_samples",), ("heldout_batches",))

    min_gap_closed: Annotated[Float, probability()] = 0.5
    min_sign_accuracy: Annotated[Float, probability()] = 0.9
    nonzero_min: Annotated[Float, probability()] = 0.05
    nonzero_max: Annotated[Float, probability()] = 0.98
    min_healthy_share: Annotated[Float, probability()] = 0.5
    eval_samples: Annotated[Int, at_least(16)] = 1024  # balanced held-out samples (probe)
    heldout_batches: Annotated[Int, at_least(1)] = 8  # held-out batches of B pairs (loss)

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.nonzero_min > self.nonzero_max:
            raise ParamError(
                f"health.nonzero_min = {self.nonzero_min:g}: expected at most "
                f"health.nonzero_max = {self.nonzero_max:g}"
            )
        return self


# --- stage schemas -------------------------------------------------------------------------


class SynthesizeStage(Stage):
    """stages/synthesize.py: the dictionary and the held-out set."""

    data: DataParams


class TrainStage(Stage):
    """stages/train.py: the dense runs and their health."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    health: HealthParams


class CalibrateStage(Stage):
    """stages/calibrate.py: the balanced small runs at each candidate bias."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    small: SmallParams
    calibrate: CalibrateParams
    health: HealthParams


class ReportStage(Stage):
    """stages/report.py: the report page quotes data, model and train (`model_dump()` gives
    the nested dicts `report.markdown` reads today from the raw YAML)."""

    data: DataParams
    model: ModelParams
    train: TrainParams
