r"""Render reports/report.html in headless Chromium to a PNG and check what a reader sees
(`make screenshot`; run `make report` first).

python scripts/report_screenshot.py [reports/report.html] [reports/report.png]

Chromium prints the page's DOM after layout (--dump-dom) and a screenshot of the full page
width. The check fails (exit status 1, one line per problem) when Markdown leaked into the
text (a literal `**`, `](`, an escaped `\*`, or a paragraph-long heading), when an image is
not inlined, or when no image is shown. Exit status 2 when Chromium is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def browser() -> str | None:
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


class _Page(HTMLParser):
    """Headings, images and visible text of the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if any(t in ("style", "script", "code", "pre") for t in self._in):
            return
        self.text.append(data)
        if self._in and re.fullmatch(r"h[1-6]", self._in[-1]):
            self.headings.append(data.strip())


def problems(dom: str) -> list[str]:
    """What a reader would see wrong in the rendered page."""
    page = _Page()
    page.feed(dom)
    text = " ".join(page.text)
    out = []
    for mark in ("**", "](", "![", "\\*", "\\_"):
        if mark in text:
            at = text.index(mark)
            out.append(f"leaked Markdown {mark!r}: ...{text[max(at - 40, 0) : at + 40]}...")
    out += [
        f"heading is a paragraph ({len(h)} characters): {h[:60]}..."
        for h in page.headings
        if len(h) > 120
    ]
    if not page.images:
        out.append("no image shown")
    out += [
        f"image not inlined: {src[:60]}"
        for src in page.images
        if not src.startswith("data:image/png;base64,")
    ]
    return out


def render(html: Path, png: Path, chrome: str, width: int = 1200, height: int = 4000) -> str:
    """The DOM after layout; writes the screenshot to `png`."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    url = html.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        flags.append(f"--user-data-dir={profile}")
        subprocess.run(
            [chrome, *flags, f"--window-size={width},{height}", f"--screenshot={png}", url],
            check=True,
            capture_output=True,
            timeout=120,
        )
        dom = subprocess.run(
            [chrome, *flags, "--dump-dom", url],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    return dom


def main(html: str = "reports/report.html", png: str = "reports/report.png") -> None:
    chrome = browser()
    if chrome is None:
        print(
            "error: chromium: not found; install it (e.g. apt-get install chromium)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if not Path(html).is_file():
        print(f"error: {html}: not found; run `make report` first", file=sys.stderr)
        raise SystemExit(2)
    found = problems(render(Path(html), Path(png), chrome))
    for p in found:
        print(p)
    print(f"wrote {png}; {len(found)} problem(s)")
    raise SystemExit(1 if found else 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
