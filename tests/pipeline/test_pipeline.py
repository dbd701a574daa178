"""The pipeline end to end in a real temporary git + DVC repository, on tiny parameters."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import ROOT, sh, tiny_params, write_params
from imbcl.core import claims_registry
from imbcl.core.regime import IN_A_REGIME, VERDICTS

pytestmark = pytest.mark.slow


def test_repro_then_noop_then_identical_rerun(dvc_repo):
    first = sh("dvc", "repro", cwd=dvc_repo, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    metrics = (dvc_repo / "reports/metrics.json").read_bytes()
    claims = json.loads((dvc_repo / "reports/claims.json").read_text())
    assert [c["id"] for c in claims] == claims_registry.ids()
    contract = {"id", "claim", "statistic", "value", "ci_low", "ci_high", "control", "rule"}
    for row in claims:
        assert contract | {"verdict"} <= set(row)
        assert row["verdict"] in VERDICTS or row["verdict"].startswith(f"{IN_A_REGIME} (")
    for row in claims[:2]:  # C1, C2: per condition, with and without the health gate
        assert row["conditions"] and row["regime"] and "verdict_ungated" in row
    for row in claims[2:5]:  # C3-C5: decided per rho, summarised by a regime statement
        assert [c["rho"] for c in row["conditions"]] and row["regime"]
    assert (dvc_repo / "reports/figures/trajectories.png").stat().st_size > 10_000
    assert "## Claims" in (dvc_repo / "reports/README.md").read_text()

    again = sh("dvc", "repro", cwd=dvc_repo)
    ran = [line for line in again.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == []  # nothing changed, the built-in data included
    assert "changed" not in sh("dvc", "status", cwd=dvc_repo).stdout

    sh("dvc", "repro", "-f", cwd=dvc_repo)
    assert (dvc_repo / "reports/metrics.json").read_bytes() == metrics
    assert json.loads((dvc_repo / "reports/claims.json").read_text()) == claims

    # A wrong parameter stops `dvc repro` with its name and leaves every report as it was.
    before = _files(dvc_repo / "reports")
    for section, key, value, needle in [
        ("model", "width", "abc", "model.width = 'abc'"),
        ("data", "imbalance_ratio", -3, "data.imbalance_ratio = -3"),
        ("data", "imbalance_ratio", 0.5, "data.imbalance_ratio = 0.5"),
    ]:
        params = tiny_params()
        params[section][key] = value
        write_params(dvc_repo / "params.yaml", params)
        out = sh("dvc", "repro", cwd=dvc_repo, check=False)
        assert out.returncode != 0
        assert needle in out.stderr + out.stdout
        assert "Traceback" not in out.stderr + out.stdout
        assert _files(dvc_repo / "reports") == before


# The paths dvc.yaml passes these stages.
STAGE_PATHS = {
    "synthesize": ["data/synthetic"],
    "train": ["data/synthetic", "runs/calibrate/bias.json", "runs/train"],
}


def _files(directory):
    return {p: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("section", "key", "value", "needle"),
    [
        ("model", "width", "abc", "model.width = 'abc'"),
        ("data", "imbalance_ratio", -3, "data.imbalance_ratio = -3"),
        ("data", "imbalance_ratio", 0.5, "data.imbalance_ratio = 0.5"),
        ("train", "lr", 0, "train.lr = 0"),
        ("train", "colour", 1, "train.colour: unknown key"),
    ],
)
def test_bad_parameter_stops_the_stage_and_writes_nothing(tmp_path, section, key, value, needle):
    params = tiny_params()
    params[section][key] = value
    write_params(tmp_path / "params.yaml", params)
    stage = "synthesize" if section == "data" else "train"
    paths = STAGE_PATHS[stage]
    out = sh(
        sys.executable, str(ROOT / "stages" / f"{stage}.py"), *paths, cwd=tmp_path, check=False
    )
    assert out.returncode == 2, out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1  # one line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_missing_input_is_named(tmp_path):
    write_params(tmp_path / "params.yaml", tiny_params())
    train = str(ROOT / "stages" / "train.py")
    out = sh(sys.executable, train, *STAGE_PATHS["train"], cwd=tmp_path, check=False)
    assert out.returncode == 2
    assert "data/synthetic/dictionary.npz: not found" in out.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("stage", "section", "key", "value", "needle"),
    [
        ("prune_forward", "prune", "method", "oneshot", "prune.method = 'oneshot': expected"),
        ("prune_forward", "prune", "forward_ratio", 0.5, "prune.forward_ratio: unknown key"),
    ],
)
def test_bad_pruning_parameter_stops_the_stage(tmp_path, stage, section, key, value, needle):
    """The paper's method reads `prune`: a bad key stops the stage before it writes."""
    params = tiny_params()
    params[section][key] = value
    write_params(tmp_path / "params.yaml", params)
    paths = {
        "prune_forward": ["runs/prune_forward", "tables/prune_forward", "figures/f.png"],
    }[stage]
    script = str(ROOT / "stages" / f"{stage}.py")
    out = sh(sys.executable, script, *paths, cwd=tmp_path, check=False)
    assert out.returncode == 2, out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1  # one line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
