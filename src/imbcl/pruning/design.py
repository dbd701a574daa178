"""The design of the project's own pruning ablation of C6 (one-shot frozen masks, section
`ablation`; not the paper's Algorithm 1), as data: which cells of runs exist, and the model
each part trains.

A `Cell` is one set of runs that differ only by seed: a part, a rho role, a bias schedule, a
pruning method (or `dense`, the unpruned runs), a ratio and a timing. Every pruned cell holds,
for each dense run of its role, the run pruned with its method and, unless the method is
`random` itself, the random control of the same ratio, step and granularity.

Two parts:
- main:  the train stage's dense runs at the default rho (default size, train.seeds seeds),
         pruned with `ablation.method` at `ablation.ratio` and `ablation.at`.
- sweep: a smaller model (ablation.sweep_*) with ablation.sweep_seeds seeds at both rhos,
         trained densely by the prune stage, under each bias of ablation.sweep_bias. Under
         the first bias: every variant at the pre-registered (ratio, timing) at both rhos,
         and the regime map (ablation.sweep_ratios x ablation.sweep_at) of
         `ablation.method` at the default rho. Under any further bias: the pre-registered
         cell at both rhos.
The ablation's verdict is decided on the sweep's pre-registered cell; the main part is its
full-size replicate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imbcl.core.params import replace as replace_config
from imbcl.pruning.jobs import Job, resolve_step
from imbcl.pruning.masks import MAGNITUDE
from imbcl.pruning.params import AblationParams
from imbcl.synthetic.data import eval_set, make_dictionary
from imbcl.synthetic.params import DataParams, ModelParams, SmallParams, TrainParams, scaled
from imbcl.synthetic.train import RunSpec

MAIN, SWEEP = "main", "sweep"
ROLES = ("balanced", "imbalanced")  # the rhos of the train stage's index.json, its order
MAIN_BIAS = "shared"  # the main runs use the train stage's shared bias schedule b(t)
DENSE = "dense"  # the method (and variant) of the unpruned runs
NO_TIMING = "-"  # the timing of the unpruned runs


@dataclass(frozen=True)
class Cell:
    """One set of runs that differ only by seed."""

    part: str  # main | sweep
    role: str  # imbalanced | balanced
    bias: str  # shared | noise
    method: str  # a pruning method, or `dense`
    ratio: float  # share pruned; 0 for dense
    timing: str  # a step, init or stage1 (as in ablation.at); `-` for dense

    @property
    def dense(self) -> bool:
        return self.method == DENSE

    def baseline(self) -> Cell:
        """The dense cell the runs of this cell were pruned from."""
        return replace(self, method=DENSE, ratio=0.0, timing=NO_TIMING)


def dense_cell(part: str, role: str, bias: str) -> Cell:
    return Cell(part, role, bias, DENSE, 0.0, NO_TIMING)


def candidate(ablation: AblationParams, part: str = SWEEP, role: str = "imbalanced") -> Cell:
    """The pre-registered cell (ablation.method, ablation.ratio, ablation.at) of a part and
    role, under the part's main bias (the first of ablation.sweep_bias for the sweep)."""
    bias = ablation.sweep_bias[0] if part == SWEEP else MAIN_BIAS
    return Cell(part, role, bias, ablation.method, ablation.ratio, str(ablation.at))


def design(ablation: AblationParams) -> list[Cell]:
    """Every cell of the study, without duplicates, in the order their rows are written."""
    at = str(ablation.at)
    cells = [dense_cell(MAIN, "imbalanced", MAIN_BIAS), candidate(ablation, MAIN)]
    for k, bias in enumerate(dict.fromkeys(ablation.sweep_bias)):
        cells += [dense_cell(SWEEP, role, bias) for role in ROLES]
        methods = dict.fromkeys([*MAGNITUDE, ablation.method] if k == 0 else [ablation.method])
        cells += [
            Cell(SWEEP, role, bias, method, ablation.ratio, at)
            for method in methods
            for role in ROLES
        ]
        if k == 0:
            cells += [
                Cell(SWEEP, "imbalanced", bias, ablation.method, ratio, str(timing))
                for timing in ablation.sweep_at
                for ratio in ablation.sweep_ratios
            ]
    return list(dict.fromkeys(cells))


def probed(cell: Cell, ablation: AblationParams) -> bool:
    """Whether the runs of a cell get the linear probe: the dense runs and every cell at the
    pre-registered timing (the probe is the slow measure)."""
    return cell.dense or cell.timing == str(ablation.at)


def jobs_of(
    cell: Cell, sources: list[RunSpec], stage1: dict[str, int], rewind: bool = False
) -> list[Job]:
    """The pruned runs of a cell: per dense run, the magnitude job and its random control.

    sources: the dense runs of the cell's part, role and bias; stage1: run name -> end of its
    stage 1. (The random control of magnitude_global is the unstructured random mask.)
    """
    jobs = []
    for src in sources:
        step = resolve_step(cell.timing, stage1.get(src.name))
        job = Job(src, cell.method, False, cell.ratio, step, rewind)
        jobs += [job] if cell.method == "random" else [job, job.paired()]
    return jobs


# --- the models the parts train --------------------------------------------------------------


@dataclass(frozen=True)
class Testbed:
    """Everything a part needs to train and measure runs of one model size."""

    data: DataParams
    model: ModelParams
    train: TrainParams
    M: np.ndarray  # (d, K)
    majority: np.ndarray  # (K,) bool
    eval_x: np.ndarray  # (n, L, d) balanced held-out tokens
    eval_present: np.ndarray  # (n, K) bool
    threshold: float  # specialisation threshold (analyze.specialise_threshold)
    seeds: int = 0  # dense runs per rho that a part trains itself (ablation.sweep_seeds)


def sweep_testbed(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    small: SmallParams,
    ablation: AblationParams,
    seed: int,
    threshold: float,
) -> Testbed:
    """The small model of the sweep (with ablation.small_overrides), its dictionary and held-out
    set."""
    d, m, t = scaled(data, model, train, small, ablation.small_overrides)
    m = replace_config(m, width=ablation.sweep_width)
    steps = [0] + sorted({a for a in [ablation.at, *ablation.sweep_at] if isinstance(a, int)})
    t = replace_config(t, checkpoint_steps=steps)
    D = make_dictionary(d, seed)
    ev = eval_set(d, D.M, seed)
    return Testbed(
        d, m, t, D.M, D.majority, ev["x"], ev["present"], threshold, ablation.sweep_seeds
    )
