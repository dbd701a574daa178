"""The environment is pinned: every import is declared, the lock is made from pyproject.toml
as it is now, and the environment the tests run in is exactly the lock."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from imbcl.core import environment

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
# Installed by the Makefile beside the lock: pip (which installs uv) and uv itself.
INSTALLERS = {"pip", "uv"}


def declared(extras: tuple[str, ...] = ()) -> set[str]:
    """Distribution names pyproject.toml declares: the dependencies, plus the given extras."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return {canonicalize_name(Requirement(r).name) for r in reqs}


def locked() -> dict[str, str]:
    """name -> version of every pin in the lock."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", LOCK.read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def python_files(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def first_party() -> set[str]:
    """Top-level names of the project's own modules: the library, stages, scripts, tests."""
    names = {p.name for p in (ROOT / "src").iterdir() if p.is_dir()}
    return names | {p.stem for p in python_files("stages", "scripts", "tests")}


def undeclared_imports(files: list[Path], allowed: set[str]) -> list[str]:
    """One line per imported third-party module whose distribution is not in `allowed`.

    Every import counts, also those inside functions. A top-level module maps to the
    installed distributions that provide it; declaring any one of them is enough.
    """
    where: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                where.setdefault(module.partition(".")[0], set()).add(_shown(path))
    own = first_party()
    providers = importlib.metadata.packages_distributions()
    problems = []
    for module in sorted(where):
        if module in sys.stdlib_module_names or module in own or module == "__future__":
            continue
        dists = sorted({canonicalize_name(d) for d in providers.get(module, [])})
        if set(dists) & allowed:
            continue
        source = " or ".join(dists) if dists else "no installed distribution"
        problems.append(
            f"{source} (import {module} in {', '.join(sorted(where[module]))}) "
            "is not declared in pyproject.toml"
        )
    return problems


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def test_library_stages_and_scripts_import_only_declared_dependencies():
    problems = undeclared_imports(python_files("src", "stages", "scripts"), declared())
    assert not problems, "undeclared imports:\n" + "\n".join(problems)


def test_tests_import_only_dependencies_and_the_test_extra():
    problems = undeclared_imports(python_files("tests"), declared(("test",)))
    assert not problems, "undeclared imports:\n" + "\n".join(problems)


def test_the_import_check_names_a_package_left_out(tmp_path):
    # What `make test` says when scipy is dropped from the dependencies.
    problems = undeclared_imports(python_files("src"), declared() - {"scipy"})
    assert [p for p in problems if p.startswith("scipy (import scipy in src/")] == problems
    assert len(problems) == 1 and problems[0].endswith(" is not declared in pyproject.toml")
    stray = tmp_path / "stray.py"
    stray.write_text("def f():\n    import not_a_module_anywhere\n")
    assert undeclared_imports([stray], declared()) == [
        f"no installed distribution (import not_a_module_anywhere in {stray}) "
        "is not declared in pyproject.toml"
    ]


def test_lock_was_made_from_pyproject_as_it_is():
    changes = environment.stale_inputs(LOCK, PYPROJECT)
    assert not changes, (
        f"{LOCK.name} is out of date with pyproject.toml; run `make lock`:\n" + "\n".join(changes)
    )


def test_stale_lock_is_named_with_what_changed(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT.read_text().replace('    "scipy>=1.11",\n', ""))
    assert environment.stale_inputs(LOCK, pyproject) == ["- dependencies scipy>=1.11"]
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK.read_text())
    environment.stamp(lock, pyproject)
    assert environment.stale_inputs(lock, pyproject) == []
    assert lock.read_text().count(environment.STAMP) == len(environment.lock_inputs(pyproject))


def test_lock_pins_every_requirement_exactly_with_hashes():
    pins = locked()
    project = tomllib.loads(PYPROJECT.read_text())
    reqs = project["project"]["dependencies"] + project["build-system"]["requires"]
    for extra in project["project"]["optional-dependencies"].values():
        reqs += extra
    for req in map(Requirement, reqs):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in {LOCK.name}"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (req, pins[name])
    assert pins["torch"] == "2.13.0+cpu"
    # One block per pin: `name==version \` then its hashes; none may go without.
    blocks = re.split(r"^(?=[A-Za-z0-9])", LOCK.read_text(), flags=re.MULTILINE)
    pinned = [b for b in blocks if "==" in b.partition("\n")[0]]
    assert len(pinned) == len(pins)
    assert all("--hash=sha256:" in b for b in pinned)


def _installed() -> dict[str, str]:
    """What `pip freeze` lists (name -> version), the editable project left out."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:  # no pip in this environment: the same list, read directly
        return {
            canonicalize_name(d.metadata["Name"]): d.version
            for d in importlib.metadata.distributions()
        }
    rows = [line.split("==") for line in out.stdout.splitlines() if "==" in line]
    return {canonicalize_name(name): version for name, version in rows}


def test_environment_is_exactly_the_lock():
    pins, installed = locked(), _installed()
    installed.pop("imbcl", None)
    problems = [
        f"{name}: {installed.get(name, 'not installed')}, locked {version}"
        for name, version in sorted(pins.items())
        if installed.get(name) != version
    ] + [
        f"{name}: {version}, not in the lock"
        for name, version in sorted(installed.items())
        if name not in pins and name not in INSTALLERS
    ]
    assert not problems, (
        f"the environment differs from {LOCK.name} (`make clean test` rebuilds it):\n"
        + "\n".join(problems)
    )
    uv = re.search(r"uv==(\S+)", (ROOT / "Makefile").read_text())
    assert uv and installed.get("uv") in (None, uv.group(1))
