"""Stage prune_figures: the figures of the pruning experiments (claim C6).

    python stages/prune_figures.py   reads params.yaml [prune], runs/prune, runs/train,
                                     data/synthetic
writes reports/figures/prune_ratio.png         minority strength and neurons vs ratio
       reports/figures/prune_probe.png         probe AUC per group vs ratio
       reports/figures/prune_trajectories.png  main runs over training, pruning step marked
       reports/figures/prune_regime.png        the search: timing x ratio effect map
       runs/prune_figures/figures.json         file names and captions, for the report
"""

import pandas as pd

from imbcl.core import cli
from imbcl.core.io import atomic_dir, load_npz, read_json, write_json
from imbcl.core.params import load
from imbcl.pruning import figures as prune_plots
from imbcl.pruning.params import PruneFiguresStage
from imbcl.synthetic.measures import group_curves
from imbcl.synthetic.train import load_specs, load_trajectory

DATA, TRAIN, PRUNE, FIG, OUT = (
    "data/synthetic",
    "runs/train",
    "runs/prune",
    "reports/figures",
    "runs/prune_figures",
)


def main() -> None:
    p = load(cli.params_path(), PruneFiguresStage)
    rows = pd.read_csv(
        cli.require(f"{PRUNE}/runs.csv", "the prune stage's output"), dtype={"timing": str}
    )
    regime = pd.read_csv(
        cli.require(f"{PRUNE}/regime.csv", "the prune stage's output"), dtype={"timing": str}
    )
    majority = load_npz(cli.require(f"{DATA}/dictionary.npz", "the synthesize output"))["majority"]
    pruning = read_json(cli.require(f"{PRUNE}/main/pruning.json", "the prune stage's output"))
    method, timing = p.prune.method, str(p.prune.at)
    sweep = rows[
        (rows.part == "sweep") & (rows.role == "imbalanced") & (rows.bias == p.prune.sweep_bias[0])
    ]

    # Main runs: dense trajectories from train, pruned ones from prune, same seeds.
    long = []
    pruned_specs = load_specs(f"{PRUNE}/main")
    seeds = {s.seed for s in pruned_specs}
    rho = pruned_specs[0].imbalance_ratio
    runs = [
        (s, TRAIN, "dense")
        for s in load_specs(TRAIN)
        if s.imbalance_ratio == rho and s.seed in seeds
    ]
    runs += [
        (s, f"{PRUNE}/main", "random" if pruning["variants"][s.name] == "random" else "magnitude")
        for s in pruned_specs
    ]
    for spec, where, curve in runs:
        traj = load_trajectory(where, spec)
        curves = group_curves(traj, majority)
        for g in ("majority", "minority"):
            long.append(
                pd.DataFrame(
                    {
                        "curve": curve,
                        "seed": spec.seed,
                        "step": traj.steps,
                        "group": g,
                        "value": curves[g],
                    }
                )
            )
    step = sorted(pruning["steps"].values())[len(pruning["steps"]) // 2]  # median step

    index = [
        {
            "file": "prune_regime.png",
            "caption": prune_plots.regime_map(regime, method, f"{FIG}/prune_regime.png"),
        },
        {
            "file": "prune_ratio.png",
            "caption": prune_plots.versus_ratio(sweep, method, timing, f"{FIG}/prune_ratio.png"),
        },
        {
            "file": "prune_probe.png",
            "caption": prune_plots.probe_vs_ratio(sweep, method, timing, f"{FIG}/prune_probe.png"),
        },
        {
            "file": "prune_trajectories.png",
            "caption": prune_plots.trajectories(
                pd.concat(long),
                step,
                f"{FIG}/prune_trajectories.png",
                f"Main runs: dense vs {method} vs random mask at ratio {p.prune.ratio:g}",
            ),
        },
    ]
    with atomic_dir(OUT) as tmp:
        write_json(tmp / "figures.json", {"section": "Pruning (C6)", "figures": index})


if __name__ == "__main__":
    cli.run(main)
