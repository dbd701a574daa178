"""The race study's page from constructed results."""

import pandas as pd

from imbcl.race.summary import race_markdown

SUMMARY = {
    "by_route": {"ramp": {"n": 2, "share": 0.5}, "base": {"n": 1, "share": 1.0}},
    "thresholds": {"kappa": 0.01, "dead": 6.0, "learned": 1.5, "stronger": 1.5},
    "n_predicted": 2,
    "n_confirmation": 3,
    "share_predicted": 2 / 3,
    "n_discovery": 4,
    "share_discovery": 0.75,
    "law": "THE LAW",
}
INPUTS = {"size": "small", "rho": 10.0, "bias": 0.3, "init_std": 0.1, "lr": 0.2, "steps": 600}


def test_the_page_counts_confirmation_cells_only():
    cells = pd.DataFrame(
        [
            {**INPUTS, "set": s, "route": r, "ramp": t, "index": i, "predicted": p, "observed": o}
            for s, r, t, i, p, o in [
                ("discovery", "grid", 10, 0.5, "frozen", "frozen"),
                ("confirmation", "base", 300, 6.7, "stronger", "stronger"),
                ("confirmation", "ramp", 20, 0.6, "frozen", "frozen"),
                ("confirmation", "ramp", 50, 1.2, "frozen", "weaker"),
            ]
        ]
    )
    oracle = pd.DataFrame(
        {"rho": [1.0, 10.0], "paper_ratio": [1.0, 0.1], "oracle_ratio": [1.0, 2.06]}
    ).assign(trained_ratio=[None, 1.78], trained_cells=[0, 4])
    page = race_markdown(SUMMARY, cells, oracle)
    assert "**2 of 3 confirmation cells** (67%)" in page
    assert "![race.png](figures/race.png)" in page and "2 of 3 confirmation cells predicted" in page
    assert page.count("| ramp ") == 3  # two cells and the per-route row; discovery not listed
    assert "| grid " not in page and "THE LAW" in page and "2.06" in page
