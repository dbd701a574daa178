"""Write docs/verdict-history.md from the git history of reports/claims.json.

python scripts/verdict_history.py [docs/verdict-history.md]

Every commit that changed a claim's verdict or its reason gives one line per changed claim:
date, commit, claim, before -> after, and the commit's subject as the reason. The report
includes the file; rerun this after committing new results (it reads git, not the pipeline,
so `dvc repro` stays independent of the history).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from imbcl.core.io import write_text

CLAIMS = "reports/claims.json"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def _label(row: dict) -> str:
    reason = row.get("reason")
    return f"{row['verdict']} ({reason})" if reason else str(row["verdict"])


def history() -> list[dict]:
    """One dict per (commit, claim) whose label changed, oldest first."""
    log = _git("log", "--reverse", "--format=%h%x09%ad%x09%s", "--date=short", "--", CLAIMS)
    before: dict[str, str] = {}
    out = []
    for line in log.splitlines():
        commit, date, subject = line.split("\t", 2)
        subject = re.sub(r"\s*\(?\b[Ii]ssues?\s*#?\d*\)?", "", subject)  # tracker ids
        try:
            rows = json.loads(_git("show", f"{commit}:{CLAIMS}"))
        except (subprocess.CalledProcessError, json.JSONDecodeError):
            continue
        for row in rows:
            label = _label(row)
            if before.get(row["id"]) != label:
                out.append(
                    {
                        "date": date,
                        "commit": commit,
                        "id": row["id"],
                        "from": before.get(row["id"], "(first result)"),
                        "to": label,
                        "reason": subject if len(subject) <= 160 else subject[:159] + "…",
                    }
                )
                before[row["id"]] = label
    return out


def markdown(rows: list[dict]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "/").replace("*", r"\*").replace("_", r"\_")

    lines = [
        "# Verdict history",
        "",
        "Each change of a claim's verdict or its reason since the first release, from the git "
        "history of `reports/claims.json` (written by `python scripts/verdict_history.py`; "
        "the reason is the subject of the commit that changed it).",
        "",
        "| date | commit | claim | before | after | reason |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r["date"], f"`{r['commit']}`", r["id"], r["from"], r["to"], r["reason"]]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(target: str = "docs/verdict-history.md") -> None:
    write_text(target, markdown(history()))


if __name__ == "__main__":
    main(*sys.argv[1:])
