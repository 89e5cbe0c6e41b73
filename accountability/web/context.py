"""What every request handler of the web app reads: the database, the registry and the clock.

One `WebContext` is built by `accountability serve` (or a test) and put on
`app.state.web`; handlers never read the environment themselves, so a test builds the app on
its own database, registry file and moved clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.registry_file import load_registry_file
from rules.registry import LoadedRegistry, Registry


@dataclass
class WebContext:
    """The app's collaborators. `registry()` re-reads the file when it changed on disk, so an
    edited registry takes effect without a restart (as it does for the next CLI command)."""

    sessions: sessionmaker[Session]
    registry_path: Path
    clock: Clock = system_clock
    _cached: tuple[float, LoadedRegistry] | None = field(default=None, repr=False)
    _lock: Lock = field(default_factory=Lock, repr=False)

    def loaded_registry(self) -> LoadedRegistry:
        mtime = self.registry_path.stat().st_mtime
        with self._lock:
            if self._cached is None or self._cached[0] != mtime:
                self._cached = (mtime, load_registry_file(self.registry_path))
            return self._cached[1]

    def registry(self) -> Registry:
        return self.loaded_registry().registry
