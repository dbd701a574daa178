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

By concern: feed.py (images, the batch of each step), loop.py (one run's loop, the
variants of one (rho, seed)), pool.py (the chains in worker processes), storage.py (the saved
runs); this module is the stage (checks, every seed block at every rho) and re-exports them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from imbcl.core import claims_registry
from imbcl.core.blocks import block_seeds
from imbcl.core.errors import ParamError
from imbcl.core.runtime import resolve_device
from imbcl.longtail import splits
from imbcl.longtail.distributed import DEVICE_KEY, check_world, init_distributed
from imbcl.longtail.feed import Batches, black, normalise
from imbcl.longtail.loop import (
    RANDOM_STREAM,
    VARIANTS,
    Loop,
    Pair,
    RealRun,
    _loop,
    init_model,
    lr_factor,
    mask_generator,
    train_seed,
)
from imbcl.longtail.params import RealParams
from imbcl.longtail.pool import PAIR, chain_workers, chains, train_all, variants_at
from imbcl.longtail.storage import Trained, load_model, load_state, read_index, run_file, save

__all__ = [
    "PAIR",
    "RANDOM_STREAM",
    "VARIANTS",
    "Batches",
    "Loop",
    "Pair",
    "RealRun",
    "Trained",
    "_loop",
    "black",
    "chain_workers",
    "chains",
    "check",
    "init_model",
    "load_model",
    "load_state",
    "lr_factor",
    "mask_generator",
    "normalise",
    "read_index",
    "run",
    "run_file",
    "save",
    "train_all",
    "train_seed",
    "variants_at",
]


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
