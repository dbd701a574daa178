"""SimCLR training of the small ViT on long-tailed splits: dense, pruned (the paper's
Algorithm 1), its random control and SDCLR runs, for every rho and seed, on one process or
several under torchrun (DistributedDataParallel).

Per (rho, seed), the runs share one initialisation and one data stream (the batch of step k
is a function of (seed, k), `Batches`; the views are drawn from a CPU torch.Generator seeded
by the seed), so differences between variants come from the variant alone:
- dense:  SimCLR, NT-Xent between two views through the same network.
- pruned: with `prune_method: forward_mask` (the paper's Algorithm 1, the default), from
          initialisation the share `prune_alpha` of MLP units of smallest magnitude (whole
          neurons by ||w_i||, or weights by |w_ij|, `prune_unit`) is masked in the forward
          pass of both views; the mask is recomputed from the current weights every
          `prune_every` steps; the optimiser step and its weight decay update every weight,
          the masked ones included. Their gradient is `masked_grad`: exact (zero) or
          dense (the mask's backward is the identity, see `imbcl.longtail.vit.masked`).
- random: the control, the same with the units chosen at random: a fresh mask at every
          recomputation from a generator keyed by (seed, step).
- sdclr:  SDCLR (Jiang et al. 2021): view 1 through the dense network, view 2 through its
          magnitude-pruned branch (the same weights times a global weight mask at
          `sdclr_ratio`, re-derived every `sdclr_every` steps); the probe reads the dense
          network.

At C7's rho every variant is trained; at the extra rho (real.extra_ratios: the balanced
control, or the paper's grid) only dense and pruned, the pair the paper's table reports.

The learning rate warms up linearly over `warmup_steps`, then follows a cosine to 0
(`schedule`); AdamW. The dense run keeps checkpoints every `curve_every` steps at C7's rho,
for the probe-accuracy curve.

Distributed (imbcl.longtail.distributed): every process draws the same global batch and
views, encodes its contiguous shard, and all-gathers the projections with autograd
(torch.distributed.nn), so the loss sees all 2B views as negatives, exactly as on one
process. Each process then holds the full loss; the gather's backward sums the processes'
gradients (x world) and DDP averages them (/ world), which gives the one-process gradient.

A stage's outputs: `<variant>_r<rho>_s<seed>.pt` (the ViT's state dict) per run, the dense
checkpoints `dense_r<rho>_s<seed>_t<step>.pt`, and index.json.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from imbcl.core import claims_registry
from imbcl.core.blocks import block_seeds
from imbcl.core.cli import require
from imbcl.core.errors import DivergenceError, ParamError
from imbcl.core.io import read_json, write_json
from imbcl.core.progress import bar as progress_bar
from imbcl.core.runtime import resolve_device
from imbcl.longtail import splits
from imbcl.longtail.distributed import (
    DEVICE_KEY,
    Context,
    check_world,
    gather,
    init_distributed,
    set_threads,
)
from imbcl.longtail.params import RealParams
from imbcl.longtail.vit import ViT, magnitude_masks, nt_xent, random_masks, views

VARIANTS = ("dense", "pruned", "random", "sdclr")
RANDOM_STREAM = 7919  # keys the random control's masks apart from every other draw


def normalise(x: np.ndarray, mean: list[float], std: list[float]) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> float32 with per-channel zero mean, unit std."""
    m = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32)[None, :, None, None].clamp_min(1e-6)
    return (torch.from_numpy(x).float() / 255 - m) / s


def black(mean: list[float], std: list[float]) -> torch.Tensor:
    """(C,) the normalised value of a black pixel: what a view fills its border with."""
    return normalise(np.zeros((1, len(mean), 1, 1), dtype=np.uint8), mean, std).flatten()


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


