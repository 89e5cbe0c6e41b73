"""The `accountability` console command: `main`, then the process ends without tearing down
every module and object one at a time.

A command's process ends right after it: Python's own exit would then clear ~700 modules and
free ~100,000 objects one by one, about 40 ms after a sync (`bench/side_by_side.py`: last
response to process end, 0.134 s against 0.094 s, medians of 12 runs), work whose only effect
is memory the system takes back anyway. Everything else an exit does is done, in Python's
order: non-daemon threads are waited for, `atexit` handlers run (logging's flush, Prefect's),
the output is flushed, the exit code is Python's. `python -m accountability.cli` (what a
profiler runs) ends the usual way.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from accountability.cli.commands import main


def run() -> None:
    """The console script's entry point (pyproject.toml)."""
    try:
        main()
    except SystemExit as exc:
        code = exit_status(exc.code)
    else:
        code = 0
    threading._shutdown()  # type: ignore[attr-defined]  # the interpreter's exit, first step
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # the reader went away: Python's exit would give 120 too
        code = code or 120
    os._exit(code)


def exit_status(code: object) -> int:
    """`SystemExit.code` as the process's exit status, the way Python's exit reads it: None is
    0, an integer is itself, anything else is printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
