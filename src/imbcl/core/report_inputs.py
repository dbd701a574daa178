"""What the report stage reads besides the parts: the settings as written, the bias per
model size, the theory table's rows and the findings drawn from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from imbcl.core.io import read_json
from imbcl.core.params import load, read_yaml
from imbcl.core.theory import (
    GAPS,
    dynamics_rows,
    findings,
    gap_by_rho,
    longtail_rows,
    pruning_rows,
    sweep_rows,
    theory_table,
)

QUOTED = ("small", "sweep", "prune", "real")  # validated by their own stages, quoted here
RACE = (
    "Why C2 goes either way: a race between the minority's stage-1 growth and the bias ramp, "
    "predicted from the inputs by a pre-registered index and tested on cells not used to set "
    "it; a learned minority ends stronger, as the loss-optimal two-scale oracle does (the "
    "study's page with its figure: reports/race.md, made by make study)"
)


def settings(path: Path, stage: Any) -> dict[str, Any]:
    """params.yaml: the sections `stage` (a pydantic model) validates, the QUOTED sections
    as written."""
    raw = load(path, stage).model_dump()
    written = read_yaml(path)
    raw.update({k: written.get(k) or {} for k in QUOTED})
    return raw


def biases(parts: list[Path]) -> dict[str, float]:
    """The bias level per model size ({"default": b, "small": b}) from the calibrate part's
    bias.json `sizes`; {} without one."""
    for part in parts:
        if part.name == "calibrate" and (part / "bias.json").is_file():
            chosen = read_json(part / "bias.json")
            sizes = chosen.get("sizes") or ({"small": chosen} if "level" in chosen else {})
            return {size: float(s["level"]) for size, s in sizes.items()}
    return {}


def by_rho(csvs: dict[str, Path], claims: list[dict], raw: dict) -> list[str]:
    """The per-rho gaps of C3 and C5 for rows that do not carry `conditions` yet."""
    widths = raw.get("sweep", {}).get("widths")
    if "imbalance_runs" not in csvs or not widths:
        return []
    runs = pd.read_csv(csvs["imbalance_runs"])
    missing = [c for c in GAPS if any(r["id"] == c and not r.get("conditions") for r in claims)]
    return [line for c in missing if (line := gap_by_rho(runs, max(widths), c))]


def theory(csvs: dict[str, Path], parts: list[Path], raw: dict) -> pd.DataFrame:
    """The theory table from the stages' CSVs (by stem) and the prune_forward part."""
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


def calibration_finding(path: Path) -> str:
    """The calibration rule at the default size (make study's calibrate_default summary)."""
    d = read_json(path)
    scores = ", ".join(
        f"{c['candidate']} {c['score']:.3f}" + ("" if c["eligible"] else " (not all healthy)")
        for c in d["candidates"]
    )
    agree = "the same" if d["agree"] else "they differ, and the default runs use the declared"
    return (
        f"The bias calibration rule applied at the default size (make study) chooses "
        f"{d['chosen']}; the default pipeline declares {d['declared']} ({agree}); each "
        f"candidate's score, the mean gap closed on the balanced control: {scores} "
        f"(tables/calibrate_default.md)"
    )


def censoring_finding(path: Path) -> str:
    """C4's censoring study (make study's censoring summary): the readings per rho."""
    d = read_json(path)
    per = "; ".join(
        f"rho {e['imbalance_ratio']:g} {e['reading']} (censored share {e['censored_first']:.2f} "
        f"at the narrowest width; width effect {e['width_effect']:+.2f}, time effect "
        f"{e['time_effect']:+.2f})"
        for e in d["effects"]
    )
    pred = d["prediction"]
    held = (
        "held"
        if pred["held"]
        else f"held at rho {', '.join(pred['held_at']) or 'none'} of {', '.join(pred['predicted'])}"
    )
    return (
        f"Why C4's minority is censored (make study: the small model at widths up to 4x the "
        f"sweep's widest and with twice the steps, {d['runs']} runs): {per}; the readings "
        f"predicted before the runs {held} (tables/censoring.csv)"
    )


STUDIES = (
    "The bias calibration rule applied at the default size, and why C4's minority is censored "
    "(widths up to 256, twice the steps): each with its numbers and the prediction fixed "
    "before the runs, on reports/studies.md (made by make study)"
)


def extra_findings(csvs: dict[str, Path], claims: list[dict], raw: dict, frame: Any) -> list:
    """The findings below the claims': per-rho gaps, the theory's, the studies' pages."""
    return by_rho(csvs, claims, raw) + findings(frame) + [RACE, STUDIES]
