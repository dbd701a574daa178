"""The report's one-page summary, in the manner of the ML Reproducibility Challenge
(ReScience C): per claim one plain sentence, the setting that decided it, one number with its
seeds, the verdict and what it means; and the README's short results table."""

from __future__ import annotations

import re
from typing import Any

from imbcl.core import claims_registry
from imbcl.core.mdtext import interval, num, table
from imbcl.core.regime import MEANING

# Each claim in one plain sentence (the paper's, in our words): the registry's.
PLAIN = {c.id: c.plain for c in claims_registry.CLAIMS}


def reading(row: dict) -> str:
    """The verdict in plain words (core.regime.MEANING), with the row's reason and regime."""
    verdict = str(row["verdict"])
    longest_first = sorted(MEANING.items(), key=lambda kv: -len(kv[0]))
    base = next((v for k, v in longest_first if verdict.startswith(k)), verdict)
    extra = [str(row[k]) for k in ("regime", "reason") if row.get(k)]
    return base + (f" ({'; '.join(extra)})" if extra else "")


def seeds(row: dict) -> int | None:
    """Seeds behind the pooled number: both blocks together."""
    blocks = [row.get(b) for b in ("discovery", "confirmation")]
    if all(isinstance(b, dict) and "seeds" in b for b in blocks):
        return sum(int(b["seeds"]) for b in blocks if isinstance(b, dict))
    per = row.get("seeds_per_block")
    return 2 * int(per) if per else None


def short_statistic(row: dict, limit: int = 90) -> str:
    """The statistic's name without its evidence and definitions (row["short"] if given)."""
    if row.get("short"):
        return str(row["short"])
    text = re.sub(r"^(per seed: )?(\([a-z]\) )?", "", str(row["statistic"]).split(";")[0])
    text = re.sub(r"\s*\([^()]*[,:=>][^()]*\)", "", text).strip()
    if len(text) > limit:
        text = text[: text.rfind(" ", 0, limit)].rstrip(" ,") + " …"
    return text


def condition_statistic(row: dict) -> str:
    """The name of the statistic each condition holds: row["condition_statistic"] where the
    row gives it (C6: its pooled value is the slope, its conditions the effect against the
    matched random mask); the row's statistic where its value is one of the conditions' (C3-C5
    show rho 10's); else a pointer to the rule."""
    if row.get("condition_statistic"):
        return str(row["condition_statistic"])
    if row.get("value") in {c.get("value") for c in row.get("conditions") or []}:
        return short_statistic(row)
    return "each condition's effect (see the rule)"


def number(row: dict) -> str:
    """value [95% interval] and the seeds behind it."""
    n = seeds(row)
    return interval(row["value"], row["ci_low"], row["ci_high"]) + (f", n = {n} seeds" if n else "")


def per_condition(conds: list[dict]) -> str:
    """'rho 2 -0.08, 5 -0.34, ...': each condition's pooled value, by rho."""
    return "rho " + ", ".join(
        f"{float(c['rho']):g} {num(c['value'])}" for c in conds if c.get("value") is not None
    )


def key_number(row: dict) -> str:
    """The statistic and its number: per rho where the row is decided per rho; with the
    ungated value beside it where the health gate left the row untested."""
    conds = row.get("conditions") or []
    if len({c.get("rho") for c in conds}) > 1:
        n = max(int(c.get("seeds") or 0) for c in conds)
        cross = row.get("crossing") or {}
        star = cross.get("rho_star") if isinstance(cross, dict) else None
        where = (
            f"; sign changes at rho* = {interval(star, cross.get('ci_low'), cross.get('ci_high'))}"
            if star is not None
            else ""
        )
        return f"{condition_statistic(row)}: {per_condition(conds)} (n = {n} seeds){where}"
    out = f"{short_statistic(row)}: {number(row)}"
    ungated = row.get("conditions_ungated") or []
    if row.get("verdict_ungated") and len(ungated) == 1 and ungated[0].get("value") is not None:
        u = ungated[0]
        out += (
            f"; without the gate {interval(u['value'], u['ci_low'], u['ci_high'])}, "
            f"n = {u.get('seeds')} seeds: {row['verdict_ungated']}"
        )
    return out


def _join(*parts: Any) -> str:
    return ", ".join(str(x) for x in parts if x not in (None, ""))


def _grid(values: Any) -> str:
    return ", ".join(f"{float(v):g}" for v in values or [] if v is not None)


def settings(params: dict[str, Any], biases: dict[str, float] | None = None) -> dict[str, str]:
    """The setting that decides each claim, quoted from params.yaml; biases: the calibrated
    bias per model size ({"default": b, "small": b}, runs/calibrate/bias.json). A claim whose
    section is absent gets no entry (the summary then says only the model)."""
    data, model = params.get("data") or {}, params.get("model") or {}
    sweep, prune, real = (params.get(k) or {} for k in ("sweep", "prune", "real"))
    biases = biases or {}
    att = f"attention {model['attention']}" if model.get("attention") else ""

    def bias(size: str) -> str:
        b = biases.get(size)
        return f"bias {b:g}" if b is not None else "the calibrated bias"

    out: dict[str, str] = {}
    if data and model:
        rho = f"rho = {float(data['imbalance_ratio']):g} vs 1"
        default = _join(f"default model (m = {model['width']})", rho, bias("default"), att)
        out |= {"C1": default, "C2": default}
    if sweep.get("widths"):
        widths = f"m = {max(sweep['widths'])}; C4: m in {_grid(sweep['widths'])}"
        rhos = f"rho in {_grid(sweep['ratios'])}"
        small = _join(f"small model ({widths})", rhos, bias("small"), att)
        out |= {"C3": small, "C4": small, "C5": small}
    if prune.get("width"):
        out["C6"] = _join(
            f"small model (m = {prune['width']})",
            f"rho in {_grid(prune['rhos'])}",
            f"alpha = {prune['alpha']} per {prune['unit']}",
            bias("small"),
            att,
        )
    if real.get("dataset"):
        out["C7"] = _join(
            f"small ViT on {real['dataset']}-LT",
            f"rho in {_grid(sorted({real['imbalance_ratio'], *(real.get('extra_ratios') or [])}))}",
            f"alpha = {real['prune_alpha']}",
            f"masked_grad {real['masked_grad']}" if real.get("masked_grad") else "",
        )
    return out


def summary_table(rows: list[dict], setting: dict[str, str]) -> str:
    """Per claim: plain sentence, deciding setting, key number, verdict, its meaning."""
    header = ["id", "claim", "decided on", "key number (95% interval)", "verdict", "what it means"]
    return table(
        header,
        [
            [
                r["id"],
                PLAIN.get(r["id"], r["claim"]),
                r.get("setting") or setting.get(r["id"], ""),
                key_number(r),
                f"{r['verdict']}",
                reading(r),
            ]
            for r in rows
        ],
    )


def results_table(rows: list[dict]) -> str:
    """The README's table: short cells (id, claim, verdict, key number)."""
    return table(
        ["id", "claim", "verdict", "key number [95% interval]"],
        [[r["id"], PLAIN.get(r["id"], r["claim"]), r["verdict"], number(r)] for r in rows],
    )
