"""The house style of every figure: seaborn's whitegrid theme, fixed metadata and seeded
jitter so the same data give the same PNG bytes, atomic saves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from imbcl.core.io import atomic_path  # noqa: E402

GROUP_COLORS = {"majority": "#1f77b4", "minority": "#d62728", "noise": "#7f7f7f"}
STAGE_SHADES = ["#fde0c5", "#d8ecd3", "#dcd6ec", "#f3d6e4"]


def style() -> None:
    np.random.seed(0)  # noqa: NPY002 - seaborn's strip jitter uses numpy's global generator
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)
    plt.rcParams.update(
        {"figure.dpi": 110, "savefig.bbox": "tight", "svg.hashsalt": "imbcl", "path.simplify": True}
    )


def save(fig: plt.Figure, path: str | Path) -> None:
    """Save atomically; fixed metadata so the same data give the same bytes."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
