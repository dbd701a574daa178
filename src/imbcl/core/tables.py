"""Tables as the report shows them: one LaTeX writer for every track (pandas' Styler)."""

from __future__ import annotations

import pandas as pd


def latex(table: pd.DataFrame, caption: str) -> str:
    """A booktabs `table` float of a string-formatted frame: first column left, others right.

    Cells are escaped for LaTeX (underscores, percent signs); the caption too.
    """
    spec = "l" + "r" * (len(table.columns) - 1)
    styler = (
        table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    )
    return styler.to_latex(
        column_format=spec,
        position="t",
        position_float="centering",
        hrules=True,
        caption=caption.replace("_", r"\_").replace("%", r"\%"),
    )
