"""Stage race_report (pipeline study/dvc.yaml): the race study's page.

    python stages/race_report.py SUMMARY TABLE ORACLE PAGE
reads   SUMMARY (reports/race.json), TABLE (race.csv), ORACLE (race_oracle.csv)
writes  PAGE (reports/race.md)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import json

import pandas as pd

from imbcl.core import cli
from imbcl.core.cli import InFile, OutFile
from imbcl.core.io import write_text
from imbcl.race.summary import race_markdown


def main(summary: InFile, table: InFile, oracle: InFile, page: OutFile) -> None:
    s = json.loads(cli.require(summary, "the race stage's summary").read_text())
    cells = pd.read_csv(cli.require(table, "the race stage's cell table"))
    ratios = pd.read_csv(cli.require(oracle, "the race stage's oracle table"))
    write_text(page, race_markdown(s, cells, ratios))


if __name__ == "__main__":
    cli.run(main)
