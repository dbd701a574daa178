"""What a result was computed with, and the pin on it.

snapshot()  the Python and package versions, torch's threads, the BLAS libraries loaded and
            the CPU. The report stage writes it to reports/environment.json, links it from
            the report, and leaves it out of byte-for-byte comparisons (README,
            "Environment"): it describes the machine, not the results.

The lock. `make lock` compiles requirements.lock from pyproject.toml with uv (exact versions
and hashes of everything the pipeline and the tests install) and then stamps it with the
requirement lists it was compiled from (`lock_inputs`). `make setup` refuses to install from
a lock whose stamp no longer matches pyproject.toml (`stale_inputs`), and names what changed.

Only the standard library is imported at module level: the Makefile runs this file as a
script (`python -P src/imbcl/core/environment.py ...`) before anything is installed.

    python -m imbcl.core.environment                             this machine's snapshot
    python -m imbcl.core.environment compare reports/environment.json
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

# The packages whose versions can move the numbers; the lock pins them all.
PACKAGES = ("torch", "numpy", "scipy", "scikit-learn", "pandas", "ruptures", "dvc")
# Variables that change how many threads torch or the BLAS libraries use.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# Every line of the lock that records one of its inputs starts with this.
STAMP = "# from pyproject.toml: "


def snapshot() -> dict[str, Any]:
    """Versions, threads, BLAS and CPU of this process; equal on reruns on one machine."""
    # Imported here: the Makefile runs this file before they are installed. Loading them
    # also makes the list of BLAS libraries the same whichever stage calls this.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import torch
    from threadpoolctl import threadpool_info

    libraries = [
        {
            "file": Path(lib["filepath"]).name,
            **{
                k: lib[k]
                for k in ("internal_api", "version", "num_threads", "architecture")
                if lib.get(k) is not None
            },
        }
        for lib in threadpool_info()
    ]
    return {
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "torch": {
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "blas": _torch_build("BLAS_INFO"),
            "lapack": _torch_build("LAPACK_INFO"),
            "mkl": _torch_mkl(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        },
        "blas_libraries": sorted(libraries, key=lambda lib: json.dumps(lib, sort_keys=True)),
        "thread_variables": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "cpu": {
            "model": _cpu_model(),
            "logical_cores": os.cpu_count(),
            "machine": platform.machine(),
        },
        "system": f"{platform.system()} {platform.release()}",
    }


def markdown_section() -> str:
    """The report's pointer to reports/environment.json; the same text on every machine."""
    return (
        "\n## Environment\n\n"
        "- [environment.json](environment.json): the Python and package versions, torch's "
        "threads, the BLAS libraries and the CPU these results were computed with. The "
        "packages were installed from `requirements.lock`. The file describes the machine, "
        "so it is the one output left out of byte-for-byte comparisons; when a rerun's "
        "numbers differ from these, compare it first (docs/environment.md).\n"
    )


def compare(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """`key: recorded -> current` for every leaf that differs, keys dotted."""
    a, b = _flatten(recorded), _flatten(current)
    return [
        f"{k}: {a.get(k)!r} -> {b.get(k)!r}"
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k)
    ]


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        return _flatten({str(i): v for i, v in enumerate(obj)}, prefix)
    return {prefix[:-1]: obj}


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torch_config() -> str:
    import torch

    return str(torch.__config__.show())


def _torch_build(key: str) -> str | None:
    """A BUILD_SETTINGS value of torch's build (BLAS_INFO=mkl, LAPACK_INFO=mkl, ...)."""
    found = re.search(rf"\b{key}=([^,\s]+)", _torch_config())
    return found.group(1) if found else None


def _torch_mkl() -> str | None:
    """The MKL torch was built with, as torch names it; None when it has none."""
    for line in _torch_config().splitlines():
        if "Math Kernel Library" in line:
            return line.strip(" -")
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---- the lock's inputs ----------------------------------------------------------------


def lock_inputs(pyproject: Path) -> list[str]:
    """`<table> <requirement>` for each requirement the lock is compiled from, sorted.

    The project's dependencies and optional dependencies, the Python it requires, and the
    build system's requirements (installed from the lock too, so the editable install of
    the project is pinned as well).
    """
    data = tomllib.loads(pyproject.read_text())
    project = data["project"]
    rows = [f"requires-python {project.get('requires-python', '')}".strip()]
    rows += [f"dependencies {r}" for r in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        rows += [f"optional-dependencies.{extra} {r}" for r in reqs]
    rows += [f"build-system.requires {r}" for r in data.get("build-system", {}).get("requires", [])]
    return sorted(" ".join(row.split()) for row in rows)


def build_requires(pyproject: Path) -> list[str]:
    return list(tomllib.loads(pyproject.read_text()).get("build-system", {}).get("requires", []))


def stamped_inputs(lock: Path) -> list[str]:
    """The inputs `stamp` recorded in the lock."""
    return sorted(
        line[len(STAMP) :].strip()
        for line in lock.read_text().splitlines()
        if line.startswith(STAMP)
    )


def stamp(lock: Path, pyproject: Path) -> None:
    """Record pyproject.toml's requirement lists in the lock's header (replacing old ones)."""
    lines = [line for line in lock.read_text().splitlines() if not line.startswith(STAMP)]
    head = 0
    while head < len(lines) and lines[head].startswith("#"):
        head += 1
    inputs = [f"{STAMP}{row}" for row in lock_inputs(pyproject)]
    lock.write_text("\n".join(lines[:head] + inputs + lines[head:]) + "\n")


def stale_inputs(lock: Path, pyproject: Path) -> list[str]:
    """What pyproject.toml declares that the lock was not made from (+), and the reverse (-)."""
    now, then = set(lock_inputs(pyproject)), set(stamped_inputs(lock))
    return [f"+ {row}" for row in sorted(now - then)] + [f"- {row}" for row in sorted(then - now)]


def main(argv: list[str]) -> int:
    command, *args = argv or ["snapshot"]
    if command == "snapshot":
        print(json.dumps(snapshot(), indent=2, sort_keys=True))
    elif command == "compare" and len(args) == 1:
        changes = compare(json.loads(Path(args[0]).read_text()), snapshot())
        print("\n".join(changes) if changes else f"this machine matches {args[0]}")
    elif command == "build-requires" and len(args) == 1:
        print("\n".join(build_requires(Path(args[0]))))
    elif command == "stamp" and len(args) == 2:
        stamp(Path(args[0]), Path(args[1]))
    elif command == "check-lock" and len(args) == 2:
        changes = stale_inputs(Path(args[0]), Path(args[1]))
        if changes:
            print(
                f"error: {args[0]} is out of date with {args[1]}; run `make lock`. "
                "Declared now (+) or only when the lock was made (-):\n  " + "\n  ".join(changes),
                file=sys.stderr,
            )
            return 1
    else:
        print(
            "usage: environment.py [snapshot | compare ENV.json | build-requires PYPROJECT"
            " | stamp LOCK PYPROJECT | check-lock LOCK PYPROJECT]",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
