"""How much memory a sync's threads may hold on to after they are done with it, and how
much time Python's cycle collector spends on what a sync holds.

glibc gives every thread that allocates a malloc arena of its own, up to eight per core, and
keeps what a thread freed in that thread's arena. A sync runs many threads (partitions side by
side, eight fetch threads per Jira client, the PagerDuty window fetchers), each parsing large
JSON pages, so the freed pages pile up in a dozen arenas: at 100,000 issues and 50,000
incidents with three partitions side by side the peak RSS was 368 MB with glibc's default and
299 MB with two arenas, at the same speed (docs/benchmarks.md, "Sync").
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

M_ARENA_MAX: Final = -8
"""glibc's `mallopt` parameter for the number of malloc arenas (malloc.h)."""
SYNC_ARENAS: Final = 2


def limit_malloc_arenas(arenas: int = SYNC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on, as the documented
    `MALLOC_ARENA_MAX` environment variable would at start. Does nothing (returns False) when
    that variable is set (the operator decided), or off glibc (macOS, musl: no such knob)."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


# --- the cycle collector -------------------------------------------------------------------------

SYNC_GC_THRESHOLDS: Final = (50_000, 20, 20)
"""A young collection every 50,000 new containers instead of 700 (the default), an older one
every 20 of those. A sync allocates a dict per JSON object it reads and per row it writes,
almost all freed by reference counting; each full collection walks every live object, the
batch in flight included. At 1,950 issues (`bench/side_by_side.py`) this and `freeze_imports`
took the Jira sync from 1.92 to 1.70 s (docs/benchmarks.md, "Side by side")."""


def freeze_imports() -> None:
    """Move every object alive now (modules, classes, the compiled SQL caches: the imports of
    a command) out of the collector's reach, so no later collection walks them again.

    For a command's process, right before it runs: what is alive then lives until the process
    ends anyway. Objects that become garbage later are collected as before."""
    gc.freeze()


@contextmanager
def relaxed_gc(thresholds: tuple[int, int, int] = SYNC_GC_THRESHOLDS) -> Iterator[None]:
    """Collect cycles less often for the duration (a sync), then restore the thresholds."""
    before = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        gc.set_threshold(*before)
