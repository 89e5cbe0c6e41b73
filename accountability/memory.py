"""How much memory a sync may hold on to after it is done with it, and how much time
Python's cycle collector spends walking the imports and a sync's records.

glibc gives every thread that allocates a malloc arena of its own, up to eight per core, and
keeps what a thread freed in that thread's arena. A sync runs many threads (partitions side by
side, eight fetch threads per Jira client, the PagerDuty window fetchers), each parsing large
JSON pages, so the freed pages pile up in a dozen arenas: at 100,000 issues and 50,000
incidents with three partitions side by side the peak RSS was 368 MB with glibc's default and
299 MB with two arenas, at the same speed (docs/benchmarks.md, "Sync").

glibc also serves a large block (an API page's body, a batch's list of rows) from mmap only
while it is above a threshold that it raises each time such a block is freed, up to 32 MB: after
the first pages, the large blocks land in the heap and fragment it. A fixed threshold keeps them
mmapped, returned to the system when freed: at 20,000 issues and 10,000 incidents the Jira
part's peak fell from 239 to 221 MB.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, cast

M_ARENA_MAX: Final = -8
"""glibc's `mallopt` parameter for the number of malloc arenas (malloc.h)."""
M_MMAP_THRESHOLD: Final = -3
"""glibc's `mallopt` parameter: blocks at least this large are mmapped (malloc.h)."""
SYNC_ARENAS: Final = 2
SYNC_MMAP_THRESHOLD: Final = 256 * 1024


def limit_malloc_arenas(arenas: int = SYNC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on, as the documented
    `MALLOC_ARENA_MAX` environment variable would at start, and fix the mmap threshold as
    `MALLOC_MMAP_THRESHOLD_` would. Each is left alone when its variable is set (the operator
    decided); off glibc (macOS, musl: no such knobs) nothing is done and False returned."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(M_MMAP_THRESHOLD, SYNC_MMAP_THRESHOLD)
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))


def _mallopt() -> Callable[[int, int], int] | None:
    return _glibc("mallopt", ctypes.c_int, ctypes.c_int)


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc's `malloc_trim`), as a sync does
    after each batch it wrote: what a batch freed in the middle of the heap would otherwise
    stay counted in the process's RSS, under the next batch's. A no-op off glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    return _glibc("malloc_trim", ctypes.c_size_t)


def _glibc(name: str, *argtypes: Any) -> Callable[..., int] | None:
    """glibc's function `name` (returning an int), or None off Linux or without it (musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return cast(Callable[..., int], function)


# --- the cycle collector -------------------------------------------------------------------------


def freeze_imports() -> None:
    """Move every object alive now (the modules, classes and functions a command imported) out
    of the cycle collector's reach, so no later collection walks them again: at 1,950 issues
    (`bench/side_by_side.py`) the Jira sync took 1.77 s instead of 1.92 s.

    Once per process, right before its first command runs: what is alive then is the imports,
    alive until the process ends anyway. A process that runs the entry point again (the test
    suite does) does not freeze what its earlier commands left, so nothing later is kept from
    collection."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


_frozen = False


SYNC_YOUNG_THRESHOLD: Final = 25_000
"""Allocations between two collections of the youngest generation while a sync runs; Python's
default is 700. A sync allocates its pages' and rows' dicts by the hundred thousand and frees
most of them by reference counting when a batch is written; at 700, each was walked once or
twice by the collector before that (1,950 issues: 200 young and 18 middle collections, 60 to
100 ms). At 25,000 most die unwalked. Cycles still go, collected every 25,000 allocations
instead of every 700: a few thousand small objects per run (SQLAlchemy's statement columns,
tenacity's retry objects). A cycle that held a large object would now hold it longer: the one
that did, httpx's response and its stream holding a page's body, is broken as the page is read
(`connectors.http.release_stream`), most likely what made 50,000 / 20 / 20 cost 27 MB at
100k issues when it was tried before."""

_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def fewer_collections(young: int = SYNC_YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect the youngest generation every `young` allocations inside the block (a sync's
    bulk work), as Python did before it outside: the thresholds are set back when the last of
    the blocks running in this process (partitions of parallel runs, a test's) ends. A
    higher threshold already set, or the collector turned off (`gc.set_threshold(0)`), is left
    alone: the operator decided."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            first, *older = _gc_saved
            if 0 < first < young:
                gc.set_threshold(young, *older)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)
