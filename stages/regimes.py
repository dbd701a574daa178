"""Stage regimes: regime maps of C2, C3 and C5 over bias level x rho x attention.

    python stages/regimes.py OUT TABLES FIGURE
reads   params.yaml [seed, data, model, train, small, sweep.widths, calibrate, analyze,
        health, regimes]
writes  OUT/runs.csv (one row per run), OUT/{metrics,figures}.json (the report part);
        TABLES/regimes.{csv,md} (one row per cell); FIGURE (the heatmaps, a PNG)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.cli import OutDir, OutFile
from imbcl.core.io import atomic_dir, atomic_path, write_text
from imbcl.core.params import load
from imbcl.core.parts import write_part
from imbcl.core.runtime import set_threads
from imbcl.imbalance import regimes
from imbcl.imbalance.figures import plot_regimes
from imbcl.imbalance.params import RegimesStage


def main(out: OutDir, tables: OutDir, figure: OutFile) -> None:
    p = load(cli.params_path(), RegimesStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    runs = regimes.run_regimes(
        p.data,
        p.model,
        p.train,
        p.small,
        max(p.sweep.widths),
        p.calibrate,
        p.analyze,
        p.health,
        p.regimes,
        p.seed,
    )
    print(f"regimes: {len(runs)} runs in {time.perf_counter() - start:.1f} s")
    cells = regimes.cell_table(runs, p.analyze.confidence)
    summary, c2 = regimes.regimes_summary(cells)
    caption = plot_regimes(cells, figure) + " " + summary
    with atomic_path(Path(tables) / "regimes.csv") as tmp:
        cells.round(6).to_csv(tmp, index=False)
    write_text(Path(tables) / "regimes.md", f"{caption}\n\n{regimes.markdown(cells)}\n")
    with atomic_dir(out) as tmp:
        runs.round(6).to_csv(tmp / "runs.csv", index=False)
        write_part(tmp, regimes.regimes_part(c2, Path(figure).name, caption))


if __name__ == "__main__":
    cli.run(main)
