"""The sources the product reads, behind one seam (`base.Source`).

Adding a source: its connector (`connectors/`), its module here and one entry in `SOURCES`,
its identity field and `sources:` block in the registry model, its kind in `rules.sources`,
its storage tables, and its sandbox routes (docs/architecture.md walks through it).
"""

from __future__ import annotations

from typing import Final

from accountability.config.errors import UsageError
from accountability.sources import jira, pagerduty
from accountability.sources.base import Partition, Source, SyncSummary, Window

SOURCES: Final[tuple[Source, ...]] = (jira.SOURCE, pagerduty.SOURCE)
BY_NAME: Final[dict[str, Source]] = {source.name: source for source in SOURCES}

__all__ = ["BY_NAME", "SOURCES", "Partition", "Source", "SyncSummary", "Window", "source"]


def source(name: str) -> Source:
    """The source called `name`; a usage error naming the known ones otherwise."""
    found = BY_NAME.get(name)
    if found is None:
        raise UsageError(f"unknown source '{name}': use " + " or ".join(BY_NAME))
    return found
