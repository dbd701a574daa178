"""The rounding check's table: verdicts side by side and whether the pooled intervals overlap."""

from imbcl.core.verify import compare, overlap


def row(id: str, verdict: str, low: float, high: float) -> dict:
    return {"id": id, "verdict": verdict, "value": (low + high) / 2, "ci_low": low, "ci_high": high}


def test_compare_flags_a_changed_verdict_and_disjoint_intervals():
    table = compare(
        {
            "manual": [row("C2", "supported", 0.1, 0.3), row("C1", "inconclusive", -1, 1)],
            "autograd": [row("C1", "inconclusive", 0.5, 2), row("C2", "not supported", 0.4, 0.5)],
        }
    )
    assert table.claim.tolist() == ["C1", "C2"]
    assert table["same verdict"].tolist() == [True, False]
    assert table["intervals overlap"].tolist() == [True, False]
    assert table["verdict autograd"].tolist() == ["inconclusive", "not supported"]
    assert overlap(row("C", "x", 0, 1), row("C", "x", 1, 2))  # touching counts
