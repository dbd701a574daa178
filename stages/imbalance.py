"""Stage imbalance: claims C3-C5 from the sweep's final states.

    python stages/imbalance.py SWEEP OUT FIGURES TABLES
reads   params.yaml [seed, model, analyze, small, sweep, health]; SWEEP (the sweep stage's
        final states)
writes  OUT/{metrics,claims,figures}.json; FIGURES/imbalance_*.png (four figures);
        TABLES/imbalance_runs.csv (one row per run), TABLES/imbalance_regimes.md
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import InDir, OutDir
from imbcl.core.io import atomic_dir, atomic_path, write_text
from imbcl.core.params import load
from imbcl.core.parts import write_part
from imbcl.imbalance.experiment import decide
from imbcl.imbalance.grid import load_sweep
from imbcl.imbalance.params import ImbalanceStage


def main(sweep: InDir, out: OutDir, figures: OutDir, tables: OutDir) -> None:
    p = load(cli.params_path(), ImbalanceStage)
    states, majority = load_sweep(cli.require(sweep, "the sweep stage's output"))
    result = decide(
        states,
        majority,
        p.small,
        p.sweep,
        p.analyze,
        p.health,
        p.model.bias_final,
        p.seed,
        figures,
    )
    with atomic_path(Path(tables) / "imbalance_runs.csv") as tmp:
        result.runs.round(6).to_csv(tmp, index=False)
    write_text(Path(tables) / "imbalance_regimes.md", result.regimes)
    with atomic_dir(out) as tmp:
        write_part(tmp, result.part)


if __name__ == "__main__":
    cli.run(main)
