"""The escalation map of a workflow as a page on disk (`accountability map`, the demo)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from accountability.clock import Clock, system_clock
from accountability.messages.pages import render_escalation_map
from accountability.private_files import write_private
from accountability.usecases.paths import inside
from rules.escalation_map import build_escalation_map
from rules.registry import LoadedRegistry


def today_in(loaded: LoadedRegistry, clock: Clock = system_clock) -> date:
    """Dates in the registry are days of its time zone, not of the machine's."""
    return clock().astimezone(loaded.registry.tz).date()


def map_file(folder: Path, workflow: str) -> Path:
    """Where the map of `workflow` goes in a folder of maps: `<folder>/<workflow>.html`,
    refused (`UsageError`) if the id would lead out of `folder`."""
    return inside(folder, f"{workflow}.html")


def write_escalation_map(
    loaded: LoadedRegistry, workflow: str, target: Path, today: date | None = None
) -> Path:
    """Render the map of `workflow` and write it to `target` atomically.

    `target` is checked to be a plain file in its own folder (`inside`); callers that put a
    map in a folder of maps build it with `map_file`."""
    target = inside(target.parent, target.name)
    view = build_escalation_map(loaded.registry, workflow, today or today_in(loaded))
    html = render_escalation_map(view, loaded.content_hash)
    # Atomic (never a half-written page) and 0600: the map names people and their contacts.
    return write_private(target, html)
