"""SimCLR training of the small ViT on a long-tailed split: dense, magnitude-pruned, randomly
pruned and SDCLR runs, on one process or several under torchrun (DistributedDataParallel).

Per seed, the runs share one initialisation and one data stream (a CPU torch.Generator
seeded by the run's seed draws the batch indices and every view), so differences between
variants come from the variant alone:
- dense:  SimCLR, NT-Xent between two views through the same network.
- pruned: dense until `prune_at`, then the MLP neuron weights are magnitude-pruned at
          `prune_ratio` (granularity `prune_granularity`) and training goes on with the mask
          fixed (pruned weights stay exactly zero).
- random: the control; the same, with a random mask of the same granularity and count.
- sdclr:  SDCLR (Jiang et al. 2021): view 1 through the dense network, view 2 through its
          magnitude-pruned branch (same weights times a mask re-derived every `sdclr_every`
          steps), NT-Xent between the two; the probe reads the dense network.
dense, pruned and random are the same run until `prune_at`, so that warm-up is trained once
and branched (model, optimiser and generator state copied).

Distributed (imbcl.longtail.distributed): every process draws the same global batch and
views, encodes its contiguous shard, and all-gathers the projections with autograd
(torch.distributed.nn), so the loss sees all 2B views as negatives, exactly as on one
process. Each process then holds the full loss; the gather's backward sums the processes'
gradients (x world) and DDP averages them (/ world), which gives the one-process gradient.

A stage's outputs: `<variant>_s<seed>.pt` (the ViT's state dict) per run and index.json.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from imbcl.core.cli import require
from imbcl.core.errors import DivergenceError, ParamError
from imbcl.core.io import read_json, write_json
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
from imbcl.longtail.vit import ViT, apply_masks, magnitude_masks, nt_xent, random_masks, views

VARIANTS = ("dense", "pruned", "random", "sdclr")


def normalise(x: np.ndarray, mean: list[float], std: list[float]) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> float32 with per-channel zero mean, unit std."""
    m = torch.tensor(mean, dtype=torch.float32)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32)[None, :, None, None].clamp_min(1e-6)
    return (torch.from_numpy(x).float() / 255 - m) / s


class Pair(nn.Module):
    """Both views through the encoder; view 2 optionally through a masked (pruned) branch."""

    def __init__(self, vit: ViT) -> None:
        super().__init__()
        self.vit = vit

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, masks2: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if masks2 is None:  # one pass over both views
            z = self.vit(torch.cat([x1, x2]))  # (2b, p)
            return z[: len(x1)], z[len(x1) :]
        return self.vit(x1), self.vit(x2, masks2)


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


