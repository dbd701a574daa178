"""Stage train: dense contrastive runs at the default rho and the balanced control.

    python stages/train.py DATA BIAS OUT
reads   params.yaml [seed, data, model, train]; DATA/dictionary.npz; BIAS (the calibrate
        stage's bias.json, used instead of model.bias_final and model.bias_schedule)
writes  OUT/<run>.npz (trajectory), OUT/<run>.ckpt.npz (checkpoints), OUT/index.json (runs
        and the roles' ratios)
"""

from pathlib import Path

from imbcl.core import cli
from imbcl.core.io import atomic_dir, load_npz
from imbcl.core.params import load
from imbcl.core.runtime import set_threads
from imbcl.synthetic.bias import read_bias
from imbcl.synthetic.params import TrainStage
from imbcl.synthetic.train import role_runs, save_runs


def main(data: str, bias: str, out: str) -> None:
    p = load(cli.params_path(), TrainStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    dictionary = cli.require(Path(data) / "dictionary.npz", "the synthesize stage's output")
    b = read_bias(cli.require(bias, "the calibrate stage's bias.json"))
    M, model = load_npz(dictionary)["M"], b.model(p.model)
    results, roles = role_runs(p.data, model, p.train, M, p.seed, bias_fn=b.fn(model, M))
    with atomic_dir(out) as tmp:
        save_runs(tmp, results, roles)


if __name__ == "__main__":
    cli.run(main)
