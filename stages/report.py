"""Stage report: merge the stages' results into the output contract and the report page.

    python stages/report.py REPORTS DESIGN HISTORY PART... TABLE...
        (the design record, linked; the verdict history, included; the stages' part
        directories in report order; then tables: *.md are linked, *.csv are read for the
        theory table)
reads   params.yaml [data, model, train; small, sweep, prune, real quoted as written]
writes  REPORTS/metrics.json      flat numeric metrics, keys prefixed by the part's name
        REPORTS/claims.json       all claim rows, sorted by id
        REPORTS/README.md         the report
        REPORTS/environment.json  versions, threads, BLAS and CPU of this machine
        REPORTS/tables/theory.{csv,md}  the paper's predictions beside our measurements
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

import pandas as pd

from imbcl.core import cli, environment
from imbcl.core.cli import InFile, InPath, OutDir
from imbcl.core.io import atomic_path, write_json, write_text
from imbcl.core.params import load, read_yaml
from imbcl.core.report import collect, markdown
from imbcl.core.theory import (
    GAPS,
    dynamics_rows,
    findings,
    gap_by_rho,
    longtail_rows,
    pruning_rows,
    sweep_rows,
    theory_markdown,
    theory_table,
)
from imbcl.synthetic.params import ReportStage

QUOTED = ("small", "sweep", "prune", "real")  # validated by their own stages, quoted here
RACE = (
    "Why C2 goes either way: a race between the minority's stage-1 growth and the bias ramp, "
    "predicted from the inputs by a pre-registered index and tested on cells not used to set "
    "it; a learned minority ends stronger, as the loss-optimal two-scale oracle does (the "
    "study's page: reports/race.md, made by make study)"
)


def by_rho(csvs: dict[str, Path], claims: list[dict], raw: dict) -> list[str]:
    """The per-rho gaps of C3 and C5 for rows that do not carry `conditions` yet."""
    widths = raw.get("sweep", {}).get("widths")
    if "imbalance_runs" not in csvs or not widths:
        return []
    runs = pd.read_csv(csvs["imbalance_runs"])
    missing = [c for c in GAPS if any(r["id"] == c and not r.get("conditions") for r in claims)]
    return [line for c in missing if (line := gap_by_rho(runs, max(widths), c))]


def theory(csvs: dict[str, Path], parts: list[Path], raw: dict) -> pd.DataFrame:
    rows = []
    if "dynamics" in csvs:
        rho, control = raw["data"]["imbalance_ratio"], raw["train"]["control_ratio"]
        rows += dynamics_rows(pd.read_csv(csvs["dynamics"]), rho, control)
    if "imbalance_runs" in csvs and raw.get("sweep", {}).get("widths"):
        rows += sweep_rows(pd.read_csv(csvs["imbalance_runs"]), max(raw["sweep"]["widths"]))
    for part in parts:
        if (part / "runs.csv").is_file() and part.name == "prune_forward":
            rows += pruning_rows(pd.read_csv(part / "runs.csv"))
    if "longtail" in csvs:
        rows += longtail_rows(pd.read_csv(csvs["longtail"]))
    return theory_table(rows)


def main(reports: OutDir, design: InFile, history: InFile, *paths: InPath) -> None:
    cli.require(design, "the design record (docs/design.md)")
    record = cli.require(history, "the verdict history (docs/verdict-history.md)").read_text()
    args = [cli.require(p, "a stage's output directory or table") for p in paths]
    raw = load(cli.params_path(), ReportStage).model_dump()
    written = read_yaml(cli.params_path())
    raw.update({k: written.get(k) or {} for k in QUOTED})
    parts = [p for p in args if p.is_dir()]
    metrics, claims, sections = collect(parts)
    tables = [p.name for p in args if p.suffix == ".md"]
    csvs = {p.stem: p for p in args if p.suffix == ".csv"}
    frame = theory(csvs, parts, raw)
    out = Path(reports)
    md = theory_markdown(frame)
    with atomic_path(out / "tables" / "theory.csv") as f:
        frame.round(6).to_csv(f, index=False)
    write_text(out / "tables" / "theory.md", md + "\n")
    write_json(out / "metrics.json", metrics)
    write_json(out / "claims.json", claims)
    write_json(out / "environment.json", environment.snapshot())
    bias = metrics.get("calibrate.bias_level")
    report = (
        markdown(
            claims,
            sections,
            [*tables, "theory.md"],
            raw,
            design,
            record,
            md,
            bias,
            by_rho(csvs, claims, raw) + findings(frame) + [RACE],
        )
        + environment.markdown_section()
    )
    write_text(out / "README.md", report)


if __name__ == "__main__":
    cli.run(main)
