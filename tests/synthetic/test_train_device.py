"""train.device = cuda on a torch build without CUDA (issue 15, case 4): one line naming the
key, exit status 2, before any stage trains or writes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from imbcl.core.errors import ParamError
from imbcl.core.rerun import changed_params, read_params
from imbcl.synthetic.params import TrainParams

REPO = Path(__file__).resolve().parents[2]
DEFAULT = read_params(REPO / "params.yaml")["train"]
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@no_cuda
def test_cuda_is_refused_when_the_params_are_read():
    with pytest.raises(ParamError, match=r"^train.device = cuda: expected cpu or auto; "):
        TrainParams.parse({**DEFAULT, "device": "cuda"}, "train")
    assert TrainParams.parse({**DEFAULT, "device": "auto"}, "train").device == "auto"


@no_cuda
@pytest.mark.parametrize("stage", ["calibrate", "train"])
def test_a_stage_asked_for_cuda_stops_with_one_line_and_writes_nothing(tmp_path, stage):
    changed_params(REPO / "params.yaml", tmp_path, lambda p: p["train"].update(device="cuda"))
    args = {"calibrate": ["cal", "tables"], "train": ["data", "bias.json", "out"]}[stage]
    out = subprocess.run(
        [sys.executable, str(REPO / "stages" / f"{stage}.py"), *args],
        cwd=tmp_path,
        env={**os.environ, "IMBCL_PARAMS": str(tmp_path / "params.yaml")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith("error: train.device = cuda: expected cpu or auto")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
