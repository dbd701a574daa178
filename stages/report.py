"""Stage report: merge the stages' results into the output contract and the report page.

    python stages/report.py REPORTS DESIGN HISTORY PART... TABLE...
        (the design record, linked; the verdict history, included; the stages' part
        directories in report order; then tables: *.md are linked, *.csv are read for the
        theory table)
reads   params.yaml [data, model, train; small, sweep, prune, real quoted as written]
writes  REPORTS/metrics.json      flat numeric metrics, keys prefixed by the part's name;
                                  verdict.<id>: the verdict's code (core.regime.code)
        REPORTS/claims.json       all claim rows, sorted by id
        REPORTS/README.md         the report
        REPORTS/environment.json  versions, threads, BLAS and CPU of this machine
        REPORTS/tables/theory.{csv,md}  the paper's predictions beside our measurements
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli, environment, regime, report_inputs
from imbcl.core.cli import InFile, InPath, OutDir
from imbcl.core.io import atomic_path, write_json, write_text
from imbcl.core.report import collect, markdown
from imbcl.core.theory import theory_markdown
from imbcl.synthetic.params import ReportStage


def main(reports: OutDir, design: InFile, history: InFile, *paths: InPath) -> None:
    cli.require(design, "the design record (docs/design.md)")
    record = cli.require(history, "the verdict history (docs/verdict-history.md)").read_text()
    args = [cli.require(p, "a stage's output directory or table") for p in paths]
    raw = report_inputs.settings(cli.params_path(), ReportStage)
    parts = [p for p in args if p.is_dir()]
    metrics, claims, sections = collect(parts)
    metrics |= {f"verdict.{r['id']}": regime.code(r["verdict"]) for r in claims}
    tables = [p.name for p in args if p.suffix == ".md"] + ["theory.md"]
    csvs = {p.stem: p for p in args if p.suffix == ".csv"}
    frame = report_inputs.theory(csvs, parts, raw)
    out, md = Path(reports), theory_markdown(frame)
    with atomic_path(out / "tables" / "theory.csv") as f:
        frame.round(6).to_csv(f, index=False)
    write_text(out / "tables" / "theory.md", md + "\n")
    write_json(out / "metrics.json", metrics)
    write_json(out / "claims.json", claims)
    write_json(out / "environment.json", environment.snapshot())
    extra = report_inputs.extra_findings(csvs, claims, raw, frame)
    biases = report_inputs.biases(parts)
    page = markdown(claims, sections, tables, raw, design, record, md, biases, extra)
    write_text(out / "README.md", page + environment.markdown_section())


if __name__ == "__main__":
    cli.run(main)
