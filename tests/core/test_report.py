import re
import sys
from pathlib import Path

import pytest

from imbcl.core.findings import by_condition, conditions_table
from imbcl.core.io import write_json
from imbcl.core.regime import MEANING
from imbcl.core.report import collect, markdown
from imbcl.core.summary import key_number

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import report_html  # noqa: E402

ROW = {
    "id": "C1",
    "claim": "c",
    "statistic": "s",
    "value": 0.5,
    "ci_low": 0.1,
    "ci_high": None,
    "control": "ctl",
    "rule": "r",
    "verdict": "supported",
}
PARAMS = {
    "data": {"dim": 4, "n_features": 2, "n_majority": 1, "tokens": 2, "imbalance_ratio": 10.0},
    "model": {"width": 3},
    "train": {
        "control_ratio": 1.0,
        "batch": 8,
        "steps": 5,
        "lr": 0.1,
        "temperature": 0.5,
        "weight_decay": 0.0,
        "seeds_per_block": 2,
    },
}


def test_collect_prefixes_metrics_and_merges_parts(tmp_path):
    for name, value in (("a", 1.0), ("b", 2.0)):
        write_json(tmp_path / name / "metrics.json", {"x": value})
    write_json(tmp_path / "a" / "claims.json", [ROW])
    metrics, rows, sections = collect([tmp_path / "a", tmp_path / "b"])
    assert metrics == {"a.x": 1.0, "b.x": 2.0}
    assert rows == [ROW] and sections == []


def rows7() -> list[dict]:
    """Seven rows as claims.json holds them, one with conditions and a regime."""
    out = []
    for k in range(1, 8):
        row = {**ROW, "id": f"C{k}", "discovery": {"seeds": 3}, "confirmation": {"seeds": 3}}
        out.append(row)
    out[3]["statistic"] = "per seed: slope of log m*_s on log rho; evidence: <u_i, M_j>"
    out[2]["verdict"] = "supported in a regime (rho >= 20)"
    out[2]["regime"] = "holds at rho 20, 50; reversed at rho 2-10"
    out[2]["conditions"] = [
        {"rho": 2.0, "value": -0.5, "ci_low": -0.7, "ci_high": -0.3, "verdict": "reversed"},
        {"rho": 20.0, "value": 0.4, "ci_low": 0.2, "ci_high": 0.6, "verdict": "supported"},
    ]
    return out


def test_summary_of_all_seven_claims_within_the_first_60_lines(tmp_path):
    rows = rows7()
    text = markdown(rows, [], [], PARAMS, "docs/design.md", "# Verdict history\n\n| a |", "")
    head = "\n".join(text.splitlines()[:60])
    for r in rows:
        assert f"| {r['id']} |" in head
    assert "n = 6 seeds" in head and "supported in a regime (rho >= 20)" in head
    assert "holds at rho 20, 50" in head  # the regime is read, not only the verdict
    grouped = [r for r in rows if by_condition(r) == "reversed at rho 2; supported at rho 20"]
    assert grouped  # conditions grouped by verdict; the findings say them once, as the regime
    assert all(r.get("regime") and by_condition(r) not in text for r in grouped)
    assert "(../docs/design.md)" in text and "Design record" not in text  # linked, not copied
    assert text.index("## Glossary") < text.index("## Claims in full")
    for box in ("## Deviations from the paper", "## Known limitations", "## Verdict history"):
        assert box in text
    # Markdown cannot leak: m*_s and <u_i, M_j> are escaped in every table cell.
    bare = re.sub(r"`[^`]*`", "", text)  # code spans print as written
    assert "m*_s" not in bare and r"m\*\_s" in text and "<u_i" not in bare


def test_long_section_title_is_split_into_a_heading_and_a_paragraph():
    title = "Calibrated bias. " + "Health of the balanced control at each candidate bias. " * 3
    text = markdown([ROW], [{"section": title, "figures": []}], [], PARAMS)
    assert "\n## Calibrated bias\n\nHealth of the balanced control" in text


