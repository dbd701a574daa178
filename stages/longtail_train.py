"""Stage longtail_train: SimCLR on the long-tailed split with a small ViT; dense,
magnitude-pruned, randomly pruned and SDCLR runs for each seed.

    python stages/longtail_train.py       reads params.yaml [seed, real.*], data/longtail
writes runs/longtail/<variant>_s<seed>.pt  the ViT weights (state dict)
       runs/longtail/index.json           runs and their first / last NT-Xent losses

With real.nproc > 1 the script re-launches itself under torchrun (one process per rank,
DistributedDataParallel, gloo on CPU / nccl on GPU); rank 0 writes the outputs.
"""

import os
import subprocess
import sys
import time

import numpy as np
import torch

from imbcl.core import cli, config
from imbcl.core.io import atomic_dir, read_json, write_json
from imbcl.longtail import train as realtrain

DATA, OUT = "data/longtail", "runs/longtail"


def main() -> None:
    p = config.load(cli.params_path(), "real")
    cfg = p.real
    meta = read_json(cli.require(f"{DATA}/meta.json", "the longtail_data stage's output"))
    if cfg.nproc > 1 and "LOCAL_RANK" not in os.environ:
        launch = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={cfg.nproc}",
            __file__,
        ]
        sys.exit(subprocess.run(launch, check=False).returncode)
    ctx = realtrain.init_distributed(cfg.device, cfg.threads)
    realtrain.check_world(cfg, ctx)
    train = np.load(cli.require(f"{DATA}/train.npz", "the longtail_data stage's output"))["x"]
    x = realtrain.normalise(train, meta["mean"], meta["std"]).to(ctx.device)
    t0 = time.perf_counter()
    runs = realtrain.train_seeds(x, cfg, [p.seed + k for k in range(cfg.seeds)], ctx)
    if ctx.rank == 0:
        with atomic_dir(OUT) as tmp:
            for run in runs:
                torch.save(run.state, tmp / f"{run.variant}_s{run.seed}.pt")
            write_json(
                tmp / "index.json",
                {
                    "runs": [
                        {
                            "variant": r.variant,
                            "seed": r.seed,
                            "loss_first": float(np.mean(r.losses[:10])),
                            "loss_last": float(np.mean(r.losses[-10:])),
                        }
                        for r in runs
                    ],
                    "processes": ctx.world,
                },
            )
        print(
            f"trained {len(runs)} runs on {ctx.world} process(es) "
            f"({realtrain.chain_workers(cfg, ctx)} chain worker(s)), {ctx.device}, "
            f"in {time.perf_counter() - t0:.1f} s"
        )
    if ctx.world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    cli.run(main)
