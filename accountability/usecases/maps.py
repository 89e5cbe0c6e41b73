"""The escalation map of a workflow as a page on disk (`accountability map`, the demo)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from accountability.clock import Clock, system_clock
from accountability.messages.pages import render_escalation_map
from accountability.private_files import write_private
from rules.escalation_map import build_escalation_map
from rules.registry import LoadedRegistry


def today_in(loaded: LoadedRegistry, clock: Clock = system_clock) -> date:
    """Dates in the registry are days of its time zone, not of the machine's."""
    return clock().astimezone(loaded.registry.tz).date()


def write_escalation_map(
    loaded: LoadedRegistry, workflow: str, target: Path, today: date | None = None
) -> Path:
    view = build_escalation_map(loaded.registry, workflow, today or today_in(loaded))
    html = render_escalation_map(view, loaded.content_hash)
    # Atomic (never a half-written page) and 0600: the map names people and their contacts.
    return write_private(target, html)
