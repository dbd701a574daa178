"""make verify: rerun the claim-deciding stages under a rounding perturbation into
runs/verify/ and compare their claims with the pipeline's:

- C1-C6 (train, analyze, sweep, imbalance, prune_forward): the other train.backend (the
  hand-written gradient against torch autograd: the same update, rounded differently);
- C7 (longtail_train, longtail_eval): real.nproc = 2, DistributedDataParallel over two
  processes (the same global batch and gradient, its sum split and all-reduced: rounded
  differently). The real track has one backend, torch autograd.

writes  runs/verify/ (params.yaml, the runs and claims); reports/tables/verify.{md,csv}
"""

from pathlib import Path

from imbcl.core import claims_registry
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
CLAIMS = claims_registry.deciding_stages("synthetic")  # their claims.json, under runs/
REAL = OUT / "real"
REAL_STAGES = [
    ["stages/longtail_train.py", "data/longtail", f"{REAL}/longtail"],
    [
        "stages/longtail_eval.py",
        "data/longtail",
        f"{REAL}/longtail",
        f"{REAL}/longtail_eval",
        f"{REAL}/longtail",
        f"{REAL}/groups.png",
        f"{REAL}/curve.png",
    ],
]


def main() -> None:
    base = read_params("params.yaml")["train"]["backend"]
    other = "autograd" if base == "manual" else "manual"
    params = changed_params("params.yaml", OUT, lambda p: p["train"].update(backend=other))
    (OUT / "figures").mkdir(exist_ok=True)
    run_stages(STAGES, params, f"verify ({other})")
    rows = {
        "pipeline": [r for c in CLAIMS for r in read_json(f"runs/{c}/claims.json")],
        "rerun": [r for c in CLAIMS for r in read_json(OUT / c / "claims.json")],
    }
    real = changed_params("params.yaml", REAL, lambda p: p["real"].update(nproc=2, threads=1))
    run_stages(REAL_STAGES, real, "verify (real.nproc = 2)")
    for stage in claims_registry.deciding_stages("real"):
        rows["pipeline"] += read_json(f"runs/{stage}/claims.json")
        rows["rerun"] += read_json(REAL / stage / "claims.json")
    table = compare(rows)
    table.insert(
        1,
        "rerun with",
        [
            f"train.backend = {other}"
            if claims_registry.entry(c).track == "synthetic"
            else "real.nproc = 2"
            for c in table.claim
        ],
    )
    table.to_csv("reports/tables/verify.csv", index=False)
    note = (
        f"Every claim decided twice: by the pipeline (train.backend = {base}, real.nproc = 1) "
        f"and rerun under a rounding perturbation: C1-C6 with train.backend = {other} (the "
        "same update, rounded differently), C7 with real.nproc = 2 (DistributedDataParallel: "
        "the same gradient, summed in another order). Expected: the same verdict, and pooled "
        "95% intervals that overlap.\n\n"
    )
    write_text("reports/tables/verify.md", note + table.to_markdown(index=False) + "\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
