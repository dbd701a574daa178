"""Process-level settings that make the CPU training loop fast, a small thread pool, and the
one device resolver of every track.

The first two were found by profiling the training step on a 2-core machine (README,
"Performance").
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import torch

from imbcl.core.errors import ParamError

_POOLS: dict[int, ThreadPoolExecutor] = {}  # by number of workers


def tune_allocator() -> bool:
    """Keep freed memory in glibc's heap instead of returning it to the system.

    glibc serves blocks above 128 KiB with fresh mmap pages and trims the heap top, so each
    step's activations (hundreds of KiB to a few MiB) page-faulted anew: in one A/B pair the
    default configuration ran at 155 steps/s without this and 209 with it. Raising the mmap
    and trim thresholds lets the same pages be reused. Returns False (and changes nothing)
    where the C library is not glibc.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30) and libc.mallopt(m_trim_threshold, 1 << 30))


def parallel_map(fn: Callable[[int], None], items: Iterable[int]) -> None:
    """fn over items on up to torch.get_num_threads() threads; inline for a single item.

    Meant for calls that are sequential inside (a torch generator's draws) and release the
    GIL, so independent ones can run side by side. fn must not start parallel torch work
    itself: nested thread teams would oversubscribe the cores.
    """
    todo = list(items)
    workers = min(len(todo), torch.get_num_threads())
    if workers <= 1:
        for item in todo:
            fn(item)
        return
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imbcl-draw")
    pool = _POOLS[workers]
    for future in [pool.submit(fn, item) for item in todo]:
        future.result()


def set_threads(n: int) -> None:
    """torch's intra-op threads for this process: n > 0 sets n; 0 keeps torch's default (one
    per core). The stacked runs' outputs do not depend on it: a batched product splits over
    its batch (the stacked runs), not inside one run's sums (tests/synthetic/test_threads.py).
    """
    if n > 0:
        torch.set_num_threads(n)


def resolve_device(name: str, local_rank: int = 0, key: str = "device") -> torch.device:
    """The torch device for a params value `name` (cpu | cuda | auto) on process `local_rank`.

    auto is CUDA when available, else the CPU. Asking for cuda where there is none is a
    ParamError naming `key` (the params key that holds `name`, e.g. "real.device").
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name != "cuda":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        why = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU is visible"
        raise ParamError(f"{key} = cuda: expected cpu or auto; {why}")
    return torch.device(f"cuda:{local_rank}")
