"""Stage longtail_train: SimCLR on the long-tailed split with a small ViT; dense,
magnitude-pruned, randomly pruned and SDCLR runs for each seed.

    python stages/longtail_train.py DATA RUNS   reads params.yaml [seed, real.*], DATA
writes RUNS/<variant>_s<seed>.pt  the ViT weights (state dict)
       RUNS/index.json            runs and their first / last NT-Xent losses

With real.nproc > 1 the script re-launches itself under torchrun (one process per rank,
DistributedDataParallel, gloo on CPU / nccl on GPU); rank 0 writes the outputs.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import InDir, OutDir
from imbcl.core.io import atomic_dir
from imbcl.core.params import load
from imbcl.longtail import distributed, splits, train
from imbcl.longtail.params import LongtailTrainStage


def main(data: InDir, runs: OutDir) -> None:
    p = load(cli.params_path(), LongtailTrainStage)
    # a missing input or a setting training cannot honour stops here, before any process
    train.check(p.real, splits.read_meta(data))
    if p.real.nproc > 1 and not distributed.launched():
        sys.exit(distributed.torchrun(p.real.nproc, __file__, [data, runs]))
    trained = train.run(data, p.real, p.seed)
    if trained.ctx.rank == 0:
        with atomic_dir(runs) as tmp:
            train.save(tmp, trained)
        print(trained.summary())
    distributed.finish(trained.ctx)


if __name__ == "__main__":
    cli.run(main)
