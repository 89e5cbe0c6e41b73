"""Fixtures for sync tests: a migrated SQLite database, the demo registry, sandbox clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.registry_file import load_registry_file
from connectors.jira import JiraClient
from connectors.pagerduty import PagerDutyClient
from rules.registry import Registry
from sandbox import Sandbox
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry_file(EXAMPLE).registry


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'sync.db'}"
    upgrade(url)
    return url


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


def no_sleep(_seconds: float) -> None:
    """Retries still happen and are counted; only the waiting is skipped."""


@contextmanager
def clients(sb: Sandbox) -> Iterator[tuple[JiraClient, PagerDutyClient]]:
    creds = sb.credentials
    jira = JiraClient(creds["JIRA_URL"], email=creds["JIRA_EMAIL"],
                      api_token=SecretStr(creds["JIRA_API_TOKEN"]), ca_bundle=sb.ca_path,
                      sleep=no_sleep)
    pd = PagerDutyClient(SecretStr(creds["PAGERDUTY_API_TOKEN"]),
                         base_url=creds["PAGERDUTY_API_URL"], ca_bundle=sb.ca_path,
                         sleep=no_sleep)
    with jira, pd:
        yield jira, pd
