"""What every stage script shares: a clean one-line error and a non-zero exit on bad input.

Expected failures (bad parameters, missing inputs, a diverging run) print `error: ...` on
stderr and exit with status 2, without a traceback. Outputs are written atomically by the
stages themselves (imbcl.core.io), so a failure leaves the previous outputs as they were.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path

from imbcl.core.errors import DivergenceError, InputError, ParamError
from imbcl.core.runtime import tune_allocator

EXIT_BAD_INPUT = 2


def require(path: str | Path, what: str) -> Path:
    """The path, or an InputError naming it and what was expected there."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: not found; expected {what}")
    return p


def params_path() -> Path:
    """params.yaml in the working directory, or $IMBCL_PARAMS for tests and scripts."""
    return Path(os.environ.get("IMBCL_PARAMS", "params.yaml"))


def run(main: Callable[..., None]) -> None:
    """Call a stage's main() with the paths given on the command line (dvc.yaml's `cmd`
    names every path once); turn expected failures into `error: ...` and exit 2.

    main's positional parameters name the paths it expects: a wrong count is refused with a
    usage line before anything is read.
    """
    tune_allocator()
    args = sys.argv[1:]
    params = list(inspect.signature(main).parameters.values())
    variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
    names = [p.name for p in params if p.kind is not p.VAR_POSITIONAL]
    if len(args) < len(names) or (not variadic and len(args) > len(names)):
        usage = " ".join([*names, *(["PATH..."] if variadic else [])])
        print(f"error: usage: python {sys.argv[0]} {usage}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    try:
        main(*args)
    except (ParamError, InputError, DivergenceError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("error: interrupted; outputs were left as they were", file=sys.stderr)
        sys.exit(130)
