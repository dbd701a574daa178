"""Stage race (pipeline study/dvc.yaml, `make study`): the race between a rare feature's
growth and the bias ramp, predicted from the inputs before the runs (claim C2's mechanism).

    python stages/race.py RUNS TABLE ORACLE FIGURE SUMMARY
reads   params.yaml [seed, data, model, train, small, race]
writes  RUNS (per-run strengths and outcomes), TABLE (per cell: inputs, index, predicted,
        observed, set), ORACLE (two-scale oracle against trained and paper ratios per rho),
        FIGURE, SUMMARY (share predicted in confirmation cells, the discovery fit, the law)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.cli import OutFile
from imbcl.core.io import atomic_path, write_json
from imbcl.core.params import load
from imbcl.core.runtime import set_threads
from imbcl.race.figures import race_figure
from imbcl.race.oracle import oracle_table
from imbcl.race.params import RaceStage
from imbcl.race.study import discovery_fit, run_grid, shares, summary_record


def main(
    runs_out: OutFile, table: OutFile, oracle_out: OutFile, figure: OutFile, summary: OutFile
) -> None:
    p = load(cli.params_path(), RaceStage)
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    runs, cells = run_grid(p)
    oracle = oracle_table(p, cells)
    found = discovery_fit(p, cells)
    result = shares(cells)
    for path in (runs_out, table, oracle_out, figure, summary):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    for path, frame in ((runs_out, runs), (table, cells), (oracle_out, oracle)):
        with atomic_path(path) as f:
            frame.round(6).to_csv(f, index=False)
    race_figure(cells, oracle, p.race.thresholds, figure)
    write_json(summary, summary_record(p, cells, oracle, result, found))
    print(
        f"race: {len(runs)} runs, {len(cells)} cells in {time.perf_counter() - start:.1f} s; "
        f"confirmation cells predicted {result['n_predicted']}/{result['n_confirmation']}"
    )


if __name__ == "__main__":
    cli.run(main)
