"""Stage longtail_eval: linear probe and kNN on frozen ViT features, per many / medium / few
group; the long-tail table, the per-group figure and claim C7.

    python stages/longtail_eval.py DATA RUNS OUT TABLE FIGURE
        reads params.yaml [real.*], DATA (longtail_data), RUNS (longtail_train)
writes OUT/metrics.json          mean over seeds per variant and score
       OUT/claims.json           row C7
       OUT/figures.json          figure file and caption, for the report
       OUT/scores.csv            one row per run
       TABLE.{csv,md,tex}        mean ± std over seeds per variant
       FIGURE                    per-group probe accuracy per variant (png)
"""

from imbcl.core import cli
from imbcl.core.io import atomic_dir, write_json, write_text
from imbcl.core.params import load
from imbcl.longtail import evaluate
from imbcl.longtail.params import LongtailEvalStage


def main(data: str, runs: str, out: str, table: str, figure: str) -> None:
    p = load(cli.params_path(), LongtailEvalStage)
    evaluate.check(p.real, data)  # before anything is read at length or written
    ev = evaluate.run(data, runs, p.real, figure)
    with atomic_dir(out) as tmp:
        write_json(tmp / "metrics.json", ev.metrics)
        write_json(tmp / "claims.json", [ev.claim.as_dict()])
        write_json(tmp / "figures.json", ev.figures)
        write_text(tmp / "scores.csv", ev.scores.round(6).to_csv(index=False))
    write_text(f"{table}.csv", ev.table.round(6).to_csv(index=False))
    write_text(f"{table}.md", ev.markdown)
    write_text(f"{table}.tex", ev.latex)
    print(ev.summary())


if __name__ == "__main__":
    cli.run(main)
