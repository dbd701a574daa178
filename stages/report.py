"""Stage report: merge the stages' results into the output contract and the report page.

    python stages/report.py REPORTS DESIGN PART... TABLE.md...
        (the design record, the stages' part directories in report order, then the tables
        to link)
writes REPORTS/metrics.json      flat numeric metrics, keys prefixed by the part's name
       REPORTS/claims.json       all claim rows, sorted by id
       REPORTS/README.md         the report
       REPORTS/environment.json  versions, threads, BLAS and CPU of this machine
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli, environment
from imbcl.core.cli import InFile, InPath, OutDir
from imbcl.core.io import write_json, write_text
from imbcl.core.params import load
from imbcl.core.report import collect, markdown
from imbcl.synthetic.params import ReportStage


def main(reports: OutDir, design: InFile, *paths: InPath) -> None:
    record = cli.require(design, "the design record (docs/design.md)").read_text()
    args = [cli.require(p, "a stage's output directory or table") for p in paths]
    raw = load(cli.params_path(), ReportStage).model_dump()
    metrics, claims, sections = collect([p for p in args if p.is_dir()])
    tables = [p.name for p in args if p.suffix == ".md"]
    out = Path(reports)
    write_json(out / "metrics.json", metrics)
    write_json(out / "claims.json", claims)
    write_json(out / "environment.json", environment.snapshot())
    report = markdown(claims, sections, tables, raw, record) + environment.markdown_section()
    write_text(out / "README.md", report)


if __name__ == "__main__":
    cli.run(main)
