"""Stage scripts run again outside `dvc repro`, on a changed copy of params.yaml: the checks
that sit beside the pipeline (make verify: another gradient backend; make pilot: seeds
disjoint from both replication blocks). Their runs go under their own directory, never over
the pipeline's outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def read_params(path: str | Path) -> dict:
    """A params file as plain dicts."""
    return YAML(typ="safe", pure=True).load(Path(path).read_text())


def changed_params(source: str | Path, out: str | Path, change: Callable[[dict], Any]) -> Path:
    """params.yaml read from `source`, changed in place by `change(params)`, written to
    out/params.yaml (out is created). Returns the new file's path."""
    params = read_params(source)
    change(params)
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / "params.yaml"
    with open(path, "w") as fh:
        YAML(typ="safe", pure=True).dump(params, fh)
    return path


def run_stages(stages: Sequence[Sequence[str]], params: Path, label: str) -> None:
    """Each command (a stage script and its paths) under `python`, reading `params`, in
    order; stops at the first failure with its exit status. Prints each stage's time."""
    env = {**os.environ, "IMBCL_PARAMS": str(params)}
    for cmd in stages:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *cmd], env=env, check=False)
        if done.returncode:
            raise SystemExit(done.returncode)
        print(f"{label}: {cmd[0]} {time.perf_counter() - start:.0f} s", flush=True)
