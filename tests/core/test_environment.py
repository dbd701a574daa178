"""reports/environment.json: what it records, that the report stage writes and links it, and
that it is the only output that may differ from machine to machine."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sys

import torch
from ruamel.yaml import YAML

from conftest import ROOT, sh, tiny_params, write_params
from imbcl.core import environment


def test_snapshot_records_versions_threads_blas_and_cpu():
    snap = environment.snapshot()
    assert snap["python"] == platform.python_version()
    assert set(snap["packages"]) == {
        "torch",
        "numpy",
        "scikit-learn",
        "pandas",
        "scipy",
        "ruptures",
        "dvc",
    }
    for name, version in snap["packages"].items():
        assert version == importlib.metadata.version(name)
    assert snap["packages"]["torch"] == "2.13.0+cpu"
    assert snap["torch"]["threads"] == torch.get_num_threads()
    assert snap["torch"]["blas"] == "mkl"  # the CPU wheel's build
    assert snap["torch"]["cpu_capability"]
    assert any(lib["internal_api"] == "openblas" for lib in snap["blas_libraries"])  # numpy's
    assert snap["cpu"]["model"] and snap["cpu"]["logical_cores"] >= 1


def test_snapshot_is_the_same_on_a_rerun():
    # No time stamps or process ids: on one machine the file is byte-identical run to run.
    assert json.dumps(environment.snapshot()) == json.dumps(environment.snapshot())


def test_compare_names_what_differs():
    snap = environment.snapshot()
    assert environment.compare(snap, snap) == []
    other = json.loads(json.dumps(snap))
    other["packages"]["numpy"] = "1.26.0"
    other["torch"]["threads"] = 64
    other["blas_libraries"] = other["blas_libraries"][:1]
    changes = environment.compare(other, snap)
    assert f"packages.numpy: '1.26.0' -> '{snap['packages']['numpy']}'" in changes
    assert f"torch.threads: 64 -> {snap['torch']['threads']}" in changes
    assert len(changes) == 2 + len(environment._flatten(snap["blas_libraries"][1:]))


def test_report_stage_writes_and_links_environment_json(tmp_path):
    write_params(tmp_path / "params.yaml", tiny_params())
    (tmp_path / "design.md").write_text("# Design record\n")
    (tmp_path / "history.md").write_text("# Verdict history\n")
    (tmp_path / "reports").mkdir()
    report_py = str(ROOT / "stages" / "report.py")
    args = ["reports", "design.md", "history.md"]
    out = sh(sys.executable, report_py, *args, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr
    written = json.loads((tmp_path / "reports" / "environment.json").read_text())
    here = environment.snapshot()
    assert written["packages"] == here["packages"] and written["cpu"] == here["cpu"]
    report = (tmp_path / "reports" / "README.md").read_text()
    assert "## Environment" in report and "[environment.json](environment.json)" in report
    # The report's text does not depend on the machine: only environment.json does.
    assert here["cpu"]["model"] not in report and here["packages"]["numpy"] not in report


def test_environment_json_is_an_uncached_output_of_the_report_stage():
    stages = YAML(typ="safe", pure=True).load((ROOT / "dvc.yaml").read_text())["stages"]
    outs = [next(iter(o.items())) for o in stages["report"]["outs"] if isinstance(o, dict)]
    assert dict(outs)["reports/environment.json"]["cache"] is False


def test_lock_tool_runs_without_the_project_installed():
    # `make lock` and `make setup` run the module as a plain script, before any install.
    out = sh(
        sys.executable,
        "-P",
        "-S",
        str(ROOT / "src" / "imbcl" / "core" / "environment.py"),
        "check-lock",
        str(ROOT / "requirements.lock"),
        str(ROOT / "pyproject.toml"),
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stderr
