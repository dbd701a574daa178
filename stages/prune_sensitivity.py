"""Stage prune_sensitivity (pipeline sensitivity/dvc.yaml, `make sensitivity`): the map of
Algorithm 1 over alpha x every x unit at each rho of prune.rhos.

    python stages/prune_sensitivity.py OUT TABLE FIGURE
reads   params.yaml [seed, data, model, train, analyze, small, prune]
writes  OUT (per-run measures), TABLE.{csv,md} (per-cell effects), FIGURE (heatmaps)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.blocks import SENSITIVITY_OFFSET
from imbcl.core.cli import OutFile, OutPrefix
from imbcl.core.io import atomic_path, write_text
from imbcl.core.params import load
from imbcl.core.runtime import set_threads
from imbcl.pruning.figures import sensitivity_figure
from imbcl.pruning.forward import design, run_table
from imbcl.pruning.params import PruneForwardStage
from imbcl.pruning.sensitivity import cell_effects, sensitivity_caption
from imbcl.pruning.study import study_setting


def main(out: OutFile, table: OutPrefix, figure: OutFile) -> None:
    p = load(cli.params_path(), PruneForwardStage)
    q = p.prune
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    s = study_setting(p)
    arms = design(
        q.rhos,
        q.sensitivity_alphas,
        q.sensitivity_every,
        q.sensitivity_units,
        q.start,
        q.masked_grad,
    )
    seeds = [p.seed + SENSITIVITY_OFFSET + i for i in range(q.sensitivity_seeds)]
    runs = run_table(arms, seeds, s)
    cells = cell_effects(runs)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as f:
        runs.round(6).to_csv(f, index=False)
    with atomic_path(f"{table}.csv") as f:
        cells.round(6).to_csv(f, index=False)
    caption = sensitivity_caption(p, len(seeds))
    write_text(f"{table}.md", f"{caption}\n\n" + cells.round(4).to_markdown(index=False) + "\n")
    sensitivity_figure(cells, figure)
    print(f"prune_sensitivity: {len(runs)} runs in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    cli.run(main)
