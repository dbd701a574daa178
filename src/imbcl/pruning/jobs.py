"""Pruning masks on the neuron weights, masked training from a dense checkpoint, and the
measures that C6 compares (specialised neurons, feature strength, feature-to-noise
separation).

A mask is a 0/1 tensor shaped like the neuron weights w (R, m, d). Every method keeps the
same share 1 - ratio of its unit, at one of four granularities:

    magnitude_global        the largest |w_ij| among all m*d entries of a run
    magnitude_neuron        the largest |w_ij| within each neuron i (each row keeps the same)
    magnitude_input         the largest |w_ij| within each input coordinate j: each coordinate
                            keeps only its largest-magnitude neurons
    magnitude_neuron_whole  the neurons of largest norm ||w_i||; the others lose every entry
    random                  uniform entries among all m*d (unstructured)

The random *control* of a variant draws scores at random at the variant's own granularity
(same number kept per neuron / per coordinate / whole neurons), so the only difference from
the magnitude mask is which entries survive, not how many per unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from imbcl.core.params import replace as replace_config
from imbcl.synthetic.data import generator
from imbcl.synthetic.measures import feature_strength, neurons_per_feature
from imbcl.synthetic.model import Params, bias_at, effective_directions
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams
from imbcl.synthetic.train import RunResult, RunSpec, train_group

BiasFn = Callable[[int, Params], torch.Tensor | float]

GRANULARITY = {
    "magnitude_global": "global",
    "magnitude_neuron": "neuron",
    "magnitude_input": "input",
    "magnitude_neuron_whole": "neuron_whole",
    "random": "global",
}
MAGNITUDE = tuple(m for m in GRANULARITY if m.startswith("magnitude_"))
_RANDOM_MASK = 23  # stream tag of the random-control masks (see imbcl.synthetic.data)


def n_pruned(n: int, ratio: float) -> int:
    """How many of n units a ratio removes (rounded half up, so 0.5 of 5 prunes 3)."""
    return min(n, math.floor(ratio * n + 0.5))


def _keep_top(scores: torch.Tensor, n_keep: int) -> torch.Tensor:
    """0/1 mask over the last axis keeping the n_keep largest scores (ties: lower index)."""
    order = torch.argsort(scores, dim=-1, descending=True, stable=True)
    mask = torch.zeros_like(scores)
    return mask.scatter_(-1, order[..., :n_keep], 1.0)


def mask_from_scores(scores: torch.Tensor, granularity: str, ratio: float) -> torch.Tensor:
    """Keep the top 1 - ratio of `scores` (R, m, d) within each unit of `granularity`.

    For `neuron_whole` the scores are per neuron, (R, m), and the mask is (R, m, 1).
    """
    if granularity == "neuron_whole":
        R, m = scores.shape
        rows = _keep_top(scores, m - n_pruned(m, ratio))  # (R, m)
        return rows[..., None]  # (R, m, 1): the caller broadcasts it over d
    R, m, d = scores.shape
    if granularity == "global":
        flat = _keep_top(scores.reshape(R, m * d), m * d - n_pruned(m * d, ratio))
        return flat.reshape(R, m, d)
    if granularity == "neuron":
        return _keep_top(scores, d - n_pruned(d, ratio))  # (R, m, d): rows of d entries
    if granularity == "input":
        cols = _keep_top(scores.transpose(1, 2), m - n_pruned(m, ratio))  # (R, d, m)
        return cols.transpose(1, 2).contiguous()
    raise ValueError(f"unknown granularity {granularity!r}")


def magnitude_mask(w: torch.Tensor, method: str, ratio: float) -> torch.Tensor:
    """Magnitude mask (R, m, d) of `method` on the neuron weights w (R, m, d)."""
    granularity = GRANULARITY[method]
    scores = w.norm(dim=-1) if granularity == "neuron_whole" else w.abs()
    return mask_from_scores(scores, granularity, ratio).expand_as(w).contiguous()


def random_mask(
    shape: tuple[int, int, int], method: str, ratio: float, keys: list[tuple[int, ...]]
) -> torch.Tensor:
    """Random mask (R, m, d) at the granularity of `method`; run r draws from keys[r]."""
    R, m, d = shape
    granularity = GRANULARITY[method]
    unit = (m,) if granularity == "neuron_whole" else (m, d)
    scores = torch.stack([torch.rand(unit, generator=generator(*k, _RANDOM_MASK)) for k in keys])
    return mask_from_scores(scores, granularity, ratio).expand(R, m, d).contiguous()


# --- bias schedules --------------------------------------------------------------------------


def noise_tied_bias(model_cfg: ModelParams, M: np.ndarray) -> Callable[[int, Params], torch.Tensor]:
    """b_i(t) = b(t) * n_i(t) / mean_k n_k(t), n_i the noise residual of neuron i.

    The paper indexes the bias by neuron; tying it to the neuron's own noise level makes a
    noisy neuron need a larger input to fire. Dividing by the mean keeps the average bias on
    the shared schedule, so only the spread across neurons differs from `shared`.
    """
    Mt = torch.as_tensor(M)

    def bias(t: int, params: Params) -> torch.Tensor:
        with torch.no_grad():
            U = effective_directions(params)  # (R, m, d)
            Md = Mt.to(U.device, U.dtype)
            resid = (U - (U @ Md) @ Md.T).norm(dim=-1)  # (R, m)
            rel = resid / resid.mean(dim=1, keepdim=True).clamp_min(1e-12)
        return bias_at(model_cfg, t) * rel

    return bias


# --- timing ----------------------------------------------------------------------------------


def resolve_step(at: object, stage1_end: int | None) -> int:
    """The training step of a pruning time: an int step, `init` (0) or `stage1`."""
    if at == "init":
        return 0
    if at == "stage1":
        if stage1_end is None:
            raise ValueError("stage1 timing needs the end of stage 1 of the dense run")
        return int(stage1_end)
    assert isinstance(at, int)
    return at


def until(train_cfg: TrainParams, steps: int) -> TrainParams:
    """The training config stopped at `steps` (to advance a dense run to a pruning step)."""
    return replace_config(train_cfg, steps=steps, checkpoint_steps=[steps])


# --- measures --------------------------------------------------------------------------------


def separation(proj: np.ndarray, noise: np.ndarray, in_group: np.ndarray) -> float:
    """Feature-to-noise separation of a group, in decades: the mean over the live neurons whose
    best feature is in the group of log10(|<u_i, M_best>| / ||u_i - M M^T u_i||).

    proj (m, K), noise (m,), in_group (K,) bool. On a log scale one neuron whose noise part
    was pruned to almost nothing cannot dominate the group. NaN when no neuron's best
    feature is in the group.
    """
    align = np.abs(proj)  # (m, K)
    best = align.argmax(axis=1)
    live = align.max(axis=1) > 0
    chosen = live & in_group[best]
    if not chosen.any():
        return float("nan")
    floor = np.full(int(chosen.sum()), 1e-8)
    ratio = align[chosen, best[chosen]] / np.maximum(noise[chosen], floor)
    return float(np.log10(ratio).mean())


def final_measures(
    proj: np.ndarray,
    norm: np.ndarray,
    noise: np.ndarray,
    majority: np.ndarray,
    threshold: float,
) -> dict[str, float]:
    """Per-group numbers of one run at one logged step. proj (m, K), norm, noise (m,)."""
    strength = feature_strength(proj)  # (K,)
    neurons = neurons_per_feature(proj, norm, threshold)  # (K,)
    out = {}
    for group, sel in (("majority", majority), ("minority", ~majority)):
        out[f"{group}_strength"] = float(strength[sel].mean())
        out[f"{group}_neurons"] = float(neurons[sel].mean())
        out[f"{group}_coverage"] = float((neurons[sel] > 0).mean())
        out[f"{group}_separation"] = separation(proj, noise, sel)
    return out


# --- masked training from dense checkpoints --------------------------------------------------


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
            until(train_cfg, step),
            M,
            start=start,
            start_step=base,
            progress=False,
            bias_fn=bias_fn,
        )
        for res in results:
            out[(res.spec.name, step)] = res.checkpoints[step]
    return out


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
