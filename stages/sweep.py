"""Stage sweep: train the (rho x width x seed) grid of small runs behind claims C3-C5.

    python stages/sweep.py     reads params.yaml [seed, sweep, and the shared settings of
                               data, model, train listed in dvc.yaml]
writes runs/sweep/index.json   the widths, the run count and the majority mask
       runs/sweep/m<width>.npz the final neurons of every run of that width: ratio (N,),
                               seed (N,), proj (N, m, K), norm (N, m), noise (N, m)
The whole grid is one stage: runs of equal width train stacked as one program, far faster on
a CPU than a DVC matrix of one process per cell (see notes on `dvc exp run --queue`).
"""

import time

import torch

from imbcl.core import cli, config
from imbcl.core.io import atomic_dir
from imbcl.imbalance.grid import run_sweep, save_sweep

OUT = "runs/sweep"


def main() -> None:
    p = config.load(cli.params_path(), "data", "model", "train", "sweep")
    # The sweep's matrices are tiny: intra-op threads cost more than they gain (measured
    # 10x slower with 2 threads on a busy 2-core machine), so one thread does the work.
    torch.set_num_threads(1)
    start = time.perf_counter()
    states, majority = run_sweep(p.data, p.model, p.train, p.sweep, p.seed)
    print(f"sweep: {len(states)} runs in {time.perf_counter() - start:.1f} s")
    with atomic_dir(OUT) as tmp:
        save_sweep(tmp, states, majority)


if __name__ == "__main__":
    cli.run(main)
