"""Contrastive training of stacked runs, with the neuron dynamics logged as it goes.

A *run* is one (imbalance ratio, width, seed). Runs that share shapes train together as one
program (see model.py); `train.batched_runs` bounds how many. Every `log_every` steps the
trainer records, per run and neuron, the projections <u_i, M_j> of the effective direction
u_i = W_V^T w_i on the features, ||u_i||, and the noise residual ||u_i - M M^T u_i||.

Plain SGD on loss + (lambda / 2)||theta||^2; the gradient by the hand-written or the
autograd backend (step.py). W_Q, W_K, W_V are updated only when `model.attention` trains
them. `forward_mask` (the paper's Algorithm 1, masking.py): a mask on the neuron weights w
recomputed from the current weights, applied in the forward pass only; every entry of w is
updated.

The run types and their storage live in runs.py and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import torch

from imbcl.core.blocks import run_seeds
from imbcl.core.errors import DivergenceError
from imbcl.core.params import replace
from imbcl.core.progress import bar as progress_bar
from imbcl.core.runtime import resolve_device
from imbcl.synthetic.data import RunStream, stacked_blocks
from imbcl.synthetic.masking import ForwardMask, compute_mask
from imbcl.synthetic.model import (
    Params,
    attention,
    attention_trained,
    bias_at,
    effective_directions,
    init_params,
)
from imbcl.synthetic.params import DataParams, ModelParams, TrainParams
from imbcl.synthetic.runs import (
    RunResult,
    RunSpec,
    SavedRuns,
    Trajectory,
    load_checkpoints,
    load_runs,
    load_specs,
    load_trajectory,
    results_from_logs,
    save_runs,
)
from imbcl.synthetic.step import loss_and_grads

__all__ = [
    "DivergenceError",
    "ForwardMask",
    "RunResult",
    "RunSpec",
    "SavedRuns",
    "Trajectory",
    "dynamics",
    "load_checkpoints",
    "load_runs",
    "load_specs",
    "load_trajectory",
    "role_runs",
    "save_runs",
    "train_group",
    "train_runs",
]


def dynamics(params: Params, M: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Projections (R, m, K), norms (R, m) and noise residuals (R, m) of every neuron."""
    U = effective_directions(params)  # (R, m, d)
    proj = U @ M  # (R, m, K)
    residual = U - proj @ M.T  # (R, m, d): the part of u_i outside span(M)
    return proj, U.norm(dim=-1), residual.norm(dim=-1)


