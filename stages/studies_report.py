"""Stage studies_report (pipeline study/dvc.yaml, `make study`): the page of the studies
beside the race, each finding with its numbers (core.report_inputs).

    python stages/studies_report.py CALIBRATION CENSORING CENSORING_TABLE PAGE
reads   CALIBRATION (calibrate_default's summary), CENSORING (censoring's summary) and
        CENSORING_TABLE (its per-cell censored shares)
writes  PAGE (markdown)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import pandas as pd

from imbcl.core import cli
from imbcl.core.cli import InFile, OutFile
from imbcl.core.io import write_text
from imbcl.core.report_inputs import calibration_finding, censoring_finding


def main(calibration: InFile, censoring: InFile, censoring_table: InFile, page: OutFile) -> None:
    cells = pd.read_csv(cli.require(censoring_table, "the censoring stage's table"))
    text = [
        "# Studies beside the claims (make study)",
        "",
        "## The bias calibration rule at the default size",
        "",
        calibration_finding(cli.require(calibration, "the calibrate_default stage's summary"))
        + ".",
        "",
        "## Why C4's minority is censored",
        "",
        censoring_finding(cli.require(censoring, "the censoring stage's summary")) + ".",
        "",
        "The censored share per cell (seeds whose minority is not fully covered), with its "
        "Wilson 95% interval:",
        "",
        cells.round(3).to_markdown(index=False),
        "",
    ]
    write_text(page, "\n".join(text))


if __name__ == "__main__":
    cli.run(main)
