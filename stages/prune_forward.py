"""Stage prune_forward: claim C6 with the paper's Algorithm 1 (forward-only masks) on the
small model, against a matched random mask (the control), dropout and the dense run, on two
blocks of seeds, decided per rho where the dense run shows the premise.

    python stages/prune_forward.py OUT TABLE FIGURE
reads   params.yaml [seed, data, model, train, analyze, small, prune, health]
writes  OUT/runs.csv, OUT/effects.csv    per-run measures, per-seed effects
        OUT/mechanism.csv                the gradient's amplification per run and step
        OUT/claims.json, metrics.json, figures.json   the C6 row and the report part
        TABLE.{csv,md}                   the evidence (a)-(d) against both controls
        FIGURE                           log(min/maj strength) against rho per arm
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.cli import OutDir, OutFile, OutPrefix
from imbcl.core.io import atomic_dir, atomic_path, write_text
from imbcl.core.params import load
from imbcl.core.parts import write_part
from imbcl.core.runtime import set_threads
from imbcl.pruning.params import PruneForwardStage
from imbcl.pruning.study import study


def main(out: OutDir, table: OutPrefix, figure: OutFile) -> None:
    p = load(cli.params_path(), PruneForwardStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    result = study(p, figure)
    with atomic_dir(out) as tmp:
        with atomic_path(tmp / "runs.csv") as f:
            result.runs.round(6).to_csv(f, index=False)
        with atomic_path(tmp / "effects.csv") as f:
            result.effects.round(6).to_csv(f, index=False)
        with atomic_path(tmp / "mechanism.csv") as f:
            result.mechanism.round(6).to_csv(f, index=False)
        write_part(tmp, result.part)
    with atomic_path(f"{table}.csv") as f:
        result.evidence.to_csv(f, index=False)
    write_text(f"{table}.md", result.table_md)
    seconds = time.perf_counter() - start
    print(f"prune_forward: {len(result.runs)} runs in {seconds:.1f} s")


if __name__ == "__main__":
    cli.run(main)
