"""The rounding check: the claims decided under two backends of the same update, side by side.

The manual and the autograd backend compute the same gradient with different rounding, a
cheap stand-in for another CPU. What should hold: the same verdict, and pooled intervals that
overlap (the numbers agree within their precision); bytes need not.
"""

from __future__ import annotations

import pandas as pd


def overlap(a: dict, b: dict) -> bool:
    """Whether the pooled intervals [ci_low, ci_high] of two claim rows intersect."""
    return bool(a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"])


def compare(rows: dict[str, list[dict]]) -> pd.DataFrame:
    """One line per claim: each backend's verdict and pooled interval, and the two checks.

    rows: backend name -> claim rows (claims.json); exactly two backends, same claim ids.
    """
    (name_a, a), (name_b, b) = rows.items()
    by_id = {r["id"]: r for r in b}
    out = []
    for ra in sorted(a, key=lambda r: r["id"]):
        rb = by_id[ra["id"]]
        out.append(
            {
                "claim": ra["id"],
                f"verdict {name_a}": ra["verdict"],
                f"verdict {name_b}": rb["verdict"],
                f"pooled {name_a}": f"{ra['value']:.3g} [{ra['ci_low']:.3g}, {ra['ci_high']:.3g}]",
                f"pooled {name_b}": f"{rb['value']:.3g} [{rb['ci_low']:.3g}, {rb['ci_high']:.3g}]",
                "same verdict": ra["verdict"] == rb["verdict"],
                "intervals overlap": overlap(ra, rb),
            }
        )
    return pd.DataFrame(out)
