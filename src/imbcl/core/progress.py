"""Progress on stderr for work that runs longer than a few seconds.

On a terminal: a tqdm bar. Elsewhere (a log file, CI): one plain line per `every` percent
(`desc: 30/120 (25%), 12 s`) and one at the end, or only the end for a nested bar
(`leave=False`). Progress never goes to stdout, so outputs are unchanged.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, TextIO, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


class Lines:
    """A tqdm stand-in for a stream that is not a terminal: `update`, `close`, a context."""

    def __init__(
        self, total: int, desc: str, every: float, leave: bool, file: TextIO | None
    ) -> None:
        self.total, self.desc, self.every, self.leave = max(int(total), 0), desc, every, leave
        self.file = file if file is not None else sys.stderr
        self.n, self.next = 0, every
        self.start = time.monotonic()
        self.closed = False

    def _line(self) -> None:
        pct = 100.0 * self.n / self.total if self.total else 100.0
        took = time.monotonic() - self.start
        print(f"{self.desc}: {self.n}/{self.total} ({pct:.0f}%), {took:.0f} s", file=self.file)
        self.file.flush()

    def update(self, n: int = 1) -> None:
        self.n += n
        pct = 100.0 * self.n / self.total if self.total else 100.0
        if self.leave and pct >= self.next and self.n < self.total:
            self._line()
            while self.next <= pct:
                self.next += self.every

    def close(self) -> None:
        if not self.closed and self.total:
            self._line()
        self.closed = True

    def __enter__(self) -> Lines:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        self.closed = True


class _Off:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


def bar(
    total: int,
    desc: str,
    *,
    disable: bool = False,
    leave: bool = True,
    every: float = 10.0,
    file: TextIO | None = None,
) -> Any:
    """A progress bar over `total` items (tqdm on a terminal, `Lines` elsewhere)."""
    if disable:
        return _Off()
    stream = file if file is not None else sys.stderr
    if stream.isatty():
        return tqdm(total=total, desc=desc, leave=leave, mininterval=1.0, file=stream)
    return Lines(total, desc, every, leave, stream)


def track(items: Sequence[T], desc: str, **kwargs: Any) -> Iterator[T]:
    """Iterate over `items` with a `bar` (keyword arguments as `bar`'s)."""
    with bar(len(items), desc, **kwargs) as progress:
        for item in items:
            yield item
            progress.update(1)
