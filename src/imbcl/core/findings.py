"""The report's body after the summary: the findings that matter, every claim in full with
its statistic at each condition, and each stage's section with its figures."""

from __future__ import annotations

from typing import Any

from imbcl.core.mdtext import escape, heading, interval, num, table

BLOCK_KEYS = ("value", "ci_low", "ci_high", "verdict")


def estimate(d: dict, show_seeds: bool = True) -> str:
    """A pooled value or one block's: 'value [low, high], n seeds: verdict'; a single seed
    has no interval, so it is written 'value (1 seed, no interval)'."""
    n = d.get("seeds")
    if n is not None and n <= 1:  # even where a producer wrote bounds
        text = f"{num(d.get('value'))} ({n} seed, no interval)"
    else:
        text = interval(d.get("value"), d.get("ci_low"), d.get("ci_high"))
        text += f", {n} seeds" if show_seeds and n is not None else ""
    return text + (f": {d['verdict']}" if d.get("verdict") else "")


def cell(v: Any) -> str:
    """A condition's field as table text: blocks and sub-conditions as estimates, other
    mappings as 'key value; ...', lists joined, floats to 3 significant digits."""
    if isinstance(v, dict):
        if "value" in v:
            return estimate(v)
        return "; ".join(f"{k} {cell(x)}" for k, x in v.items() if x not in (None, "", []))
    if isinstance(v, list):
        return ", ".join(cell(x) for x in v)
    if isinstance(v, float):
        return num(v)
    return "" if v is None else str(v)


def findings(rows: list[dict], extra: list[str]) -> list[str]:
    """Per claim its verdict with the conditions said once (the regime, or the conditions
    grouped by verdict), the ungated verdict beside it; then `extra` findings."""
    out = ["## Findings that matter", ""]
    for r in rows:
        said = [str(r[k]) for k in ("regime", "reason") if r.get(k)]
        said += [where] if (where := by_condition(r)) and not r.get("regime") else []
        if r.get("verdict_ungated"):
            why = "; ".join(dict.fromkeys(str(c["reason"]) for c in ungated(r) if c.get("reason")))
            said.append(f"without the gate {r['verdict_ungated']}" + (f" ({why})" if why else ""))
        line = f"- **{r['id']}** {escape(r['verdict'])}"
        out.append(line + (": " + escape("; ".join(said)) if said else "") + ".")
    return out + [f"- {escape(f)}." for f in extra] + [""]


def claims_table(rows: list[dict]) -> str:
    """Every column of every claim row (the full statistic, control and verdict)."""
    return table(
        ["id", "claim", "statistic", "value [95% CI]", "control", "verdict"],
        [
            [
                r["id"],
                r["claim"],
                r["statistic"],
                interval(r["value"], r["ci_low"], r["ci_high"]),
                r["control"],
                r["verdict"] + (f" ({r['reason']})" if r.get("reason") else ""),
            ]
            for r in rows
        ],
    )


def by_condition(row: dict) -> str:
    """The conditions grouped by their verdict, e.g. "supported at rho 20, 50; reversed at
    rho 2, 5" (empty when the row has no per-rho conditions)."""
    groups: dict[str, list[str]] = {}
    for c in row.get("conditions") or []:
        if "rho" in c and c.get("verdict"):
            groups.setdefault(str(c["verdict"]), []).append(f"{float(c['rho']):g}")
    return "; ".join(f"{v} at rho {', '.join(r)}" for v, r in groups.items())


def conditions_table(row: dict) -> str:
    """The claim's statistic at each condition it was run under (row["conditions"])."""
    conds = row.get("conditions") or []
    if not conds:
        return ""
    keys = [k for k in conds[0] if k not in BLOCK_KEYS]
    return table(
        [*keys, "value [95% CI]", "verdict"],
        [
            [
                *(cell(c.get(k)) for k in keys),
                estimate({k: c.get(k) for k in ("value", "ci_low", "ci_high", "seeds")}, False),
                c.get("verdict", ""),
            ]
            for c in conds
        ],
    )


def claims_in_full(rows: list[dict]) -> list[str]:
    """The claims table, then each claim's rule and its statistic at each condition."""
    out = ["## Claims in full", "", claims_table(rows), ""]
    for r in rows:
        out.append(f"- **{r['id']}** rule: {escape(r['rule'])}.")
        cond = conditions_table(r)
        if cond:
            out += ["", f"  {r['id']} at each condition:", "", cond, ""]
    return [*out, ""]


def stage_sections(sections: list[dict]) -> list[str]:
    """Each stage's section: its title (split when long), text and figures with captions."""
    out: list[str] = []
    for sec in sections:
        out += heading(sec["section"])
        if sec.get("text"):
            out += [sec["text"], ""]
        for fig in sec["figures"]:
            out += [
                f"![{fig['file']}](figures/{fig['file']})",
                "",
                f"**{escape(fig['file'])}.** {escape(fig['caption'])}",
                "",
            ]
    return out


def ungated(row: dict) -> list[dict]:
    """The row's conditions decided without the health gate (none where it has no gate)."""
    return [c for c in row.get("conditions_ungated") or [] if isinstance(c, dict)]
