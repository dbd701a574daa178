"""Pruned runs: which dense run is masked how and when (a `Job`), the dense run replayed to the
pruning step from its last checkpoint, masked training on from there, and the bias schedules
that training may use.

A pruned run resumes the dense run of the same seed at the pruning step (exactly, since the
data stream resumes) and trains on with the mask held fixed: masked entries stay zero through
the update and the weight decay. With `rewind` it restarts from the dense run's initial
weights instead, under the mask found at the pruning step (a lottery ticket).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from imbcl.core.params import replace as replace_config
from imbcl.pruning.masks import GRANULARITY, magnitude_mask, random_mask
from imbcl.synthetic.bias import noise_tied_bias
from imbcl.synthetic.model import Params
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams
from imbcl.synthetic.train import RunResult, RunSpec, train_group

BiasFn = Callable[[int, Params], torch.Tensor | float]


# --- bias schedules --------------------------------------------------------------------------


def bias_schedule(name: str, model_cfg: ModelParams, M: np.ndarray) -> BiasFn | None:
    """The bias function of an `ablation.sweep_bias` entry: None for the shared schedule b(t)."""
    return noise_tied_bias(model_cfg, M) if name == "noise" else None


# --- timing ----------------------------------------------------------------------------------


def resolve_step(timing: str | int, stage1_end: int | None) -> int:
    """The training step of a pruning time: a step, `init` (0) or `stage1`."""
    if timing == "init":
        return 0
    if timing == "stage1":
        if stage1_end is None:
            raise ValueError("stage1 timing needs the end of stage 1 of the dense run")
        return int(stage1_end)
    return int(timing)


def stopped_at(train_cfg: TrainParams, steps: int) -> TrainParams:
    """The training config stopped at `steps` (to advance a dense run to a pruning step)."""
    return replace_config(train_cfg, steps=steps, checkpoint_steps=[steps])


# --- jobs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One pruned run: which dense run, which mask, when."""

    source: RunSpec  # the dense run it starts from (same seed, same data stream)
    method: str  # a method of GRANULARITY
    control: bool  # True: the random mask at `method`'s granularity, same ratio and step
    ratio: float
    step: int  # the pruning step
    rewind: bool = False  # restart from the init weights with the mask (lottery ticket)

    @property
    def variant(self) -> str:
        return f"{self.method}+random" if self.control else self.method

    @property
    def spec(self) -> RunSpec:
        tag = f"{self.source.tag}_" if self.source.tag else ""
        tag += f"{self.variant.replace('+', '_')}_p{self.ratio:g}_t{self.step}"
        return replace(self.source, tag=tag + ("_rewind" if self.rewind else ""))

    def paired(self) -> Job:
        """The random control of a magnitude job (and the magnitude job of a control)."""
        return replace(self, control=not self.control)


def job_mask(job: Job, w: torch.Tensor) -> torch.Tensor:
    """The (m, d) mask of a job from the dense neuron weights w (m, d) at its step."""
    if job.control or job.method == "random":
        key = (
            job.source.seed,
            job.step,
            round(job.ratio * 1000),
            list(GRANULARITY).index(job.method),
        )
        return random_mask((1, *w.shape), job.method, job.ratio, [key])[0]
    return magnitude_mask(w[None], job.method, job.ratio)[0]


def _stack(items: list[Params]) -> Params:
    return {k: torch.stack([p[k] for p in items]) for k in items[0]}


def params_at(
    sources: dict[str, dict[int, Params]],
    needs: set[tuple[RunSpec, int]],
    data_cfg: DataParams,
    model_cfg: ModelParams,
    train_cfg: TrainParams,
    M: np.ndarray,
    bias_fn: BiasFn | None = None,
) -> dict[tuple[str, int], Params]:
    """Parameters of dense runs at given steps, replaying from the last saved checkpoint.

    sources: run name -> {saved step -> unstacked params}. Training and the data stream are
    deterministic and resumable, so replaying from step s to t gives the dense run at t.
    """
    out: dict[tuple[str, int], Params] = {}
    replay: dict[tuple[int, int], list[RunSpec]] = {}
    for spec, step in sorted(needs, key=lambda n: (n[1], n[0].name)):
        saved = sources[spec.name]
        base = max(s for s in saved if s <= step)
        if base == step:
            out[(spec.name, step)] = saved[step]
        else:
            replay.setdefault((base, step), []).append(spec)
    for (base, step), specs in sorted(replay.items()):
        start = _stack([sources[s.name][base] for s in specs])
        results = train_group(
            specs,
            data_cfg,
            model_cfg,
            stopped_at(train_cfg, step),
            M,
            start=start,
            start_step=base,
            progress=False,
            bias_fn=bias_fn,
        )
        for res in results:
            out[(res.spec.name, step)] = res.checkpoints[step]
    return out


def run_jobs(
    jobs: list[Job],
    sources: dict[str, dict[int, Params]],
    data_cfg: DataParams,
    model_cfg: ModelParams,
    train_cfg: TrainParams,
    M: np.ndarray,
    bias_fn: BiasFn | None = None,
    progress: bool = False,
) -> list[RunResult]:
    """Prune each job's dense run at its step and train on with the mask held fixed.

    Jobs that start at the same step train together as stacked runs (in chunks of
    train.batched_runs). Results come back in the order of `jobs`.
    """
    starts = params_at(
        sources, {(j.source, j.step) for j in jobs}, data_cfg, model_cfg, train_cfg, M, bias_fn
    )
    by_start: dict[int, list[Job]] = {}
    for job in jobs:
        by_start.setdefault(0 if job.rewind else job.step, []).append(job)
    results: dict[str, RunResult] = {}
    for start_step, group in sorted(by_start.items()):
        for lo in range(0, len(group), train_cfg.batched_runs):
            chunk = group[lo : lo + train_cfg.batched_runs]
            at_step = [starts[(j.source.name, j.step)] for j in chunk]
            masks = torch.stack([job_mask(j, p["w"]) for j, p in zip(chunk, at_step, strict=True)])
            begin = [
                sources[j.source.name][0] if j.rewind else p
                for j, p in zip(chunk, at_step, strict=True)
            ]
            for res in train_group(
                [j.spec for j in chunk],
                data_cfg,
                model_cfg,
                train_cfg,
                M,
                start=_stack(begin),
                start_step=start_step,
                mask=masks,
                progress=progress,
                bias_fn=bias_fn,
            ):
                results[res.spec.name] = res
    return [results[j.spec.name] for j in jobs]
