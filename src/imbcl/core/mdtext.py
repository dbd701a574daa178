"""Markdown that cannot leak: escaped cells, tables, headings, numbers (used by the report
and the theory table)."""

from __future__ import annotations

import re
from typing import Any


def escape(text: Any) -> str:
    """Markdown-safe text: `*`, `_` and `<` outside code spans escaped (so `m*_s` or
    `<u_i, M_j>` print as written), `](` escaped (so `[a](rho)` is no link), `|` written `/`
    (safe in table cells), newlines as spaces."""
    parts = str(text).replace("\n", " ").split("`")
    for k in range(0, len(parts), 2):  # outside backticks
        parts[k] = (
            parts[k]
            .replace("\\", "\\\\")
            .replace("*", r"\*")
            .replace("_", r"\_")
            .replace("<", "&lt;")
            .replace("](", r"]\(")
            .replace("|", "/")
        )
    return "`".join(parts)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table with every cell escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def heading(title: str, level: int = 2) -> list[str]:
    """A heading that stays a heading: a title longer than one line is split at its first
    sentence (or colon), the rest set as a paragraph below it."""
    head, rest = title.strip(), ""
    if len(head) > 70:
        m = re.search(r"(\.|:) ", head)
        if m and m.start() > 0:
            head, rest = head[: m.start()], head[m.end() :]
    out = ["#" * level + " " + escape(head), ""]
    return out + ([escape(rest), ""] if rest else [])


def num(v: Any) -> str:
    """A number to 3 significant digits; n/a for None."""
    return "n/a" if v is None else f"{v:.3g}"


def interval(value: Any, low: Any, high: Any) -> str:
    """'value [low, high]'."""
    return f"{num(value)} [{num(low)}, {num(high)}]"