def test_markdown_and_self_contained_html(tmp_path):
    fig = tmp_path / "figures" / "f.png"
    fig.parent.mkdir()
    fig.write_bytes(b"\x89PNG fake")
    text = markdown(
        [ROW],
        [{"section": "S", "figures": [{"file": "f.png", "caption": "cap with m*_s"}]}],
        ["t.md"],
        PARAMS,
    )
    assert "| C1 |" in text and "n/a" in text and "supported" in text
    (tmp_path / "README.md").write_text(text)
    report_html.main(str(tmp_path / "README.md"), str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in html and "figures/f.png" not in html
    assert "cap with m*_s" in html  # printed as written: no emphasis leaked


def test_readme_results_table_is_the_one_generated_from_claims_json():
    """The README's table is written by `scripts/readme_results.py`; a stale copy fails here."""
    import readme_results

    root = Path(__file__).resolve().parents[2]
    assert readme_results.current(root / "README.md") == readme_results.render(
        root / "reports" / "claims.json"
    ), "README results table is stale: run python scripts/readme_results.py"


def test_screenshot_check_names_leaks_long_headings_and_missing_figures():
    import report_screenshot

    good = '<h2>Summary</h2><p>m*_s as written</p><img src="data:image/png;base64,AAA">'
    assert report_screenshot.problems(good) == []
    bad = "<h2>" + "x" * 130 + "</h2><p>a **bold** leak and ![f](figures/f.png)</p>"
    found = report_screenshot.problems(bad)
    assert any("'**'" in f for f in found) and any("'!['" in f for f in found)
    assert any("heading is a paragraph" in f for f in found) and "no image shown" in found


@pytest.mark.skipif(
    not __import__("shutil").which("chromium"), reason="headless Chromium not installed"
)
def test_report_renders_in_headless_chromium_without_leaks(tmp_path):
    """The generated page, rendered as a reader's browser renders it."""
    import base64

    import report_screenshot

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "f.png").write_bytes(png)
    title = "Calibrated bias. " + "A long explanation of the bias. " * 5
    text = markdown(
        rows7(),
        [{"section": title, "figures": [{"file": "f.png", "caption": "m*_s and <u_i, M_j>"}]}],
        [],
        PARAMS,
    )
    (tmp_path / "README.md").write_text(text)
    report_html.main(str(tmp_path / "README.md"), str(tmp_path / "r.html"))
    chrome = report_screenshot.browser()
    dom = report_screenshot.render(tmp_path / "r.html", tmp_path / "r.png", chrome)
    assert report_screenshot.problems(dom) == []
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_readme_stays_short_and_links_what_moved():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    assert len(readme.encode()) <= 8 * 1024, "README over 8 KB: move material to docs/"
    for doc in ("design", "pipeline", "environment", "longtail", "performance"):
        assert f"(docs/{doc}.md)" in readme and (root / "docs" / f"{doc}.md").is_file()


def test_key_number_per_rho_and_beside_the_gate():
    base = {"statistic": "per seed: the gap; evidence", "value": 0.5, "ci_low": 0.1, "ci_high": 0.9}
    per_rho = {
        **base,
        "value": 1.03,  # the row shows one condition's value, so its statistic names them
        "conditions": [
            {"rho": 5.0, "value": -0.34, "seeds": 28, "verdict": "reversed"},
            {"rho": 20.0, "value": 1.03, "seeds": 28, "verdict": "supported"},
        ],
    }
    assert key_number(per_rho) == "the gap: rho 5 -0.34, 20 1.03 (n = 28 seeds)"
    gated = {
        **base,
        "verdict_ungated": "supported",
        "conditions": [{"rho": 10.0, "value": 0.76, "seeds": 3}],
        "conditions_ungated": [
            {"rho": 10.0, "value": 0.715, "ci_low": 0.637, "ci_high": 0.793, "seeds": 8}
        ],
    }
    assert key_number(gated).endswith(
        "; without the gate 0.715 [0.637, 0.793], n = 8 seeds: supported"
    )


