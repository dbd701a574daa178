"""One ViT training run: SimCLR's loop with the variants' masks (dense, pruned, random,
SDCLR), its learning-rate schedule, and the variants of one (rho, seed) one after another."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from imbcl.core.errors import DivergenceError
from imbcl.longtail.distributed import Context, gather
from imbcl.longtail.feed import Batches
from imbcl.longtail.params import RealParams
from imbcl.longtail.vit import ViT, magnitude_masks, nt_xent, random_masks, views

VARIANTS = ("dense", "pruned", "random", "sdclr")


RANDOM_STREAM = 7919  # keys the random control's masks apart from every other draw


def init_model(channels: int, side: int, cfg: RealParams, seed: int) -> ViT:
    """The seed's initialisation, shared by every variant and by the untrained baseline."""
    torch.manual_seed(seed)
    return ViT(channels, side, cfg)


def lr_factor(step: int, cfg: RealParams) -> float:
    """The learning rate of `step` over cfg.lr: (step + 1) / warmup during the warm-up, then
    a cosine from 1 to 0 over the remaining steps (or 1 with schedule constant)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return 1.0
    done = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * done))


class Pair(nn.Module):
    """Both views through the encoder, each with its own masks (None: dense)."""

    def __init__(self, vit: ViT) -> None:
        super().__init__()
        self.vit = vit

    def forward(
        self,
        x1: torch.Tensor,
        x2: torch.Tensor,
        masks1: list[torch.Tensor] | None = None,
        masks2: list[torch.Tensor] | None = None,
        dense: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if masks1 is masks2:  # the same network for both views: one pass
            z = self.vit(torch.cat([x1, x2]), masks1, dense)  # (2b, p)
            return z[: len(x1)], z[len(x1) :]
        return self.vit(x1, masks1, dense), self.vit(x2, masks2, dense)


def mask_generator(seed: int, step: int) -> torch.Generator:
    """The random control's generator at one recomputation: a fresh stream per (seed, step)."""
    key = np.random.SeedSequence([seed, step, RANDOM_STREAM]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(key))


def _optimizer(model: ViT, cfg: RealParams) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


@dataclass
class Loop:
    """What one training loop does besides dense SimCLR.

    forward: 'magnitude' or 'random' forward masks (Algorithm 1 and its control);
    sdclr: the pruned second branch; curve: keep the weights every cfg.curve_every steps.
    """

    forward: str | None = None
    sdclr: bool = False
    curve: bool = False
    masks_seen: list[list[torch.Tensor]] = field(default_factory=list)  # tests: each recompute
    record_masks: bool = False


def _loop(
    model: ViT,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
    seed: int,
    x: torch.Tensor,
    fill: torch.Tensor | None,
    cfg: RealParams,
    ctx: Context,
    start: int,
    stop: int,
    how: Loop,
) -> tuple[list[float], dict[int, dict[str, torch.Tensor]]]:
    """Train steps start..stop-1; the loss of each step and the curve checkpoints."""
    net: nn.Module = Pair(model)
    if ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
        )
    shard = slice(ctx.rank * cfg.batch // ctx.world, (ctx.rank + 1) * cfg.batch // ctx.world)
    batches = Batches(len(x), cfg.batch, seed)
    dense = cfg.masked_grad == "dense"
    masks: list[torch.Tensor] | None = None
    losses, curve = [], {}
    for step in range(start, stop):
        idx = batches(step).to(x.device)  # (B,) distinct images of the long tail
        xb = x[idx]  # (B, C, H, W)
        v1, v2 = views(xb, cfg, gen, fill), views(xb, cfg, gen, fill)
        if how.forward and (masks is None or step % cfg.prune_every == 0):
            if how.forward == "magnitude":
                masks = magnitude_masks(model, cfg)
            else:
                masks = random_masks(model, cfg, mask_generator(seed, step))
            if how.record_masks:
                how.masks_seen.append(masks)
        elif how.sdclr and (masks is None or step % cfg.sdclr_every == 0):
            sd_cfg = cfg.model_copy(update={"prune_granularity": "global"})
            masks = magnitude_masks(model, sd_cfg, cfg.sdclr_ratio, unit="entry")
        for group in opt.param_groups:
            group["lr"] = cfg.lr * lr_factor(step, cfg)
        if how.sdclr:
            z1, z2 = net(v1[shard], v2[shard], None, masks)  # (B / world, p) each
        else:
            z1, z2 = net(v1[shard], v2[shard], masks, masks, dense)
        loss = nt_xent(gather(z1, ctx), gather(z2, ctx), cfg.temperature)
        if not torch.isfinite(loss):
            raise DivergenceError(f"non-finite NT-Xent loss at step {step}; lower real.lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if how.curve and cfg.curve_every and (step + 1) % cfg.curve_every == 0:
            if step + 1 < cfg.steps:  # the last step is the run itself
                curve[step + 1] = _cpu_state(model)
    return losses, curve


@dataclass
class RealRun:
    variant: str
    rho: float
    seed: int
    state: dict[str, torch.Tensor]  # the ViT's weights, on the CPU
    losses: list[float]  # NT-Xent per step (including a shared warm-up)
    seconds: float
    curve: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)  # step -> weights


def _cpu_state(model: ViT) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def train_seed(
    x: torch.Tensor,
    cfg: RealParams,
    seed: int,
    ctx: Context,
    variants: tuple[str, ...] = VARIANTS,
    rho: float | None = None,
    fill: torch.Tensor | None = None,
) -> list[RealRun]:
    """The variants of one (rho, seed), in the order of VARIANTS. x (N, C, H, W) normalised
    training images on ctx.device; `rho` only labels the runs (default: C7's)."""
    rho = cfg.imbalance_ratio if rho is None else rho
    channels, side = x.shape[1], x.shape[2]
    curve = rho == cfg.imbalance_ratio

    def fresh() -> ViT:
        return init_model(channels, side, cfg, seed).to(ctx.device)

    def loop(model: ViT, opt, gen, start: int, stop: int, how: Loop):
        return _loop(model, opt, gen, seed, x, fill, cfg, ctx, start, stop, how)

    runs = []
    for variant in variants:
        how = {
            "dense": Loop(curve=curve),
            "pruned": Loop(forward="magnitude"),
            "random": Loop(forward="random"),
            "sdclr": Loop(sdclr=True),
        }[variant]
        t0 = time.perf_counter()
        model, gen = fresh(), torch.Generator().manual_seed(seed)
        losses, states = loop(model, _optimizer(model, cfg), gen, 0, cfg.steps, how)
        runs.append(
            RealRun(variant, rho, seed, _cpu_state(model), losses, time.perf_counter() - t0, states)
        )
    return runs
