"""Storage fixtures: a session on the migrated ``engine``, and blank (never migrated) databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine
from sqlalchemy.orm import Session

from storage.engine import session_factory
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of an empty database of its own: no tables, no Alembic stamp."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('blank') / 'blank.db'}"
        return
    admin_url: URL = request.getfixturevalue("pg_admin_url")
    url = create_pg_database(admin_url)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        drop_pg_database(admin_url, url)
