"""Stage longtail_source: the manifest of the real images (every file read under real.root,
its size and SHA-256). `make repro` forces it before `dvc repro`, so that data edited in
place, or a re-pointed real.root, change its output and rerun longtail_data.

    python stages/longtail_source.py OUT   reads params.yaml [seed, real]
writes OUT   {dataset, files: [{path, bytes, sha256}], sha256}; refused when real.root_sha256
             is set and differs from the data's digest
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library

from imbcl.core import cli
from imbcl.core.cli import OutFile
from imbcl.core.io import write_json
from imbcl.core.params import load
from imbcl.longtail.manifest import manifest
from imbcl.longtail.params import LongtailDataStage


def main(out: OutFile) -> None:
    p = load(cli.params_path(), LongtailDataStage)
    m = manifest(p.real)
    write_json(out, m)
    print(f"{p.real.dataset}: {len(m['files'])} files, sha256 {m['sha256']}")


if __name__ == "__main__":
    cli.run(main)
