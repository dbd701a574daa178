"""What every stage script shares: a clean one-line error and a non-zero exit on bad input.

Expected failures (bad parameters, missing inputs, a diverging run) print `error: ...` on
stderr and exit with status 2, without a traceback. Outputs are written atomically by the
stages themselves (imbcl.core.io), so a failure leaves the previous outputs as they were.

A stage's `main` says what each path argument is by its annotation (`InDir`, `InFile`,
`InPath`, `OutDir`, `OutFile`, `OutPrefix`; plain `str` is not checked): `run` checks every
one before `main` starts, so a folder where a file is expected, or an output that cannot be
written, is refused before anything is computed.
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NewType

from imbcl.core.errors import DivergenceError, InputError, ParamError
from imbcl.core.runtime import tune_allocator

EXIT_BAD_INPUT = 2

InDir = NewType("InDir", str)  # an existing folder, read
InFile = NewType("InFile", str)  # an existing file, read
InPath = NewType("InPath", str)  # an existing file or folder, read
OutDir = NewType("OutDir", str)  # a folder, replaced as a whole
OutFile = NewType("OutFile", str)  # a file, replaced
OutPrefix = NewType("OutPrefix", str)  # files <prefix>.csv, <prefix>.md, ... beside it


def require(path: str | Path, what: str) -> Path:
    """The path, or an InputError naming it and what was expected there."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: not found; expected {what}")
    return p


def params_path() -> Path:
    """params.yaml in the working directory, or $IMBCL_PARAMS for tests and scripts."""
    return Path(os.environ.get("IMBCL_PARAMS", "params.yaml"))


def _kind(p: Path) -> str:
    return "a folder" if p.is_dir() else "a file" if p.exists() else "absent"


def _writable(folder: Path, shown: Path) -> None:
    """Refuse `shown` unless a file can be made in `folder` (or its nearest existing parent):
    a real write, so a read-only mount or permission is seen whatever the user."""
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{shown}: {folder} is a file; expected folders on the way to it")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise InputError(f"{shown}: cannot write in {folder} ({err.strerror})") from None


def check_path(kind: object, value: str, name: str) -> None:
    """Refuse argument `name` = `value` unless it is what `kind` (InDir, ..., OutPrefix) says."""
    p = Path(value)
    if kind in (InDir, InFile, InPath) and not p.exists():
        return  # the stage names what it expected there (`require`), before any work
    if (kind is InDir and not p.is_dir()) or (kind is InFile and not p.is_file()):
        raise InputError(f"{p}: {_kind(p)}; expected {name} to be {_noun(kind)}")
    if kind is OutDir:
        if p.exists() and not p.is_dir():
            raise InputError(f"{p}: a file; expected {name} to be a folder (an output)")
        _writable(p, p)
        if p.is_dir():
            _writable(p.parent, p)
    elif kind is OutFile:
        if p.is_dir():
            raise InputError(f"{p}: a folder; expected {name} to be a file (an output)")
        _writable(p.parent, p)
    elif kind is OutPrefix:
        if p.is_dir():
            raise InputError(f"{p}: a folder; expected {name} to be a file-name prefix")
        _writable(p.parent, p)


def _noun(kind: object) -> str:
    return {InDir: "a folder", InFile: "a file"}.get(kind, "a file or folder")  # type: ignore[call-overload]


def run(main: Callable[..., None]) -> None:
    """Call a stage's main() with the paths given on the command line (dvc.yaml's `cmd`
    names every path once); turn expected failures into `error: ...` and exit 2.

    main's positional parameters name the paths it expects: a wrong count is refused with a
    usage line before anything is read, a path of the wrong kind (see the module) too, and
    an argument starting with "-" (no stage takes options); -h or --help prints the script's
    docstring and exits 0.
    """
    tune_allocator()
    args = sys.argv[1:]
    if any(a in ("-h", "--help") for a in args):  # the script's docstring: its usage
        print((sys.modules[main.__module__].__doc__ or "").strip())
        sys.exit(0)
    if dashed := [a for a in args if a.startswith("-")]:
        print(f"error: {dashed[0]}: expected a path, not an option (-h for help)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    params = list(inspect.signature(main, eval_str=True).parameters.values())
    variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
    names = [p.name for p in params if p.kind is not p.VAR_POSITIONAL]
    if len(args) < len(names) or (not variadic and len(args) > len(names)):
        usage = " ".join([*names, *(["PATH..."] if variadic else [])])
        print(f"error: usage: python {sys.argv[0]} {usage}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    fixed = [p for p in params if p.kind is not p.VAR_POSITIONAL]
    extra = [p for p in params if p.kind is p.VAR_POSITIONAL]
    slots = fixed + extra * (len(args) - len(fixed))
    try:
        for slot, value in zip(slots, args, strict=True):
            check_path(slot.annotation, value, slot.name)
        main(*args)
    except (ParamError, InputError, DivergenceError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except (IsADirectoryError, NotADirectoryError, FileNotFoundError, PermissionError) as err:
        if err.filename is None:
            raise
        print(f"error: {err.filename}: {err.strerror}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        if os.environ.get("DVC_STAGE"):  # dvc repro removed the stage's outputs before it ran
            print(
                "error: interrupted; nothing was written here, but dvc removed this stage's "
                "outputs before it ran: rerun it, or `dvc checkout` the last committed ones",
                file=sys.stderr,
            )
        else:
            print("error: interrupted; outputs were left as they were", file=sys.stderr)
        sys.exit(130)