class Batches:
    """The images of each step, drawn without replacement within a batch (SimCLR's
    convention, as a shuffling DataLoader with drop_last): epoch e is a permutation of the
    n training images seeded by (seed, e), cut into n // batch batches; the rest is dropped.

    Step k's batch is a function of (seed, k) alone, so a run resumed or branched at any step
    draws the same images, and every process of a distributed run draws the same batch.
    """

    def __init__(self, n: int, batch: int, seed: int) -> None:
        if batch > n:
            raise ParamError(
                f"real.batch = {batch}: expected at most the {n} images of the training split"
            )
        self.n, self.batch, self.seed = n, batch, seed
        self.per_epoch = n // batch
        self._epoch, self._perm = -1, np.empty(0, dtype=np.int64)

    def __call__(self, step: int) -> torch.Tensor:
        """(batch,) distinct image indices of step `step`."""
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._epoch, self._perm = epoch, rng.permutation(self.n)
        return torch.from_numpy(self._perm[k * self.batch : (k + 1) * self.batch])


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


PAIR = ("dense", "pruned")  # the paper's pair, all that an extra rho trains


def variants_at(cfg: RealParams, rho: float) -> tuple[str, ...]:
    """Every variant at C7's rho; dense and pruned (the paper's table) at an extra rho."""
    return VARIANTS if rho == cfg.imbalance_ratio else PAIR


def chains(cfg: RealParams, rho: float) -> tuple[tuple[str, ...], ...]:
    """The independent jobs of one (rho, seed): every variant alone."""
    return tuple((v,) for v in variants_at(cfg, rho))


def _train_chain(x, cfg: RealParams, seed: int, chain: tuple[str, ...], rho: float, fill):
    """One chain in a worker process (single CPU process, so no process group)."""
    set_threads(cfg.threads)
    return train_seed(x, cfg, seed, Context(torch.device("cpu")), chain, rho, fill)