def _optimizer(model: ViT, cfg: RealParams) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _loop(
    model: ViT,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
    seed: int,
    x: torch.Tensor,
    cfg: RealParams,
    ctx: Context,
    start: int,
    stop: int,
    masks: list[torch.Tensor] | None = None,
    sdclr: bool = False,
) -> list[float]:
    """Train steps start..stop-1; returns the loss of each step."""
    net: nn.Module = Pair(model)
    if ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
        )
    shard = slice(ctx.rank * cfg.batch // ctx.world, (ctx.rank + 1) * cfg.batch // ctx.world)
    branch: list[torch.Tensor] | None = None
    batches = Batches(len(x), cfg.batch, seed)
    losses = []
    for step in range(start, stop):
        idx = batches(step)  # (B,) distinct images of the long tail
        xb = x[idx.to(x.device)]  # (B, C, H, W)
        v1, v2 = views(xb, cfg, gen), views(xb, cfg, gen)
        if sdclr and (branch is None or step % cfg.sdclr_every == 0):
            branch = magnitude_masks(model, cfg.prune_ratio, cfg.prune_granularity)
        z1, z2 = net(v1[shard], v2[shard], branch)  # (B / world, p) each
        loss = nt_xent(gather(z1, ctx), gather(z2, ctx), cfg.temperature)
        if not torch.isfinite(loss):
            raise DivergenceError(f"non-finite NT-Xent loss at step {step}; lower real.lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if masks is not None:
            apply_masks(model, masks)
        losses.append(float(loss.detach()))
    return losses


@dataclass
class RealRun:
    variant: str
    seed: int
    state: dict[str, torch.Tensor]  # the ViT's weights, on the CPU
    losses: list[float]  # NT-Xent per step (including a shared warm-up)
    seconds: float


def _cpu_state(model: ViT) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def train_seed(
    x: torch.Tensor, cfg: RealParams, seed: int, ctx: Context, variants: tuple[str, ...] = VARIANTS
) -> list[RealRun]:
    """All variants of one seed. x (N, C, H, W) normalised training images on ctx.device."""
    channels, side = x.shape[1], x.shape[2]

    def fresh() -> ViT:
        torch.manual_seed(seed)  # the same initialisation for every variant
        return ViT(channels, side, cfg).to(ctx.device)

    runs = []
    if any(v in variants for v in ("dense", "pruned", "random")):
        t0 = time.perf_counter()
        base, gen = fresh(), torch.Generator().manual_seed(seed)
        opt = _optimizer(base, cfg)
        warm = _loop(base, opt, gen, seed, x, cfg, ctx, 0, cfg.prune_at)
        snapshot = (
            copy.deepcopy(base.state_dict()),
            copy.deepcopy(opt.state_dict()),
            gen.get_state(),
        )
        warm_seconds = time.perf_counter() - t0
        for variant in ("dense", "pruned", "random"):
            if variant not in variants:
                continue
            t0 = time.perf_counter()
            model = fresh()
            model.load_state_dict(snapshot[0])
            opt = _optimizer(model, cfg)
            opt.load_state_dict(copy.deepcopy(snapshot[1]))
            gen.set_state(snapshot[2])
            masks = None
            if variant == "pruned":
                masks = magnitude_masks(model, cfg.prune_ratio, cfg.prune_granularity)
            elif variant == "random":  # its own generator: the data stream stays the same
                mask_gen = torch.Generator().manual_seed(seed + 7919)
                masks = random_masks(model, cfg.prune_ratio, cfg.prune_granularity, mask_gen)
            if masks is not None:
                apply_masks(model, masks)
            rest = _loop(model, opt, gen, seed, x, cfg, ctx, cfg.prune_at, cfg.steps, masks)
            runs.append(
                RealRun(
                    variant,
                    seed,
                    _cpu_state(model),
                    warm + rest,
                    warm_seconds + time.perf_counter() - t0,
                )
            )
    if "sdclr" in variants:
        t0 = time.perf_counter()
        model, gen = fresh(), torch.Generator().manual_seed(seed)
        losses = _loop(
            model, _optimizer(model, cfg), gen, seed, x, cfg, ctx, 0, cfg.steps, sdclr=True
        )
        runs.append(RealRun("sdclr", seed, _cpu_state(model), losses, time.perf_counter() - t0))
    return runs


# The two independent chains of a seed: the shared warm-up and its three branches, and SDCLR.
CHAINS = (("dense", "pruned", "random"), ("sdclr",))


def _train_chain(x: torch.Tensor, cfg: RealParams, seed: int, chain: tuple[str, ...]):
    """One chain in a worker process (single CPU process, so no process group)."""
    set_threads(cfg.threads)
    return train_seed(x, cfg, seed, Context(torch.device("cpu")), chain)


def chain_workers(cfg: RealParams, ctx: Context) -> int:
    """Worker processes for `train_seeds`: one per `cfg.threads` cores on a single CPU
    process, else 1 (torchrun ranks and GPUs already use the hardware)."""
    if ctx.world > 1 or ctx.device.type != "cpu" or cfg.threads <= 0:
        return 1
    return max(1, (os.cpu_count() or 1) // cfg.threads)


def train_seeds(x: torch.Tensor, cfg: RealParams, seeds: list[int], ctx: Context) -> list[RealRun]:
    """Every variant of every seed, in the order seed by seed, VARIANTS within a seed.

    Each chain depends only on its seed (its own initialisation, generator and masks), so
    the chains of all seeds run side by side in `chain_workers` processes, with the same
    results as one after another.
    """
    jobs = [(seed, chain) for seed in seeds for chain in CHAINS]
    workers = min(chain_workers(cfg, ctx), len(jobs))
    if workers <= 1:
        done = [train_seed(x, cfg, seed, ctx, chain) for seed, chain in jobs]
    else:
        spawn = multiprocessing.get_context("spawn")  # no fork of a process holding threads
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            futures = [pool.submit(_train_chain, x, cfg, seed, chain) for seed, chain in jobs]
            done = [f.result() for f in futures]
    by_key = {(r.seed, r.variant): r for runs in done for r in runs}
    return [by_key[seed, v] for seed in seeds for v in VARIANTS]


def load_model(state: dict[str, torch.Tensor], channels: int, side: int, cfg: RealParams) -> ViT:
    model = ViT(channels, side, cfg)
    model.load_state_dict(state)
    return model.eval()


# --- the stage: inputs, runs, outputs ---------------------------------------------------------


@dataclass
class Trained:
    runs: list[RealRun]  # seed by seed, VARIANTS within a seed
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
    a device this machine lacks, more processes than GPUs, a batch larger than the training
    split, a patch that does not tile the saved images."""
    device = resolve_device(cfg.device, key=DEVICE_KEY)
    if device.type == "cuda" and cfg.nproc > torch.cuda.device_count():
        raise ParamError(
            f"real.nproc = {cfg.nproc}: expected at most the {torch.cuda.device_count()} "
            "visible GPU(s) with real.device = " + cfg.device
        )
    side, n = meta["shape"][1], meta["sizes"]["train"]
    if side % cfg.patch:
        raise ParamError(f"real.patch = {cfg.patch}: expected a divisor of the image side {side}")
    if cfg.batch > n:
        raise ParamError(
            f"real.batch = {cfg.batch}: expected at most {n}, the images of the long-tailed "
            f"training split (real.imbalance_ratio = {cfg.imbalance_ratio:g}); batches are "
            "drawn without replacement"
        )


def run(data: str | Path, cfg: RealParams, seed: int) -> Trained:
    """Every variant of seeds seed .. seed + cfg.seeds - 1 on the long-tailed split saved in
    `data`; joins torchrun's process group when launched by torchrun."""
    meta = splits.read_meta(data)
    check(cfg, meta)
    ctx = init_distributed(cfg.device, cfg.threads)
    check_world(cfg, ctx)
    x = normalise(splits.load(data, "train").x, meta["mean"], meta["std"]).to(ctx.device)
    t0 = time.perf_counter()
    runs = train_seeds(x, cfg, [seed + k for k in range(cfg.seeds)], ctx)
    return Trained(runs, ctx, chain_workers(cfg, ctx), time.perf_counter() - t0)


def run_file(directory: str | Path, variant: str, seed: int) -> Path:
    return Path(directory) / f"{variant}_s{seed}.pt"


def save(directory: Path, trained: Trained) -> None:
    """Each run's weights and index.json (runs, their first / last ten NT-Xent losses)."""
    for r in trained.runs:
        torch.save(r.state, run_file(directory, r.variant, r.seed))
    index = {
        "runs": [
            {
                "variant": r.variant,
                "seed": r.seed,
                "loss_first": float(np.mean(r.losses[:10])),
                "loss_last": float(np.mean(r.losses[-10:])),
            }
            for r in trained.runs
        ],
        "processes": trained.ctx.world,
    }
    write_json(directory / "index.json", index)


def read_index(directory: str | Path) -> list[dict[str, Any]]:
    """The runs listed in a saved directory's index.json (variant, seed, losses)."""
    return read_json(require(Path(directory) / "index.json", "the longtail_train stage's output"))[
        "runs"
    ]


def load_state(directory: str | Path, variant: str, seed: int) -> dict[str, torch.Tensor]:
    return torch.load(require(run_file(directory, variant, seed), "a trained run"))
