"""The one source of "now" for the application shell.

Every use-case (sync, evaluate, dispatch, governance, digest) takes a `Clock` and stamps what
it writes with it; storage has no time defaults of its own. Production passes
`system_clock`; tests pass a clock they move by hand, so a test that pins a date gives the
same result on any day it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A callable returning an aware UTC datetime."""


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)
