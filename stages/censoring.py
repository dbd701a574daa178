"""Stage censoring (pipeline study/dvc.yaml, `make study`): C4's censoring study, whether a
minority no sweep width covers is lost for want of width or of time.

    python stages/censoring.py BIAS TABLE SUMMARY
reads   params.yaml [seed, data, model, train, small, sweep, analyze, health, censoring]; BIAS
        (the calibrate stage's bias.json: the small model's)
writes  TABLE (csv: per rho, steps and width the censored share with its interval),
        SUMMARY (json: per rho the width and time effects, the reading, the prediction)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import time

from imbcl.core import cli
from imbcl.core.cli import InFile, OutFile
from imbcl.core.io import atomic_path, write_json
from imbcl.core.params import load
from imbcl.core.runtime import set_threads
from imbcl.imbalance.censoring import cells, check_prediction, contrasts, run_cells
from imbcl.imbalance.params import CensoringStage
from imbcl.synthetic.bias import read_bias


def main(bias: InFile, table: OutFile, summary: OutFile) -> None:
    p = load(cli.params_path(), CensoringStage)
    b = read_bias(cli.require(bias, "the calibrate stage's bias.json"))
    set_threads(p.train.threads)  # train.threads: the same bytes for any count
    start = time.perf_counter()
    runs = run_cells(p, b)
    per_cell = cells(runs, p.analyze.confidence)
    effects = contrasts(per_cell, p.censoring.margin)
    predicted = {float(r): v for r, v in p.censoring.prediction.items()}
    with atomic_path(table) as f:
        per_cell.round(6).to_csv(f, index=False)
    write_json(
        summary,
        {
            "runs": len(runs),
            "healthy_share": float(runs.healthy.mean()),
            "effects": effects.round(6).to_dict(orient="records"),
            "prediction": check_prediction(effects, predicted),
            "margin": p.censoring.margin,
        },
    )
    print(f"censoring: {len(runs)} runs in {time.perf_counter() - start:.1f} s")
    print(effects.round(3).to_string(index=False))


if __name__ == "__main__":
    cli.run(main)
