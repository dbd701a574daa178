"""Where a training or evaluation process runs: its device, rank and number of processes,
its CPU threads, and the torchrun launch for `real.nproc` > 1.

Under torchrun every process draws the same global batch, encodes its contiguous shard and
all-gathers the projections with autograd (`gather`), so the loss sees every view as a
negative, as on one process (see `imbcl.longtail.train`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist

from imbcl.core.errors import ParamError
from imbcl.core.runtime import resolve_device
from imbcl.longtail.params import RealParams

DEVICE_KEY = "real.device"


@dataclass(frozen=True)
class Context:
    """Where this process runs: device, rank and number of processes."""

    device: torch.device
    rank: int = 0
    world: int = 1


def set_threads(threads: int, world: int = 1) -> None:
    """CPU threads per process. The default track's tensors are tiny (a step is a few
    MFLOP), so intra-op threads cost more in synchronisation than they gain, badly so on a
    busy machine; 0 keeps torch's default, split between the processes."""
    if threads > 0:
        torch.set_num_threads(threads)
    elif world > 1:
        torch.set_num_threads(max(1, torch.get_num_threads() // world))


def launched() -> bool:
    """True inside a process started by torchrun."""
    return "LOCAL_RANK" in os.environ


def torchrun(nproc: int, script: str, args: list[str]) -> int:
    """Run `script args` under torchrun with nproc processes on this machine; exit status."""
    launch = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        script,
        *args,
    ]
    return subprocess.run(launch, check=False).returncode


def init_distributed(device_name: str, threads: int = 0) -> Context:
    """Join the torchrun process group when launched by torchrun; else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    set_threads(threads, world)
    if world == 1:
        return Context(resolve_device(device_name, key=DEVICE_KEY))
    local_rank = int(os.environ["LOCAL_RANK"])
    device = resolve_device(device_name, local_rank, key=DEVICE_KEY)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(device, dist.get_rank(), dist.get_world_size())


def finish(ctx: Context) -> None:
    """Leave the process group (after the outputs are written)."""
    if ctx.world > 1:
        dist.destroy_process_group()


def check_world(cfg: RealParams, ctx: Context) -> None:
    """Each process encodes batch / world images: the batch must split evenly."""
    if cfg.batch % ctx.world:
        raise ParamError(
            f"real.batch = {cfg.batch}: expected a multiple of the {ctx.world} processes"
        )


def gather(z: torch.Tensor, ctx: Context) -> torch.Tensor:
    """(b, p) per process -> (B, p) in rank order, differentiable."""
    if ctx.world == 1:
        return z
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(z))
