"""Fixtures of the connector tests: respx routers on the vendors' base URLs, a fake sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.connectors.fakes import JIRA_URL, PD_URL


@pytest.fixture
def sleeps() -> list[float]:
    """Stands in for `time.sleep`: records every wait instead of waiting."""
    return []


@pytest.fixture
def jira_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=JIRA_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def pd_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=PD_URL, assert_all_called=False) as router:
        yield router