def _batches(
    streams: list[RunStream],
    start: int,
    stop: int,
    device: torch.device,
    dtype: torch.dtype,
    params: Params,
    attention_grad: bool,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The stacked batches (x1, x2), each (R, B, L, d), of steps [start, stop).

    With fixed attention (not attention_grad) they are Attn(X) of the two views, computed
    a chunk of steps at a time (data.stacked_blocks) from params["qkv"], which then never
    changes: one batched attention over several steps instead of one per step, the same
    numbers.
    """
    for x1, x2 in stacked_blocks(streams, start, stop):
        x1, x2 = x1.to(device, dtype), x2.to(device, dtype)  # (R, n, B, L, d), n a chunk
        if not attention_grad:
            x1, x2 = attention(x1, params["qkv"]), attention(x2, params["qkv"])
        for i in range(x1.shape[1]):
            yield x1[:, i], x2[:, i]


def train_group(
    specs: list[RunSpec],
    data_cfg: DataParams,
    model_cfg: ModelParams,
    train_cfg: TrainParams,
    M: np.ndarray,
    *,
    start: Params | None = None,
    start_step: int = 0,
    forward_mask: ForwardMask | None = None,
    progress: bool = True,
    bias_fn: Callable[[int, Params], torch.Tensor | float] | None = None,
) -> list[RunResult]:
    """Train runs of equal width together from `start_step` to `train_cfg.steps`.

    start: stacked parameters to resume from (default: each run's seeded init); a "mask"
        entry is the forward mask in use at start_step (else it is recomputed there). The
        run computes in the dtype of its parameters (float64 starts give a float64 run).
    forward_mask: a forward-only mask schedule (Algorithm 1); None = dense.
        The logged dynamics are those of the masked weights w * mask, and the checkpoints
        carry the mask in use as "mask" (R, m, d).
    bias_fn: b(t) as a float or per-neuron (R, m) tensor, from the step and the weights the
        forward pass uses; default the schedule of model_cfg.
    """
    device = resolve_device(train_cfg.device, key="train.device")
    params = _start_params(specs, data_cfg, model_cfg, start, device)
    fmask = params.pop("mask", None)  # (R, m, d): the forward mask in use, if any
    if fmask is not None and forward_mask is None:
        raise ValueError("start carries a forward mask: pass the forward_mask schedule")
    seeds = [s.seed for s in specs]
    attention_grad = attention_trained(model_cfg)
    dtype = params["w"].dtype  # the data follow the parameters (float32 by default)
    Mt = torch.as_tensor(M, device=device, dtype=dtype)
    streams = [
        RunStream(data_cfg, M, s.imbalance_ratio, s.seed, train_cfg.batch, train_cfg.block_steps)
        for s in specs
    ]
    steps = train_cfg.steps
    log_steps = sorted(
        {t for t in range(start_step, steps + 1) if t % train_cfg.log_every == 0} | {steps}
    )
    logs: dict[str, list] = {k: [] for k in ("proj", "norm", "noise", "loss", "bias")}
    checkpoints: dict[int, dict[str, torch.Tensor]] = {}
    save_at = set(train_cfg.checkpoint_steps) | {steps}
    bias_fn = bias_fn or (lambda t, _p: bias_at(model_cfg, t))
    masked_grad = forward_mask.masked_grad if forward_mask is not None else None

    # One extra batch after the last update gives the loss logged at the final step.
    batches = _batches(streams, start_step, steps + 1, device, dtype, params, attention_grad)
    names = ", ".join(s.name for s in specs[:3]) + (" ..." if len(specs) > 3 else "")
    bar = progress_bar(steps - start_step, f"train [{names}]", disable=not progress, leave=False)
    for t, (x1, x2) in zip(range(start_step, steps + 1), batches, strict=True):
        used, fmask = _forward_weights(forward_mask, params, fmask, seeds, t)
        b = bias_fn(t, used)
        dense = fmask is not None and masked_grad == "dense"
        nce, grad_fn = loss_and_grads(
            used,
            x1,
            x2,
            b,
            train_cfg.temperature,
            attention_grad,
            train_cfg.backend,
            attended=not attention_grad,
            dense=params if dense else None,
        )
        _check_finite(nce, specs, t, train_cfg.lr)
        if t in log_steps:
            _record(logs, used, Mt, nce, b)
        if t in save_at:
            checkpoints[t] = _checkpoint(params, fmask)
        if t == steps:
            break
        _update(params, grad_fn(), fmask if masked_grad == "exact" else None, train_cfg)
        bar.update(1)
    bar.close()
    return results_from_logs(specs, logs, log_steps, checkpoints, train_cfg.lr)


def _start_params(
    specs: list[RunSpec],
    data_cfg: DataParams,
    model_cfg: ModelParams,
    start: Params | None,
    device: torch.device,
) -> Params:
    """Copies on device of `start`, or of each run's seeded init; runs must share a width."""
    widths = {s.width for s in specs}
    if len(widths) != 1:
        raise ValueError(f"runs of one group must share a width, got {sorted(widths)}")
    cfg_m = replace(model_cfg, width=widths.pop())
    params = init_params(cfg_m, data_cfg.dim, [s.seed for s in specs]) if start is None else start
    return {k: v.detach().clone().to(device) for k, v in params.items()}


def _forward_weights(
    forward_mask: ForwardMask | None,
    params: Params,
    fmask: torch.Tensor | None,
    seeds: list[int],
    t: int,
) -> tuple[Params, torch.Tensor | None]:
    """The weights the forward pass uses at step t (w, or w * mask) and the mask (R, m, d)
    in use, recomputed when the schedule is due (None when dense)."""
    if forward_mask is None or not forward_mask.active(t):
        return params, None
    if fmask is None or forward_mask.due(t):
        fmask = compute_mask(forward_mask, params["w"], seeds, t)  # (R, m, d)
    return {"qkv": params["qkv"], "w": params["w"] * fmask}, fmask


def _check_finite(nce: torch.Tensor, specs: list[RunSpec], t: int, lr: float) -> None:
    """DivergenceError naming the first run whose loss (R,) is not finite at step t."""
    if not bool(torch.isfinite(nce).all()):
        bad = int((~torch.isfinite(nce)).nonzero()[0])
        raise DivergenceError(
            f"run {specs[bad].name} diverged at step {t} (loss is not finite); "
            f"lower train.lr (now {lr:g}) or train.temperature"
        )


def _record(
    logs: dict[str, list],
    used: Params,
    Mt: torch.Tensor,
    nce: torch.Tensor,
    b: torch.Tensor | float,
) -> None:
    """Append one step's dynamics, loss (R,) and per-run mean bias (R,) to logs."""
    proj, norm, noise = dynamics(used, Mt)
    logs["proj"].append(proj.cpu())
    logs["norm"].append(norm.cpu())
    logs["noise"].append(noise.cpu())
    logs["loss"].append(nce.cpu())
    per_run_bias = b.mean(dim=1) if isinstance(b, torch.Tensor) else torch.full((nce.shape[0],), b)
    logs["bias"].append(per_run_bias.float().cpu())


def _checkpoint(params: Params, fmask: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """CPU copies of the stacked parameters, with the forward mask in use as "mask"."""
    ckpt = {k: v.cpu().clone() for k, v in params.items()}
    if fmask is not None:
        ckpt["mask"] = fmask.cpu().clone()
    return ckpt


def _update(
    params: Params, grads: Params, exact_mask: torch.Tensor | None, train_cfg: TrainParams
) -> None:
    """One SGD step in place on loss + (lambda / 2)||theta||^2; every entry is updated.

    exact_mask: the forward mask (R, m, d) when the gradient is the exact one of the masked
    loss (masked_grad "exact"), else None."""
    if exact_mask is not None:
        grads["w"].mul_(exact_mask)
    for p, g in grads.items():
        # The penalty (lambda / 2)||theta||^2 contributes lambda * theta to the gradient.
        g.add_(params[p], alpha=train_cfg.weight_decay)
        params[p].sub_(g, alpha=train_cfg.lr)


def train_runs(
    specs: list[RunSpec],
    data_cfg: DataParams,
    model_cfg: ModelParams,
    train_cfg: TrainParams,
    M: np.ndarray,
    progress: bool = True,
    forward_mask: ForwardMask | None = None,
    bias_fn: Callable[[int, Params], torch.Tensor | float] | None = None,
) -> list[RunResult]:
    """Train all runs, grouping those of equal width in chunks of `train.batched_runs`.

    forward_mask: a forward-only mask schedule for every run (None = dense); bias_fn: as in
    train_group (None = the schedule of model_cfg)."""
    results: dict[str, RunResult] = {}
    by_width: dict[int, list[RunSpec]] = {}
    for s in specs:
        by_width.setdefault(s.width, []).append(s)
    runs_bar = progress_bar(len(specs), "runs trained", disable=not progress)
    for group in by_width.values():
        n_chunks = math.ceil(len(group) / train_cfg.batched_runs)
        for c in range(n_chunks):
            chunk = group[c * train_cfg.batched_runs : (c + 1) * train_cfg.batched_runs]
            for res in train_group(
                chunk,
                data_cfg,
                model_cfg,
                train_cfg,
                M,
                progress=progress,
                forward_mask=forward_mask,
                bias_fn=bias_fn,
            ):
                results[res.spec.name] = res
            runs_bar.update(len(chunk))
    runs_bar.close()
    return [results[s.name] for s in specs]


def role_runs(
    data: DataParams,
    model: ModelParams,
    train: TrainParams,
    M: np.ndarray,
    seed: int,
    bias_fn: Callable[[int, Params], torch.Tensor | float] | None = None,
) -> tuple[list[RunResult], dict[str, float]]:
    """The dense runs of the default size at data.imbalance_ratio ("imbalanced") and at
    train.control_ratio ("balanced"), trained stacked: seeds seed .. seed + 2n - 1, the
    discovery and the confirmation block of n = train.seeds_per_block seeds each.

    M (d, K) is the feature dictionary; bias_fn a per-neuron bias (None: model's schedule).
    Returns the runs and the roles' ratios.
    """
    roles = {"imbalanced": data.imbalance_ratio, "balanced": train.control_ratio}
    specs = [
        RunSpec(rho, model.width, s)
        for rho in dict.fromkeys(roles.values())
        for s in run_seeds(seed, train.seeds_per_block)
    ]
    return train_runs(specs, data, model, train, M, bias_fn=bias_fn), roles
