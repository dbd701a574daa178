"""Stage train: dense contrastive runs at the default rho and the balanced control.

    python stages/train.py                 reads params.yaml [seed, data, model, train]
writes runs/train/index.json   the runs (rho, width, seed) and which rho is which role
       runs/train/<run>.npz    logged dynamics (imbcl.train.Trajectory)
       runs/train/<run>.ckpt.npz  checkpoints at train.checkpoint_steps and the final step
Run seeds are seed, seed + 1, ..., seed + train.seeds - 1, the same for both ratios.
"""

from pathlib import Path

from imbcl.core import cli, config
from imbcl.core.io import atomic_dir, load_npz, read_json, write_json
from imbcl.synthetic.train import RunSpec, save_runs, train_runs

DATA, OUT = "data/synthetic", "runs/train"


def main() -> None:
    p = config.load(cli.params_path(), "data", "model", "train")
    M = load_npz(cli.require(f"{DATA}/dictionary.npz", "the synthesize stage's output"))["M"]
    ratios = {"imbalanced": p.data.imbalance_ratio, "balanced": p.train.control_ratio}
    specs = [
        RunSpec(rho, p.model.width, p.seed + i)
        for rho in dict.fromkeys(ratios.values())
        for i in range(p.train.seeds)
    ]
    results = train_runs(specs, p.data, p.model, p.train, M)
    with atomic_dir(OUT) as tmp:
        save_runs(tmp, results)
        index = read_json(Path(tmp) / "index.json")
        write_json(Path(tmp) / "index.json", {**index, "roles": ratios})


if __name__ == "__main__":
    cli.run(main)
