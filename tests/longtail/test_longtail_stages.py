"""The three stage scripts from the command line: paths as arguments, one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def _stage(name: str, *args: str, cwd: Path, params: str | None = None):
    env = {**os.environ, "IMBCL_PARAMS": params or str(REPO / "params.yaml")}
    return subprocess.run(
        [sys.executable, str(REPO / f"stages/{name}.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "name, usage",
    [
        ("longtail_data", "data"),
        ("longtail_train", "data runs"),
        ("longtail_eval", "data runs out table figure curve"),
    ],
)
def test_a_wrong_argument_count_prints_the_usage(tmp_path, name, usage):
    out = _stage(name, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().endswith(f"{name}.py {usage}")
    assert out.stderr.startswith("error: usage: ")


def test_a_missing_input_is_one_line(tmp_path):
    out = _stage("longtail_eval", "d", "r", "o", "t", "f.png", "c.png", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (
        "error: d/meta.json: not found; expected the longtail_data stage's output"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_where_there_is_none_is_one_line(tmp_path):
    head, real = (REPO / "params.yaml").read_text().split("\nreal:", 1)
    params = tmp_path / "params.yaml"
    params.write_text(head + "\nreal:" + real.replace("  device: cpu ", "  device: cuda ", 1))
    assert _stage("longtail_data", "data", cwd=tmp_path).returncode == 0
    out = _stage("longtail_train", "data", "runs", cwd=tmp_path, params=str(params))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: real.device = cuda: expected cpu or auto; ")
    assert not (tmp_path / "runs").exists()
