"""make verify: rerun the claim-deciding stages of C1-C6 (train, analyze, sweep, imbalance,
prune_forward) with the other train.backend into runs/verify/, and compare their claims with
the pipeline's (runs/analyze, runs/imbalance, runs/prune_forward).

writes  runs/verify/ (params.yaml, the runs and claims); reports/tables/verify.{md,csv}
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from ruamel.yaml import YAML

from imbcl.core.io import read_json, write_text
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
    yaml = YAML(typ="safe", pure=True)
    params = yaml.load(Path("params.yaml").read_text())
    base = params["train"]["backend"]
    other = "autograd" if base == "manual" else "manual"
    params["train"]["backend"] = other
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "figures").mkdir(exist_ok=True)
    with open(OUT / "params.yaml", "w") as fh:
        yaml.dump(params, fh)
    env = {**os.environ, "IMBCL_PARAMS": str(OUT / "params.yaml")}
    for cmd in STAGES:
        start = time.perf_counter()
        subprocess.run([sys.executable, *cmd], env=env, check=True)
        print(f"verify: {cmd[0]} ({other}) {time.perf_counter() - start:.0f} s")
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
