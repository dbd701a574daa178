"""The chains of a stage (every variant of every (rho, seed)) side by side in worker
processes, with the same results as one after another."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch

from imbcl.core.progress import bar as progress_bar
from imbcl.longtail.distributed import Context, set_threads
from imbcl.longtail.loop import VARIANTS, RealRun, train_seed
from imbcl.longtail.params import RealParams

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
