"""Stage figures: the dynamics figures of the dense runs.

    python stages/figures.py               reads runs/train, runs/analyze, data/synthetic
writes reports/figures/trajectories.png     (a) group trajectories, stages shaded
       reports/figures/final_alignment.png  (b) final strength per feature, seeds as points
       reports/plots/trajectories.csv       seed-mean group curves per role, for `dvc plots`
       runs/figures/figures.json            file names and captions, for the report
"""

import pandas as pd

from imbcl.core import cli
from imbcl.core.io import atomic_dir, atomic_path, load_npz, read_json, write_json
from imbcl.dynamics import figures
from imbcl.synthetic.measures import GROUPS, feature_strength, group_curves
from imbcl.synthetic.train import load_specs, load_trajectory

PLOTS = "reports/plots/trajectories.csv"
TRAIN, ANALYZE, DATA, FIG, OUT = (
    "runs/train",
    "runs/analyze",
    "data/synthetic",
    "reports/figures",
    "runs/figures",
)


def main() -> None:
    majority = load_npz(cli.require(f"{DATA}/dictionary.npz", "the synthesize output"))["majority"]
    roles = read_json(cli.require(f"{TRAIN}/index.json", "the train stage's output"))["roles"]
    stage_steps = read_json(cli.require(f"{ANALYZE}/stages.json", "the analyze output"))
    role_of = {float(v): k for k, v in roles.items()}
    titles = {r: f"{r} (rho = {roles[r]:g})" for r in ("imbalanced", "balanced")}
    long, stages, points = [], [], []
    for spec in load_specs(cli.require(TRAIN, "the train stage's output")):
        traj, role = load_trajectory(TRAIN, spec), role_of[spec.imbalance_ratio]
        curves = group_curves(traj, majority)
        for g in GROUPS:
            long.append(
                pd.DataFrame(
                    {
                        "role": role,
                        "seed": spec.seed,
                        "step": traj.steps,
                        "group": g,
                        "value": curves[g],
                    }
                )
            )
        b = stage_steps[spec.name]
        stages += [
            {"role": role, "seed": spec.seed, "stage": k, "start": b[k], "end": b[k + 1]}
            for k in range(len(b) - 1)
        ]
        final = feature_strength(traj.proj[-1])
        points += [
            {
                "role": role,
                "seed": spec.seed,
                "feature": j,
                "group": "majority" if majority[j] else "minority",
                "value": final[j],
            }
            for j in range(len(final))
        ]
    # Seed-mean group curves, one column per (role, group): the data of `dvc plots`.
    wide = (
        pd.concat(long)
        .groupby(["step", "role", "group"])["value"]
        .mean()
        .unstack(["role", "group"])
    )
    wide.columns = [f"{role}_{group}" for role, group in wide.columns]
    with atomic_path(PLOTS) as tmp:
        wide.round(6).reset_index().to_csv(tmp, index=False)
    index = [
        {
            "file": "trajectories.png",
            "caption": figures.trajectories(
                pd.concat(long), pd.DataFrame(stages), f"{FIG}/trajectories.png", titles
            ),
        },
        {
            "file": "final_alignment.png",
            "caption": figures.final_alignment(
                pd.DataFrame(points), f"{FIG}/final_alignment.png", titles
            ),
        },
    ]
    with atomic_dir(OUT) as tmp:
        write_json(
            tmp / "figures.json", {"section": "Training dynamics (C1, C2)", "figures": index}
        )


if __name__ == "__main__":
    cli.run(main)
