"""Moving the process clock of a whole program, for tests and for CI's "a year ahead" run.

`libfaketime` (LD_PRELOAD) shifts every clock a process reads, C libraries included (OpenSSL,
SQLite), and is inherited by the processes it starts. Two uses:

* `pinned_env(moment)`: the environment that starts a child process (the CLI, as a user runs
  it) with its clock at `moment`, so a subprocess test means the same thing on any day;
* `python -m tests.clock [pytest args]`: the whole suite with the clock `AHEAD` in the future
  (`make test-ahead`, run by `.ci/run`). A test that depends on the day it was written then
  fails on that day, not a week later.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta

import libfaketime

AHEAD = timedelta(days=366)
REAL_TIME_VARIABLE = "ACCOUNTABILITY_TEST_REAL_TIME"
"""Set by `main` to the real epoch seconds; the root conftest checks the clock really moved."""


def preload_env() -> dict[str, str]:
    """The variables that load libfaketime into a process (its library path, real monotonic
    clocks so timeouts and asyncio keep real durations)."""
    _, env = libfaketime.get_reload_information()
    return dict(env)


def pinned_env(moment: datetime) -> dict[str, str]:
    """Variables that start a process with its wall clock at `moment`, ticking from there."""
    local = moment.astimezone()  # libfaketime reads "@…" in the process's local time zone
    return preload_env() | {"FAKETIME": "@" + local.strftime("%Y-%m-%d %H:%M:%S")}


def main(args: list[str]) -> int:
    """Run pytest with the process clock `AHEAD` in the future; returns pytest's exit code."""
    env = os.environ | preload_env() | {
        "FAKETIME": f"+{AHEAD.days}d",
        REAL_TIME_VARIABLE: str(int(time.time())),
    }
    command = [sys.executable, "-m", "pytest", *args]
    os.execve(sys.executable, command, env)
    return 0  # not reached: execve replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
