"""The prune stage's work: run the cells of the design (imbcl.pruning.design), one row of
measures per run, and from the rows the regime map, the C6 row, the table of variants and the
metrics.

The main part prunes the train stage's dense runs; the sweep trains its smaller model densely
here, under each bias, then prunes it. Each row names its cell (part, role, bias, method,
ratio, timing), the run's rho, seed, variant (`dense`, the method, or `random` for a
control) and pruning step, then the run's measures (imbcl.pruning.measures).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from imbcl.core.claims import Claim
from imbcl.core.cli import require
from imbcl.core.io import load_npz, read_json
from imbcl.pruning import claims
from imbcl.pruning.design import (
    MAIN,
    SWEEP,
    Cell,
    Testbed,
    design,
    jobs_of,
    probed,
    sweep_testbed,
)
from imbcl.pruning.jobs import BiasFn, Job, bias_schedule, run_jobs
from imbcl.pruning.measures import run_measures
from imbcl.pruning.params import AblationParams
from imbcl.synthetic.measures import detect_stages, group_curves
from imbcl.synthetic.params import AnalyzeParams, DataParams, ModelParams, SmallParams, TrainParams
from imbcl.synthetic.train import (
    RunResult,
    RunSpec,
    Trajectory,
    load_checkpoints,
    load_specs,
    load_trajectory,
    train_group,
)


@dataclass(frozen=True)
class Outcome:
    """What the prune stage writes."""

    rows: pd.DataFrame  # one row per run: its cell, seed, step and measures
    regime: pd.DataFrame  # claims.regime
    metrics: dict[str, float]
    claim: Claim  # C6
    variants: pd.DataFrame  # claims.variants_table
    caption: str  # of the variants table
    main: list[RunResult]  # the main part's pruned runs (trajectories and checkpoints)
    main_jobs: list[Job]  # their jobs, in the same order

    def main_index(self) -> dict[str, dict]:
        """Pruning step and variant of each main pruned run, by run name."""
        return {
            "steps": {j.spec.name: j.step for j in self.main_jobs},
            "variants": {j.spec.name: "random" if j.control else j.method for j in self.main_jobs},
        }


def stage1_end(traj: Trajectory, majority: np.ndarray, cfg: AnalyzeParams) -> int:
    """End of stage 1 of a dense run (the analyze stage's change-point search)."""
    curves = group_curves(traj, majority)
    return detect_stages(curves, traj.steps, cfg.n_stages, cfg.min_stage_logs).steps[1]


def _row(cell: Cell, source: RunSpec, variant: str, step: int, name: str) -> dict:
    return {
        "part": cell.part,
        "role": cell.role,
        "rho": source.imbalance_ratio,
        "seed": source.seed,
        "variant": variant,
        "method": cell.method,
        "ratio": cell.ratio,
        "timing": cell.timing,
        "step": step,
        "bias": cell.bias,
        "run": name,
    }


def run_cells(
    cells: list[Cell],
    bed: Testbed,
    dense: dict[str, list[RunResult]],
    stage1: dict[str, int],
    ablation: AblationParams,
    bias_fn: BiasFn | None = None,
    rewind: bool = False,
    progress: bool = False,
) -> tuple[list[dict], list[Job], list[RunResult]]:
    """Prune and measure the cells of one part and bias, all pruned from the same dense runs.

    dense: role -> the dense runs of that role (with their checkpoints); stage1: run name ->
    end of its stage 1. A job that two cells ask for runs once and gives a row in each.
    Returns the rows (in the order of `cells`), the jobs run and their results.
    """
    planned = {
        c: [] if c.dense else jobs_of(c, [r.spec for r in dense[c.role]], stage1, rewind)
        for c in cells
    }
    unique: dict[str, Job] = {}
    probe: dict[str, bool] = {}
    for c, jobs in planned.items():
        for j in jobs:
            unique.setdefault(j.spec.name, j)
            probe[j.spec.name] = probe.get(j.spec.name, False) or probed(c, ablation)
    jobs = list(unique.values())
    sources = {r.spec.name: r.checkpoints for runs in dense.values() for r in runs}
    results = run_jobs(jobs, sources, bed.data, bed.model, bed.train, bed.M, bias_fn, progress)
    final = bed.train.steps
    measured = {
        r.spec.name: run_measures(
            r.trajectory, r.checkpoints[final], bed, ablation, probe[r.spec.name]
        )
        for r in results
    }
    rows = []
    for c, c_jobs in planned.items():
        if c.dense:
            for r in dense[c.role]:
                m = run_measures(r.trajectory, r.checkpoints[final], bed, ablation, True)
                rows.append({**_row(c, r.spec, c.method, final, r.spec.name), **m})
        for j in c_jobs:
            variant = "random" if j.control else j.method
            rows.append(
                {**_row(c, j.source, variant, j.step, j.spec.name), **measured[j.spec.name]}
            )
    return rows, jobs, results


def train_dense(
    bed: Testbed, rhos: dict[str, float], seed: int, tag: str, bias_fn: BiasFn | None
) -> dict[str, list[RunResult]]:
    """Dense runs of a testbed at every rho, bed.seeds seeds each, stacked in chunks of
    train.batched_runs; by role."""
    specs = [
        RunSpec(rho, bed.model.width, seed + i, tag=tag)
        for rho in dict.fromkeys(rhos.values())
        for i in range(bed.seeds)
    ]
    runs: list[RunResult] = []
    for lo in range(0, len(specs), bed.train.batched_runs):
        chunk = specs[lo : lo + bed.train.batched_runs]
        runs += train_group(
            chunk, bed.data, bed.model, bed.train, bed.M, progress=False, bias_fn=bias_fn
        )
    return {role: [r for r in runs if r.spec.imbalance_ratio == rho] for role, rho in rhos.items()}


def run(
    data_dir: str | Path,
    train_dir: str | Path,
    analyze_dir: str | Path,
    *,
    seed: int,
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    analyze: AnalyzeParams,
    small: SmallParams,
    ablation: AblationParams,
) -> Outcome:
    """The whole pruning study from the synthesize, train and analyze stages' outputs."""
    dic = load_npz(require(Path(data_dir) / "dictionary.npz", "the synthesize stage's output"))
    ev = load_npz(require(Path(data_dir) / "eval.npz", "the synthesize stage's output"))
    rhos = read_json(require(Path(train_dir) / "index.json", "the train stage's output"))["roles"]
    ends = read_json(require(Path(analyze_dir) / "stages.json", "the analyze stage's output"))
    cells = design(ablation)
    threshold = analyze.specialise_threshold

    # Main part: the train stage's runs, stage 1 as the analyze stage found it.
    main_cells = [c for c in cells if c.part == MAIN]
    bed = Testbed(data, model, train, dic["M"], dic["majority"], ev["x"], ev["present"], threshold)
    specs = load_specs(train_dir)
    dense = {
        role: [
            RunResult(s, load_trajectory(train_dir, s), load_checkpoints(train_dir, s))
            for s in specs
            if s.imbalance_ratio == rhos[role]
        ]
        for role in dict.fromkeys(c.role for c in main_cells)
    }
    stage1 = {r.spec.name: ends[r.spec.name][1] for runs in dense.values() for r in runs}
    rows, main_jobs, main_runs = run_cells(
        main_cells, bed, dense, stage1, ablation, rewind=ablation.rewind, progress=True
    )

    # Sweep: the smaller model, trained densely here under each bias, then pruned.
    bed = sweep_testbed(data, model, train, small, ablation, seed, threshold)
    for bias in dict.fromkeys(c.bias for c in cells if c.part == SWEEP):
        bias_fn = bias_schedule(bias, bed.model, bed.M)
        dense = train_dense(bed, rhos, seed, f"sweep_{bias}", bias_fn)
        stage1 = {
            r.spec.name: stage1_end(r.trajectory, bed.majority, analyze)
            for runs in dense.values()
            for r in runs
        }
        part = [c for c in cells if c.part == SWEEP and c.bias == bias]
        rows += run_cells(part, bed, dense, stage1, ablation, bias_fn)[0]

    table = pd.DataFrame(rows)
    return Outcome(
        rows=table,
        regime=claims.regime(table, ablation, analyze.confidence),
        metrics=claims.metrics(table, ablation, analyze.confidence),
        claim=claims.claim_c6(table, ablation, analyze.confidence),
        variants=claims.variants_table(table, ablation),
        caption=claims.variants_caption(ablation),
        main=main_runs,
        main_jobs=main_jobs,
    )
