"""Print a configuration file's values as `dvc exp run` flags: -S section.key=value ...

dvc exp run $(python scripts/smoke_flags.py configs/cifar10-lt-smoke.yaml)
"""

import json
import sys

from ruamel.yaml import YAML


def flags(path: str) -> list[str]:
    """One -S flag per key of every section of the file at `path`; values in YAML flow form
    (lists as [a, b]), which `dvc exp run -S` parses as YAML."""
    data = YAML(typ="safe", pure=True).load(open(path))
    out = []
    for section, values in data.items():
        for key, value in values.items():
            text = (
                json.dumps(value, separators=(",", ":"))
                if isinstance(value, list | bool)
                else str(value)
            )
            out += ["-S", f"{section}.{key}={text}"]
    return out


if __name__ == "__main__":
    print(" ".join(flags(sys.argv[1])))
