"""Stage longtail_eval: linear probe and kNN on frozen ViT features, per many / medium / few
group and Delta20, for every trained run and for the raw-pixel and untrained baselines; the
long-tail table, the paper's rows beside ours, two figures and claim C7.

    python stages/longtail_eval.py DATA RUNS OUT TABLE FIGURE CURVE
        reads params.yaml [seed, real.*], DATA (longtail_data), RUNS (longtail_train)
writes OUT/metrics.json          mean over seeds per (rho, encoder) and score; C7
       OUT/claims.json           row C7
       OUT/figures.json          figure files and captions, for the report
       OUT/scores.csv            one row per run and baseline
       OUT/curve.csv             the dense runs' probe accuracy by training step
       TABLE.{csv,md,tex}        mean ± std over seeds per (rho, encoder)
       TABLE_paper.md            the paper's real-data rows beside ours
       FIGURE                    per-group probe accuracy per encoder (png)
       CURVE                     dense probe accuracy vs training steps, baselines (png)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import InDir, OutDir, OutFile, OutPrefix
from imbcl.core.io import atomic_dir, write_json, write_text
from imbcl.core.params import load
from imbcl.longtail import evaluate
from imbcl.longtail.params import LongtailEvalStage


def main(
    data: InDir, runs: InDir, out: OutDir, table: OutPrefix, figure: OutFile, curve: OutFile
) -> None:
    p = load(cli.params_path(), LongtailEvalStage)
    evaluate.check(p.real, data)  # before anything is read at length or written
    ev = evaluate.run(data, runs, p.real, p.seed, figure, curve)
    with atomic_dir(out) as tmp:
        write_json(tmp / "metrics.json", ev.metrics)
        write_json(tmp / "claims.json", [ev.row])
        write_json(tmp / "figures.json", ev.figures)
        write_text(tmp / "scores.csv", ev.scores.round(6).to_csv(index=False))
        write_text(tmp / "curve.csv", ev.curve.round(6).to_csv(index=False))
    write_text(f"{table}.csv", ev.table.round(6).to_csv(index=False))
    write_text(f"{table}.md", ev.markdown)
    write_text(f"{table}.tex", ev.latex)
    write_text(f"{table}_paper.md", ev.paper)
    print(ev.summary())


if __name__ == "__main__":
    cli.run(main)
