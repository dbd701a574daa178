"""Stage prune: magnitude pruning vs random pruning vs dense, on the train stage's runs and
on a seeded sweep of a smaller model; claim C6.

    python stages/prune.py     reads params.yaml [seed, data, model, train, analyze, prune]
                               runs/train (checkpoints), runs/analyze/stages.json (stage1)
writes runs/prune/main/             the pruned and random-control runs of the main part
                                    (trajectories and checkpoints, as runs/train)
       runs/prune/runs.csv          one row of final measures (and probe) per run
       runs/prune/regime.csv        magnitude - random effect per (timing, ratio)
       runs/prune/metrics.json      flat means; runs/prune/claims.json  row C6
       reports/tables/pruning.{csv,md,tex}   dense / variants / random controls, mean ± std
"""

import pandas as pd

from imbcl.core import cli
from imbcl.core.io import atomic_dir, atomic_path, load_npz, read_json, write_json, write_text
from imbcl.core.params import load
from imbcl.pruning.experiment import (
    Setting,
    claim_c6,
    dense_rows,
    job_rows,
    latex,
    metrics,
    pair_jobs,
    regime,
    run_sweep,
    sweep_setting,
    variants_table,
)
from imbcl.pruning.jobs import run_jobs
from imbcl.pruning.params import PruneStage
from imbcl.synthetic.train import load_checkpoints, load_specs, load_trajectory, save_runs

DATA, TRAIN, ANALYZE, OUT, TABLE = (
    "data/synthetic",
    "runs/train",
    "runs/analyze",
    "runs/prune",
    "reports/tables/pruning",
)


def main() -> None:
    p = load(cli.params_path(), PruneStage)
    dic = load_npz(cli.require(f"{DATA}/dictionary.npz", "the synthesize stage's output"))
    ev = load_npz(cli.require(f"{DATA}/eval.npz", "the synthesize stage's output"))
    rhos = read_json(cli.require(f"{TRAIN}/index.json", "the train stage's output"))["roles"]
    stages = read_json(cli.require(f"{ANALYZE}/stages.json", "the analyze stage's output"))
    roles = {v: k for k, v in rhos.items()}
    main_setting = Setting(
        p.data,
        p.model,
        p.train,
        dic["M"],
        dic["majority"],
        ev["x"],
        ev["present"],
        p.analyze.specialise_threshold,
    )

    # Main part: the train stage's imbalanced runs (the balanced control is in the sweep, to
    # keep the stage cheap), pruned at prune.at with prune.method and its random control.
    specs = [s for s in load_specs(TRAIN) if s.imbalance_ratio == rhos["imbalanced"]]
    sources = {s.name: load_checkpoints(TRAIN, s) for s in specs}
    stage1 = {s.name: stages[s.name][1] for s in specs}
    jobs, labels = pair_jobs(
        specs, p.prune.method, p.prune.ratio, p.prune.at, stage1, p.prune.rewind
    )
    results = run_jobs(jobs, sources, p.data, p.model, p.train, dic["M"], progress=True)
    rows = dense_rows(
        specs,
        [load_trajectory(TRAIN, s) for s in specs],
        [sources[s.name][p.train.steps] for s in specs],
        main_setting,
        p.prune,
        "main",
        roles,
        "shared",
    )
    rows += job_rows(
        jobs, results, main_setting, p.prune, labels, "main", roles, "shared", [True] * len(jobs)
    )

    # Sweep: a smaller model, more seeds, the regime map and every variant.
    small = sweep_setting(
        p.data, p.model, p.train, p.small, p.prune, p.seed, p.analyze.specialise_threshold
    )
    rows += run_sweep(small, p.prune, p.analyze, p.seed, rhos)

    table = pd.DataFrame(rows)
    claim = claim_c6(table, p.prune, p.analyze.confidence)
    variants = variants_table(table, p.prune)
    with atomic_dir(OUT) as tmp:
        save_runs(tmp / "main", results)
        with atomic_path(tmp / "runs.csv") as f:
            table.round(6).to_csv(f, index=False)
        with atomic_path(tmp / "regime.csv") as f:
            regime(table, p.prune, p.analyze.confidence).round(6).to_csv(f, index=False)
        write_json(tmp / "metrics.json", metrics(table, p.prune, p.analyze.confidence))
        write_json(tmp / "claims.json", [claim.as_dict()])
        write_json(
            tmp / "main" / "pruning.json",
            {
                "steps": {j.spec.name: j.step for j in jobs},
                "variants": {j.spec.name: "random" if j.control else j.method for j in jobs},
            },
        )
    caption = (
        f"Pruning variants at ratio {p.prune.ratio:g}, step {p.prune.at} (sweep model, "
        f"{p.prune.sweep_seeds} seeds): linear-probe AUC and accuracy per group, "
        "head-tail gap, specialised neurons per feature; mean ± std over seeds."
    )
    with atomic_path(f"{TABLE}.csv") as f:
        variants.to_csv(f, index=False)
    write_text(f"{TABLE}.md", f"{caption}\n\n" + variants.to_markdown(index=False) + "\n")
    write_text(f"{TABLE}.tex", latex(variants, caption))


if __name__ == "__main__":
    cli.run(main)
