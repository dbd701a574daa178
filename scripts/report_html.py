"""Build a self-contained HTML version of reports/README.md (`make report`).

Images are inlined as base64 data URIs, so the single file can be mailed or archived.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import markdown

from imbcl.core.io import write_text

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; }
code { background: #f5f5f5; padding: 0 3px; }
"""


def inline_images(html: str, base: Path) -> str:
    def data_uri(match: re.Match) -> str:
        path = base / match.group(1)
        if not path.is_file():
            raise SystemExit(f"error: {path}: image named in the report not found")
        encoded = base64.b64encode(path.read_bytes()).decode()
        return f'src="data:image/png;base64,{encoded}"'

    return re.sub(r'src="([^"]+\.png)"', data_uri, html)


def main(source: str = "reports/README.md", target: str = "reports/report.html") -> None:
    src = Path(source)
    if not src.is_file():
        raise SystemExit(f"error: {src}: not found; run `make repro` first")
    body = markdown.markdown(src.read_text(), extensions=["tables", "fenced_code"])
    body = inline_images(body, src.parent)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>imbcl report</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
    write_text(target, page)
    print(f"wrote {target} ({len(page) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(*sys.argv[1:])
