"""Stage train: dense contrastive runs at the default rho and the balanced control.

    python stages/train.py DATA BIAS OUT
reads   params.yaml [seed, data, model, train, health.eval_samples, health.heldout_batches];
        DATA/dictionary.npz; BIAS (the calibrate stage's bias.json: the default size's bias,
        used instead of model.bias_final and model.bias_schedule)
writes  OUT/<run>.npz (trajectory), OUT/<run>.ckpt.npz (checkpoints), OUT/index.json (runs
        and the roles' ratios), OUT/health.csv (each run's health certificate, held-out
        pairs at its own rho: synthetic.health; the analyze stage applies the rule)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import pandas as pd

from imbcl.core import cli
from imbcl.core.cli import InDir, InFile, OutDir
from imbcl.core.io import atomic_dir, load_npz
from imbcl.core.params import load
from imbcl.core.runtime import set_threads
from imbcl.synthetic.bias import read_bias
from imbcl.synthetic.health import HEALTH_FILE, run_health
from imbcl.synthetic.params import TrainStage
from imbcl.synthetic.train import role_runs, save_runs


def main(data: InDir, bias: InFile, out: OutDir) -> None:
    p = load(cli.params_path(), TrainStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    dictionary = cli.require(Path(data) / "dictionary.npz", "the synthesize stage's output")
    b = read_bias(cli.require(bias, "the calibrate stage's bias.json"), "default")
    arrays = load_npz(dictionary)
    M, majority, model = arrays["M"], arrays["majority"], b.model(p.model)
    results, roles = role_runs(p.data, model, p.train, M, p.seed, bias_fn=b.fn(model, M))
    certs = run_health(results, p.data, model, p.train, b, M, majority, p.health, p.seed)
    table = pd.DataFrame(
        [
            {"run": r.spec.name, "seed": r.spec.seed, **c}
            for r, c in zip(results, certs, strict=True)
        ]
    )
    with atomic_dir(out) as tmp:
        save_runs(tmp, results, roles)
        table.round(6).to_csv(tmp / HEALTH_FILE, index=False)


if __name__ == "__main__":
    cli.run(main)
