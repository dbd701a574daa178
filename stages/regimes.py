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
from imbcl.core.report import Part, write_part
from imbcl.core.runtime import set_threads
from imbcl.imbalance.figures import plot_regimes
from imbcl.imbalance.params import RegimesStage
from imbcl.imbalance.regimes import cell_table, direction, markdown, run_regimes


def main(out: OutDir, tables: OutDir, figure: OutFile) -> None:
    p = load(cli.params_path(), RegimesStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    runs = run_regimes(
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
    cells = cell_table(runs, p.analyze.confidence)
    c2 = direction(cells, "c2_gap")
    summary = (
        "A map, not a verdict (one interval per cell; C2 is decided on the default model, "
        "the summary gives it): the majority ends stronger, C2's direction, in "
        f"{len(c2['holds'])} imbalanced cells ({'; '.join(c2['holds']) or 'none'}), weaker in "
        f"{len(c2['reverses'])} ({'; '.join(c2['reverses']) or 'none'}), unresolved in "
        f"{len(c2['unresolved'])}."
    )
    sick = cells[(cells.imbalance_ratio > 1) & (cells.healthy_share < 1)]
    names = [
        f"{c.attention}, b {c.bias}, rho {c.imbalance_ratio:g} ({c.healthy_share:.0%} healthy)"
        for c in sick.itertuples()
    ]
    summary += (
        f" Imbalanced cells with unhealthy runs (read them with care): {'; '.join(names)}."
        if names
        else " Every imbalanced cell's runs are healthy."
    )
    caption = plot_regimes(cells, figure) + " " + summary
    with atomic_path(Path(tables) / "regimes.csv") as tmp:
        cells.round(6).to_csv(tmp, index=False)
    write_text(Path(tables) / "regimes.md", f"{caption}\n\n{markdown(cells)}\n")
    with atomic_dir(out) as tmp:
        runs.round(6).to_csv(tmp / "runs.csv", index=False)
        write_part(
            tmp,
            Part(
                metrics={f"c2_{k}": float(len(v)) for k, v in c2.items()},
                section="Regime maps",
                figures=[{"file": Path(figure).name, "caption": caption}],
            ),
        )


if __name__ == "__main__":
    cli.run(main)
