"""What one stage hands the report: a Part written into the stage's output directory, which
the report stage (core.report.collect) reads. Kept apart from the report so that the stages
that write parts do not depend on how the report is laid out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imbcl.core.io import write_json


@dataclass(frozen=True)
class Part:
    """What one stage hands the report, written by `write_part` into its output directory.

    metrics: flat numeric keys (prefixed with the part's directory name by `collect`);
    claims: claim rows (`Claim.as_dict()`); section, text and figures: the report section's
    title, its markdown body (e.g. a table) and its figures, each {"file": name under
    reports/figures, "caption": text}. A field left at None is not written.
    """

    metrics: dict[str, float] | None = None
    claims: list[dict] | None = None
    section: str | None = None
    figures: list[dict] = field(default_factory=list)
    text: str = ""


def write_part(directory: Path, part: Part) -> None:
    """metrics.json, claims.json and figures.json of `part` in `directory` (the stage's
    temporary output directory, renamed into place by `core.io.atomic_dir`)."""
    if part.metrics is not None:
        write_json(directory / "metrics.json", part.metrics)
    if part.claims is not None:
        write_json(directory / "claims.json", part.claims)
    if part.section is not None:
        body = {"section": part.section, "figures": part.figures}
        write_json(directory / "figures.json", {**body, "text": part.text} if part.text else body)
