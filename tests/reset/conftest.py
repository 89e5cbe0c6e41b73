"""A registry with a 30-day reset of `support` started Monday 2026-11-30 (weeks end on the
Sundays 12-06, 12-13, 12-20 and 12-27), and a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rules.registry import LoadedRegistry, parse_registry
from storage.engine import session_factory

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"
STARTED = date(2026, 11, 30)
RESET_BLOCK = "reset: {workflow: support, started: 2026-11-30}\n"


def with_reset(extra: str = RESET_BLOCK + "next: renewals\n") -> LoadedRegistry:
    """The example registry with `extra` appended at the top level."""
    return parse_registry(EXAMPLE.read_text() + extra, "registry.yaml")


@pytest.fixture
def loaded() -> LoadedRegistry:
    return with_reset()


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield session_factory(engine)
