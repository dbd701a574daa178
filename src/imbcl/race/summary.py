"""The race study's page, reports/race.md: the share of confirmation cells the pre-registered
index predicted, per route; its figure (reports/figures/race.png); each confirmation cell;
the two-scale oracle against the trained and the paper's ratios; the law read from them."""

from __future__ import annotations

import pandas as pd


def _table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".3g")


def race_markdown(summary: dict, cells: pd.DataFrame, oracle: pd.DataFrame) -> str:
    """summary: reports/race.json; cells: reports/tables/race.csv (one row per cell, with
    `set`, `route`, inputs, `index`, `predicted`, `observed`); oracle: race_oracle.csv."""
    conf = cells[cells["set"] == "confirmation"]
    routes = pd.DataFrame(
        [
            {"route": r, "cells": v["n"], "predicted": round(v["share"] * v["n"])}
            for r, v in sorted(summary["by_route"].items())
        ]
    )
    shown = conf[["route", "size", "rho", "bias", "ramp", "init_std", "lr", "steps", "index"]]
    shown = shown.assign(predicted=conf["predicted"], observed=conf["observed"])
    ratios = oracle[["rho", "paper_ratio", "oracle_ratio", "trained_ratio", "trained_cells"]]
    th = summary["thresholds"]
    return "\n".join(
        [
            "# The race behind C2",
            "",
            f'The race index (params `race`, design record "The race behind C2") predicted '
            f"**{summary['n_predicted']} of {summary['n_confirmation']} confirmation cells** "
            f"({summary['share_predicted']:.0%}); its thresholds (kappa {th['kappa']:g}, dead "
            f"{th['dead']:g}, learned {th['learned']:g}) were set on the "
            f"{summary['n_discovery']} discovery cells only, where they fit "
            f"{summary['share_discovery']:.0%}. Outcomes: encoder dead, minority frozen, "
            "minority learned but weaker, minority stronger.",
            "",
            "![race.png](figures/race.png)",
            "",
            "**race.png.** Left: each cell's observed outcome against its race index (log "
            "scale; open: discovery cells; filled: confirmation cells, o predicted, X missed; "
            "dashed: the thresholds set on the discovery cells); "
            f"{summary['n_predicted']} of {summary['n_confirmation']} confirmation cells "
            "predicted. Right: the minority / majority scale against rho for the two-scale "
            "oracle, the trained encoders and the paper's 1 / rho.",
            "",
            "## Confirmation cells predicted, per route",
            "",
            _table(routes),
            "",
            "## Each confirmation cell",
            "",
            _table(shown),
            "",
            "## Why a learned rare feature ends stronger: the two-scale oracle",
            "",
            "The minority / majority scale that minimises held-out InfoNCE of the oracle "
            "f = s_maj z_maj + s_min z_min, beside the trained encoders' best-neuron strength "
            "ratio (cells where the minority was learned) and the paper's eps_min / eps_max "
            "= 1 / rho.",
            "",
            _table(ratios),
            "",
            "## The law",
            "",
            summary["law"],
            "",
        ]
    )
