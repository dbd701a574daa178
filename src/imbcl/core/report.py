"""The report: merge each stage's metrics, claims and figure captions into the files other
tools read (reports/metrics.json, reports/claims.json) and the page a reader opens first
(reports/README.md): the summary (core.summary), the findings and the claims in full
(core.findings), the reference boxes (core.glossary), the theory table and each stage's
section. Stages hand it their results through core.parts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from imbcl.core import findings as body
from imbcl.core.claims import merge
from imbcl.core.glossary import LIMITATIONS, deviations, glossary
from imbcl.core.io import read_json
from imbcl.core.mdtext import escape
from imbcl.core.summary import settings, summary_table


def collect(parts: list[Path]) -> tuple[dict[str, float], list[dict], list[dict]]:
    """Metrics (prefixed by part name), claim rows and figure sections from stage outputs."""
    metrics: dict[str, float] = {}
    rows: list[dict] = []
    sections: list[dict] = []
    for part in parts:
        if (part / "metrics.json").exists():
            for k, v in read_json(part / "metrics.json").items():
                metrics[f"{part.name}.{k}"] = v
        if (part / "claims.json").exists():
            rows += read_json(part / "claims.json")
        if (part / "figures.json").exists():
            sections.append(read_json(part / "figures.json"))
    return dict(sorted(metrics.items())), merge(rows), sections


def _history(history: str) -> list[str]:
    body = re.sub(r"^# .*\n+", "", history.strip()) if history else ""
    return ["## Verdict history", "", body or "No earlier verdicts recorded.", ""]


def _theory(theory: str) -> list[str]:
    if not theory:
        return []
    return [
        "## Theory beside measurement",
        "",
        "Every quantitative prediction of the paper we could measure, beside our value "
        "(mean over seeds, 95% interval; `tables/theory.csv`). Holds: for a value, the "
        "interval covers it; for a direction, the interval lies on its side; n/a for an "
        "order whose constants the paper does not state. The paper's real-data rows are on "
        "other data and another encoder: beside ours, not compared number for number "
        "(all of them: `tables/longtail_paper.md`).",
        "",
        theory.strip(),
        "",
    ]


def markdown(
    rows: list[dict],
    sections: list[dict],
    tables: list[str],
    params: dict[str, Any],
    design: str = "docs/design.md",
    history: str = "",
    theory: str = "",
    biases: dict[str, float] | None = None,
    findings: list[str] | None = None,
) -> str:
    """The report page: the summary (within its first 60 lines), findings, deviations,
    limitations, the verdict history (`history`, markdown), a glossary, the claims in full,
    the theory table (`theory`, markdown), each stage's section. design: the path of the
    design record, linked, not copied; biases: the bias per model size."""
    out = [
        "# imbcl report: which claims of the paper hold",
        "",
        "*Theoretical Analysis of Contrastive Learning under Imbalanced Data* (Liao et al., "
        f"arXiv 2602.10357, ICLR 2026). Written by `dvc repro`; the choices behind it are in "
        f"[the design record](../{design}).",
        "",
        "## Summary",
        "",
        summary_table(rows, settings(params, biases)),
        "",
        "Key number: the claim's own statistic, pooled over both seed blocks; the paper's "
        "direction is positive. A verdict holds only when both blocks of seeds give it.",
        "",
    ]
    out += body.findings(rows, findings or [])
    out += ["## Deviations from the paper", "", deviations(params, biases), ""]
    out += ["## Known limitations", "", *(f"- {escape(x)}" for x in LIMITATIONS), ""]
    out += _history(history) + glossary() + body.claims_in_full(rows) + _theory(theory)
    out += body.stage_sections(sections)
    if tables:
        out += ["## Tables", ""] + [f"- [{t}](tables/{t})" for t in tables] + [""]
    return "\n".join(out)