def test_key_number_names_the_statistic_its_conditions_hold():
    """C6: the row's pooled value is the slope, its conditions the effect against the
    matched random mask; the label must name what the numbers are."""
    row = {
        "statistic": "(b) flattening of the slope of log(min/maj strength) on log rho",
        "value": 0.002,
        "ci_low": -0.03,
        "ci_high": 0.04,
        "conditions": [
            {"rho": 10.0, "value": 0.036, "seeds": 12},
            {"rho": 50.0, "value": -0.335, "seeds": 12},
        ],
    }
    assert key_number(row).startswith("each condition's effect (see the rule): rho 10 0.036")
    named = {**row, "condition_statistic": "log(min/maj) magnitude - matched random"}
    assert key_number(named).startswith("log(min/maj) magnitude - matched random: rho 10")
    shown = {**row, "value": 0.036}  # the row shows one condition's value: its statistic
    assert key_number(shown).startswith("flattening of the slope")


def test_glossary_defines_every_verdict_word_once_as_the_readme_does():
    import readme_results

    text = markdown(rows7(), [], [], PARAMS)
    glossary = text[text.index("## Glossary") : text.index("## Claims in full")]
    for word, meaning in MEANING.items():
        assert f"- **{word}**: " in glossary
        assert meaning.replace("_", r"\_") in glossary
        assert f"**{word}**: {meaning}" in " ".join(readme_results.verdict_words().split())
    assert len(MEANING) == 7


def test_a_block_of_one_seed_is_written_without_an_interval():
    one = {"value": 76.48, "ci_low": 10.0, "ci_high": 90.0, "seeds": 1, "verdict": "underpowered"}
    two = {"value": 64.1, "ci_low": -2.68, "ci_high": 131.0, "seeds": 2, "verdict": "underpowered"}
    row = {"conditions": [{"rho": 10.0, "discovery": one, "confirmation": two, "value": 68.2}]}
    text = conditions_table(row)
    assert "76.5 (1 seed, no interval): underpowered" in text and "[10" not in text
    assert "64.1 [-2.68, 131], 2 seeds: underpowered" in text and "{" not in text


def test_deviations_show_each_model_size_with_its_bias():
    params = {
        **PARAMS,
        "model": {"width": 64, "attention": "identity_fixed", "bias_schedule": "ramp"},
        "data": {
            **PARAMS["data"],
            **{"frequency": "paper", "frequency_scale": 2.5, "noise": "paper", "noise_scale": 1},
        },
        "small": {
            **{"dim": 16, "n_features": 8, "n_majority": 4, "tokens": 4},
            **{"lr": 0.2, "batch": 64, "steps": 600},
        },
        "sweep": {"widths": [4, 64], "ratios": [1.0, 10.0]},
        "prune": {"width": 16, "rhos": [1.0, 10.0], "alpha": 0.5, "unit": "neuron"},
        "real": {
            "dataset": "digits",
            "imbalance_ratio": 10.0,
            "prune_alpha": 0.25,
            "depth": 2,
            "embed_dim": 64,
            "heads": 2,
            "patch": 4,
            "image_side": 32,
            "prune_unit": "neuron",
            "steps": 250,
        },
    }
    text = markdown([ROW], [], [], params, biases={"default": 0.3, "small": 0.1})
    box = text[text.index("## Deviations") : text.index("## Known limitations")]
    assert "| default model (C1-C2) |" in box and "m 64, bias 0.3 |" in box
    assert "| small model (C3-C5) |" in box and "m 64 (C4: m in 4, 64), bias 0.1 |" in box
    assert "| small model (C6) |" in box and "m 16, bias 0.1 |" in box
    assert "| ViT (C7) |" in box and "0.5 (synthetic), 0.25 (images)" in box
    assert "5 steps (default model; small model: lr 0.2, batch 64, 600 steps)" in box
    assert "None" not in box


def test_findings_say_why_the_ungated_verdict_is_what_it_is():
    from imbcl.core.findings import findings

    row = {
        "id": "C1",
        "verdict": "not tested as intended",
        "reason": "encoder unhealthy: 3 of 8 seeds healthy",
        "verdict_ungated": "inconclusive",
        "conditions_ungated": [{"rho": 10.0, "reason": "stage count not identified"}],
    }
    line = next(x for x in findings([row], []) if x.startswith("- **C1**"))
    assert "without the gate inconclusive (stage count not identified)" in line
