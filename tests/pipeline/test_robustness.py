"""Interrupted runs, corrupted caches and diverging training lose nothing and say why."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, sh, tiny_params, write_params

pytestmark = pytest.mark.slow


def test_killed_training_leaves_nothing_and_the_next_repro_matches(dvc_repo, tmp_path):
    params = tiny_params()
    params["train"]["steps"] = 3000  # long enough to be killed mid-run
    write_params(dvc_repo / "params.yaml", params)
    sh("dvc", "repro", "synthesize", cwd=dvc_repo)
    log = tmp_path / "train.log"
    path = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            ["dvc", "repro", "train"],
            cwd=dvc_repo,
            env={**os.environ, "PATH": path, "DVC_NO_ANALYTICS": "1"},
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill reaches the stage too
        )
        deadline = time.time() + 120
        while time.time() < deadline and "train [" not in log.read_text(errors="replace"):
            time.sleep(0.1)  # wait for the progress bar: training has started
        assert proc.poll() is None, "training ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (dvc_repo / "runs" / "train").exists()  # no partial output DVC could take
    status = sh("dvc", "status", "train", cwd=dvc_repo).stdout
    assert "train" in status

    sh("dvc", "repro", "train", cwd=dvc_repo)
    after_kill = _contents(dvc_repo / "runs" / "train")
    leftovers = [p.name for p in (dvc_repo / "runs").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    sh("dvc", "repro", "-f", "train", cwd=dvc_repo)  # an uninterrupted run from scratch
    assert _contents(dvc_repo / "runs" / "train") == after_kill


def _contents(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_corrupted_cached_output_is_flagged_and_rebuilt(dvc_repo):
    sh("dvc", "repro", "train", cwd=dvc_repo)
    lock = (dvc_repo / "dvc.lock").read_text()
    victim = sorted((dvc_repo / "runs" / "train").glob("*.npz"))[0]
    original = victim.read_bytes()
    victim.write_bytes(original[: len(original) // 2])  # a truncated trajectory
    status = sh("dvc", "status", "train", cwd=dvc_repo).stdout
    assert "train" in status and "modified" in status
    out = sh("dvc", "repro", "train", cwd=dvc_repo).stdout
    # DVC either reruns the stage or restores its outputs from the run-cache; both rebuild.
    assert "Running stage 'train'" in out or "'train' is cached" in out
    assert victim.read_bytes() == original
    assert (dvc_repo / "dvc.lock").read_text() == lock


def test_diverging_training_names_step_run_and_parameter(dvc_repo):
    params = tiny_params()
    params["train"]["lr"] = 1.0e4
    params["model"]["init_std"] = 5.0
    write_params(dvc_repo / "params.yaml", params)
    sh("dvc", "repro", "synthesize", "calibrate", cwd=dvc_repo)
    train = str(ROOT / "stages" / "train.py")
    paths = ["data/synthetic", "runs/calibrate/bias.json", "runs/train"]  # as in dvc.yaml
    out = sh(sys.executable, train, *paths, cwd=dvc_repo, check=False)
    assert out.returncode == 2
    assert "diverged at step" in out.stderr and "train.lr" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (dvc_repo / "runs" / "train").exists()


def _images(root, seed: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in range(3):
        (root / f"c{c}").mkdir(parents=True, exist_ok=True)
        for i in range(12):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / f"c{c}" / f"{i}.png")


def test_the_data_under_real_root_are_a_dependency(dvc_repo, tmp_path):
    """Images edited in place, or real.root pointed elsewhere, rerun longtail_data; the same
    data leave it as it was; real.root_sha256 refuses other data (e.g. a root split at a
    comma by `dvc exp run --queue -S`)."""
    root, other = tmp_path / "imgs", tmp_path / "imgs-v2"
    _images(root, 0)
    _images(other, 1)
    params = tiny_params()
    params["real"].update(
        dataset="imagefolder",
        root=str(root),
        image_side=8,
        test_per_class=2,
        probe_per_class=3,
        imbalance_ratio=4.0,
        extra_ratios=[],
        patch=4,
    )
    write_params(dvc_repo / "params.yaml", params)

    def data_stage_ran() -> bool:  # as `make repro`: the manifest forced, then the rest
        sh("dvc", "repro", "--force", "--single-item", "longtail_source", cwd=dvc_repo)
        out = sh("dvc", "repro", "longtail_data", cwd=dvc_repo, check=False)
        assert out.returncode == 0, out.stderr[-2000:]
        return "Running stage 'longtail_data'" in out.stdout

    assert data_stage_ran()
    first = (dvc_repo / "data/longtail/train_r4.npz").read_bytes()
    assert not data_stage_ran()  # the same data: only the manifest is made again
    (root / "c1" / "3.png").write_bytes((other / "c1" / "3.png").read_bytes())
    assert data_stage_ran()  # one image edited in place
    assert (dvc_repo / "data/longtail/train_r4.npz").read_bytes() != first
    params["real"]["root"] = str(other)
    write_params(dvc_repo / "params.yaml", params)
    assert data_stage_ran()  # re-pointed

    digest = json.loads((dvc_repo / "data/longtail_source.json").read_text())["sha256"]
    params["real"].update(root=str(root), root_sha256=digest)
    write_params(dvc_repo / "params.yaml", params)
    out = sh("dvc", "repro", "longtail_data", cwd=dvc_repo, check=False)
    assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
    assert f"expected real.root_sha256 = {digest}" in out.stderr + out.stdout