def chain_workers(cfg: RealParams, ctx: Context) -> int:
    """Worker processes for `train_all`: one per `cfg.threads` cores on a single CPU
    process, else 1 (torchrun ranks and GPUs already use the hardware)."""
    if ctx.world > 1 or ctx.device.type != "cpu" or cfg.threads <= 0:
        return 1
    return max(1, (os.cpu_count() or 1) // cfg.threads)


def train_all(
    xs: dict[float, torch.Tensor],
    cfg: RealParams,
    seeds: list[int],
    ctx: Context,
    fill: torch.Tensor | None = None,
) -> list[RealRun]:
    """The variants of every (rho, seed) (`variants_at`), ordered rho by rho (as xs), seed by
    seed, VARIANTS within a seed.

    Each chain depends only on its (rho, seed), so all chains run side by side in
    `chain_workers` processes, with the same results as one after another.
    """
    jobs = [(rho, seed, chain) for rho in xs for seed in seeds for chain in chains(cfg, rho)]
    workers = min(chain_workers(cfg, ctx), len(jobs))
    bar = progress_bar(len(jobs), "ViT chains trained", disable=ctx.rank != 0)
    if workers <= 1:
        done = []
        for r, s, chain in jobs:
            done.append(train_seed(xs[r], cfg, s, ctx, chain, r, fill))
            bar.update(1)
    else:
        spawn = multiprocessing.get_context("spawn")  # no fork of a process holding threads
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            futures = [
                pool.submit(_train_chain, xs[r], cfg, s, chain, r, fill) for r, s, chain in jobs
            ]
            for f in as_completed(futures):
                f.result()  # a failed chain stops the stage here
                bar.update(1)
            done = [f.result() for f in futures]
    bar.close()
    by_key = {(r.rho, r.seed, r.variant): r for runs in done for r in runs}
    return [by_key[rho, s, v] for rho in xs for s in seeds for v in variants_at(cfg, rho)]


def load_model(state: dict[str, torch.Tensor], channels: int, side: int, cfg: RealParams) -> ViT:
    model = ViT(channels, side, cfg)
    model.load_state_dict(state)
    return model.eval()


# --- the stage: inputs, runs, outputs ---------------------------------------------------------


@dataclass
class Trained:
    runs: list[RealRun]  # rho by rho, seed by seed, VARIANTS within a seed
    ctx: Context  # the process that trained them
    workers: int  # chain worker processes
    seconds: float

    def summary(self) -> str:
        return (
            f"trained {len(self.runs)} runs on {self.ctx.world} process(es) "
            f"({self.workers} chain worker(s)), {self.ctx.device}, in {self.seconds:.1f} s"
        )


def check(cfg: RealParams, meta: dict[str, Any]) -> None:
    """Refuse, before a process starts or an output is written, what training cannot honour:
    a device this machine lacks, more processes than GPUs, a batch larger than a training
    split, a patch that does not tile the saved images, a rho the data stage did not draw."""
    device = resolve_device(cfg.device, key=DEVICE_KEY)
    if device.type == "cuda" and cfg.nproc > torch.cuda.device_count():
        raise ParamError(
            f"real.nproc = {cfg.nproc}: expected at most the {torch.cuda.device_count()} "
            "visible GPU(s) with real.device = " + cfg.device
        )
    side = meta["shape"][1]
    if side % cfg.patch:
        raise ParamError(f"real.patch = {cfg.patch}: expected a divisor of the image side {side}")
    sizes = meta["sizes"]["train"]
    for rho in cfg.ratios:
        key = splits.rho_key(rho)
        if key not in sizes:
            raise ParamError(
                f"real.extra_ratios: rho = {rho:g} has no training split in the data stage's "
                f"output (it drew {', '.join(sizes)}); rerun longtail_data"
            )
        if cfg.batch > sizes[key]:
            raise ParamError(
                f"real.batch = {cfg.batch}: expected at most {sizes[key]}, the images of the "
                f"long-tailed training split at rho = {rho:g}; batches are drawn without "
                "replacement"
            )


def run(data: str | Path, cfg: RealParams, seed: int) -> Trained:
    """Every variant of both seed blocks at every rho, on the splits saved in `data`; joins
    torchrun's process group when launched by torchrun."""
    meta = splits.read_meta(data)
    check(cfg, meta)
    ctx = init_distributed(cfg.device, cfg.threads)
    check_world(cfg, ctx)
    xs = {
        rho: normalise(splits.load_train(data, rho).x, meta["mean"], meta["std"]).to(ctx.device)
        for rho in cfg.ratios
    }
    layout = claims_registry.entry("C7").layout
    discovery, confirmation = block_seeds(seed, cfg.seeds_per_block, layout)
    t0 = time.perf_counter()
    runs = train_all(xs, cfg, discovery + confirmation, ctx, black(meta["mean"], meta["std"]))
    return Trained(runs, ctx, chain_workers(cfg, ctx), time.perf_counter() - t0)


def run_file(directory: str | Path, variant: str, rho: float, seed: int, step: int = 0) -> Path:
    """The weights of one run (step 0) or of one of its curve checkpoints."""
    tail = f"_t{step}" if step else ""
    return Path(directory) / f"{variant}_r{splits.rho_key(rho)}_s{seed}{tail}.pt"


def save(directory: Path, trained: Trained) -> None:
    """Each run's weights, its curve checkpoints and index.json (runs, their first / last
    ten NT-Xent losses, curve steps)."""
    for r in trained.runs:
        torch.save(r.state, run_file(directory, r.variant, r.rho, r.seed))
        for step, state in r.curve.items():
            torch.save(state, run_file(directory, r.variant, r.rho, r.seed, step))
    index = {
        "runs": [
            {
                "variant": r.variant,
                "rho": r.rho,
                "seed": r.seed,
                "loss_first": float(np.mean(r.losses[:10])),
                "loss_last": float(np.mean(r.losses[-10:])),
                "curve": sorted(r.curve),
            }
            for r in trained.runs
        ],
        "processes": trained.ctx.world,
    }
    write_json(directory / "index.json", index)


def read_index(directory: str | Path) -> list[dict[str, Any]]:
    """The runs listed in a saved directory's index.json (variant, rho, seed, losses)."""
    return read_json(require(Path(directory) / "index.json", "the longtail_train stage's output"))[
        "runs"
    ]


def load_state(
    directory: str | Path, variant: str, rho: float, seed: int, step: int = 0
) -> dict[str, torch.Tensor]:
    return torch.load(require(run_file(directory, variant, rho, seed, step), "a trained run"))
