"""How much memory a sync's threads may hold on to after they are done with it.

glibc gives every thread that allocates a malloc arena of its own, up to eight per core, and
keeps what a thread freed in that thread's arena. A sync runs many threads (partitions side by
side, eight fetch threads per Jira client, the PagerDuty window fetchers), each parsing large
JSON pages, so the freed pages pile up in a dozen arenas: at 100,000 issues and 50,000
incidents with three partitions side by side the peak RSS was 368 MB with glibc's default and
299 MB with two arenas, at the same speed (docs/benchmarks.md, "Sync").
"""

from __future__ import annotations

import ctypes
import os
import sys
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
