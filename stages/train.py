"""Stage train: dense contrastive runs at the default rho and the balanced control.

    python stages/train.py DATA OUT
reads   params.yaml [seed, data, model, train]; DATA/dictionary.npz
writes  OUT/<run>.npz (trajectory), OUT/<run>.ckpt.npz (checkpoints), OUT/index.json (runs
        and the roles' ratios)
"""

from pathlib import Path

from imbcl.core import cli
from imbcl.core.io import atomic_dir, load_npz
from imbcl.core.params import load
from imbcl.synthetic.params import TrainStage
from imbcl.synthetic.train import role_runs, save_runs


def main(data: str, out: str) -> None:
    p = load(cli.params_path(), TrainStage)
    dictionary = cli.require(Path(data) / "dictionary.npz", "the synthesize stage's output")
    results, roles = role_runs(p.data, p.model, p.train, load_npz(dictionary)["M"], p.seed)
    with atomic_dir(out) as tmp:
        save_runs(tmp, results, roles)


if __name__ == "__main__":
    cli.run(main)
