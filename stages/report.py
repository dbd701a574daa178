"""Stage report: merge the stages' results into the output contract and the report page.

    python stages/report.py runs/analyze runs/figures ... reports/tables/dynamics.md ...
        (the stages' part directories in report order, then the tables to link)
writes reports/metrics.json  flat numeric metrics, keys prefixed by the part's name
       reports/claims.json   all claim rows, sorted by id
       reports/README.md     the report
       reports/environment.json  versions, threads, BLAS and CPU of this machine
"""

import sys

from imbcl import cli, config
from imbcl.core import environment
from imbcl.io import write_json, write_text
from imbcl.report import collect, markdown


def main() -> None:
    args = [cli.require(p, "a stage's output directory or table") for p in sys.argv[1:]]
    raw = config.read_yaml(cli.params_path())
    metrics, claims, sections = collect([p for p in args if p.is_dir()])
    tables = [p.name for p in args if p.suffix == ".md"]
    write_json("reports/metrics.json", metrics)
    write_json("reports/claims.json", claims)
    write_json("reports/environment.json", environment.snapshot())
    report = markdown(claims, sections, tables, raw) + environment.markdown_section()
    write_text("reports/README.md", report)


if __name__ == "__main__":
    cli.run(main)
