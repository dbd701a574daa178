"""Each DVC stage's code deps, from what its script imports, and a check of its params deps.

Code: the script's `imbcl` imports, followed transitively inside src/imbcl (imports inside
functions too); a package `__init__.py` counts only when it holds more than a docstring.
Params: the sections the stage's schema loads (`load(..., XStage)` in its script) must each
be listed, whole or by key, and every listed key must be a key of its section. Which keys a
stage reads is decided by hand (a stage that reads the small model's sizes from `small`
does not read `data.dim`); `--keys` prints a conservative guess to start from: the keys
whose name occurs as an attribute or a string in the code the stage runs (its params
modules aside).

    python scripts/stage_deps.py           rewrite the code deps in dvc.yaml, study/dvc.yaml
                                           and sensitivity/dvc.yaml (comments kept)
    python scripts/stage_deps.py --check   exit 1, naming each stage and dep, when a module a
                                           stage imports, or a section it loads, is not a dep
    python scripts/stage_deps.py --keys    the guess at each stage's params keys
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PIPELINES = ["dvc.yaml", "study/dvc.yaml", "sensitivity/dvc.yaml"]


def module_file(name: str) -> Path | None:
    """src/imbcl/a/b.py (or a/b/__init__.py) for the module `imbcl.a.b`; None if absent."""
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported(path: Path) -> set[str]:
    """The `imbcl` modules a file imports, anywhere in it, with the packages above them."""
    names: set[str] = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    mods = {n for n in names if n.split(".")[0] == "imbcl" and module_file(n)}
    return mods | {".".join(m.split(".")[:k]) for m in mods for k in range(1, m.count(".") + 1)}


def closure(script: Path) -> list[Path]:
    """The files of src/imbcl the script runs: its imports, transitively."""
    seen: set[str] = set()
    todo = imported(script)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo |= imported(module_file(name)) - seen  # type: ignore[arg-type]
    files = {module_file(n) for n in seen}
    return sorted(p for p in files if p and (p.name != "__init__.py" or _has_code(p)))


def _has_code(path: Path) -> bool:
    body = tree(path).body
    return not (len(body) <= 1 and all(isinstance(n, ast.Expr) for n in body))


def code_deps(script: str) -> list[str]:
    return [script] + [str(p.relative_to(ROOT)) for p in closure(ROOT / script)]


# --- params --------------------------------------------------------------------------------


def words(files: list[Path]) -> tuple[set[str], bool]:
    """The attribute names and strings in the files, and whether a whole config is dumped."""
    out: set[str] = set()
    dumps = False
    for path in files:
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Attribute):
                out.add(node.attr)
                if node.attr == "model_dump" and not isinstance(node.value, ast.Attribute):
                    dumps = True
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.add(node.value)
    return out, dumps


def schema(script: Path) -> Any:
    """The Stage class the script loads (`load(path, XStage)`), imported; None without."""
    for node in ast.walk(tree(script)):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "load"
            and len(node.args) == 2
            and isinstance(node.args[1], ast.Name)
        ):
            name = node.args[1].id
            for imp in ast.walk(tree(script)):
                if isinstance(imp, ast.ImportFrom) and name in {a.name for a in imp.names}:
                    module = __import__(imp.module or "", fromlist=[name])
                    return getattr(module, name)
    return None


def params_read(script: str) -> list[str] | None:
    """The params keys the stage may read (sections whole where every key may be read);
    None when its script loads no schema."""
    path = ROOT / script
    cls = schema(path)
    if cls is None:
        return None
    code = [f for f in closure(path) if not f.name.startswith("params")]  # checks, not reads
    seen, dumps = words([path, *code])
    out = []
    for section, field in cls.model_fields.items():
        kind = field.annotation
        if not hasattr(kind, "model_fields"):
            out.append(section)  # seed
            continue
        keys = [f"{section}.{k}" for k in kind.model_fields if dumps or k in seen]
        out += [section] if len(keys) == len(kind.model_fields) else keys
    return out


# --- dvc.yaml --------------------------------------------------------------------------------


def stages(pipeline: str) -> dict[str, dict]:
    return dict(YAML(typ="safe", pure=True).load((ROOT / pipeline).read_text())["stages"])


def script_of(spec: dict) -> str | None:
    first = str(spec.get("deps", [""])[0])
    return first if first.startswith("stages/") and first.endswith(".py") else None


def listed_params(spec: dict) -> set[str]:
    out: set[str] = set()
    for entry in spec.get("params", []):
        out |= set(entry.get("params.yaml", [])) if isinstance(entry, dict) else {entry}
    return out


def covered(key: str, listed: set[str]) -> bool:
    parts = key.split(".")
    return any(".".join(parts[:k]) in listed for k in range(1, len(parts) + 1))


def params_problems(script: str, spec: dict) -> list[str]:
    """The sections the script's schema loads that the stage does not list, and the listed
    keys its sections do not have."""
    cls = schema(ROOT / script)
    if cls is None:
        return []
    listed = listed_params(spec)
    sections = {k: f.annotation for k, f in cls.model_fields.items() if k != "seed"}
    out = [f"missing params {s}" for s in sections if not any(covered(k, {s}) for k in listed)]
    for key in sorted(listed):
        section, _, rest = key.partition(".")
        kind = sections.get(section)
        if kind is not None and rest and rest.split(".")[0] not in kind.model_fields:
            out.append(f"params {key}: not a key of {section}")
    return out


def problems(pipelines: list[str] = PIPELINES) -> list[str]:
    """One line per dep missing from the dvc.yaml files, or listed there but not needed."""
    out = []
    for pipeline in pipelines:
        for name, spec in stages(pipeline).items():
            script = script_of(spec)
            if script is None:
                continue
            deps = [str(d) for d in spec.get("deps", [])]
            code = code_deps(script)
            listed = [d for d in deps if d.startswith("src/")]
            out += [f"{pipeline}: {name}: missing dep {d}" for d in code if d not in deps]
            out += [f"{pipeline}: {name}: dep {d} is not imported" for d in listed if d not in code]
            out += [f"{pipeline}: {name}: {p}" for p in params_problems(script, spec)]
    return out


def rewrite(pipeline: str) -> None:
    """Replace each stage's src/ deps in the file by its computed code deps (text edit: the
    file's comments and layout are kept)."""
    path = ROOT / pipeline
    lines = path.read_text().splitlines(keepends=True)
    specs = stages(pipeline)
    out: list[str] = []
    stage = None
    for line in lines:
        text = line.strip()
        if line.startswith("  ") and not line.startswith("   ") and text.endswith(":"):
            stage = text[:-1]
        if text.startswith("- src/imbcl"):
            continue
        out.append(line)
        script = script_of(specs.get(stage or "", {}))
        if script and text == f"- {script}":
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}- {d}\n" for d in code_deps(script)[1:]]
    path.write_text("".join(out))


def main() -> None:
    sys.path.insert(0, str(SRC))
    if sys.argv[1:] == ["--keys"]:
        for pipeline in PIPELINES:
            for name, spec in stages(pipeline).items():
                script = script_of(spec)
                keys = params_read(script) if script else None
                print(f"{name}: " + ("(no schema)" if keys is None else ", ".join(keys)))
        return
    if sys.argv[1:] == ["--check"]:
        found = problems()
        print("\n".join(found) or "stage deps: every imported module and loaded section is a dep")
        sys.exit(1 if found else 0)
    for pipeline in PIPELINES:
        rewrite(pipeline)


if __name__ == "__main__":
    main()
