"""Stage sweep: the (rho x width x seed) grid of small runs behind claims C3-C5.

    python stages/sweep.py BIAS OUT
reads   params.yaml [seed, data, model, train, small, sweep, health.eval_samples,
        health.heldout_batches]; BIAS (the calibrate stage's
        bias.json, used instead of model.bias_final and model.bias_schedule)
writes  OUT: the final neurons and the health certificate of every run, by width (see
        imbalance.grid.save_sweep)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.cli import InFile, OutDir
from imbcl.core.io import atomic_dir
from imbcl.core.params import load
from imbcl.core.runtime import set_threads
from imbcl.imbalance.grid import run_sweep, save_sweep
from imbcl.imbalance.params import SweepStage
from imbcl.synthetic.bias import read_bias


def main(bias: InFile, out: OutDir) -> None:
    p = load(cli.params_path(), SweepStage)
    b = read_bias(cli.require(bias, "the calibrate stage's bias.json"))
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    states, majority = run_sweep(
        p.data, p.model, p.train, p.small, p.sweep, p.health, p.seed, bias=b
    )
    print(f"sweep: {len(states)} runs in {time.perf_counter() - start:.1f} s")
    with atomic_dir(out) as tmp:
        save_sweep(tmp, states, majority)


if __name__ == "__main__":
    cli.run(main)
