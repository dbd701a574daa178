"""make verify: rerun the claim-deciding stages of C1-C6 (train, analyze, sweep, imbalance,
prune_forward) with the other train.backend into runs/verify/, and compare their claims with
the pipeline's (runs/analyze, runs/imbalance, runs/prune_forward).

writes  runs/verify/ (params.yaml, the runs and claims); reports/tables/verify.{md,csv}
"""

from pathlib import Path

from imbcl.core.io import read_json, write_text
from imbcl.core.rerun import changed_params, read_params, run_stages
from imbcl.core.verify import compare

OUT = Path("runs/verify")
STAGES = [
    ["stages/train.py", "data/synthetic", "runs/calibrate/bias.json", f"{OUT}/train"],
    ["stages/analyze.py", "data/synthetic", f"{OUT}/train", f"{OUT}/analyze", f"{OUT}/dynamics"],
    ["stages/sweep.py", "runs/calibrate/bias.json", f"{OUT}/sweep"],
    ["stages/imbalance.py", f"{OUT}/sweep", f"{OUT}/imbalance", f"{OUT}/figures", f"{OUT}"],
    ["stages/prune_forward.py", f"{OUT}/prune_forward", f"{OUT}/prune", f"{OUT}/figures/c6.png"],
]
CLAIMS = ["analyze", "imbalance", "prune_forward"]  # the stages' claims.json, under runs/


def main() -> None:
    base = read_params("params.yaml")["train"]["backend"]
    other = "autograd" if base == "manual" else "manual"
    params = changed_params("params.yaml", OUT, lambda p: p["train"].update(backend=other))
    (OUT / "figures").mkdir(exist_ok=True)
    run_stages(STAGES, params, f"verify ({other})")
    rows = {
        base: [r for c in CLAIMS for r in read_json(f"runs/{c}/claims.json")],
        other: [r for c in CLAIMS for r in read_json(OUT / c / "claims.json")],
    }
    table = compare(rows)
    table.to_csv("reports/tables/verify.csv", index=False)
    note = (
        f"Claims C1-C6 decided with train.backend = {base} (the pipeline) and {other} (this "
        "check: the same update, rounded differently). Expected: the same verdict, and pooled "
        "95% intervals that overlap.\n\n"
    )
    write_text("reports/tables/verify.md", note + table.to_markdown(index=False) + "\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
