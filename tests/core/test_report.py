import sys
from pathlib import Path

from imbcl.core.io import write_json
from imbcl.core.report import collect, markdown

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


def test_markdown_and_self_contained_html(tmp_path):
    fig = tmp_path / "figures" / "f.png"
    fig.parent.mkdir()
    fig.write_bytes(b"\x89PNG fake")
    text = markdown(
        [ROW],
        [{"section": "S", "figures": [{"file": "f.png", "caption": "cap"}]}],
        ["t.md"],
        PARAMS,
        "# Design record\n\n## Choices\n\ntext",
    )
    assert "| C1 |" in text and "n/a" in text and "**supported**" in text
    assert "\n## Design record\n" in text and "\n### Choices\n" in text  # one level down
    (tmp_path / "README.md").write_text(text)
    report_html.main(str(tmp_path / "README.md"), str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in html and "figures/f.png" not in html


def test_readme_results_table_is_the_one_generated_from_claims_json():
    """The README's table is written by `scripts/readme_results.py`; a stale copy fails here."""
    import readme_results

    root = Path(__file__).resolve().parents[2]
    assert readme_results.current(root / "README.md") == readme_results.render(
        root / "reports" / "claims.json"
    ), "README results table is stale: run python scripts/readme_results.py"
