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


CLOUD_SERVER_INFO = {"baseUrl": JIRA_URL, "version": "1001.0.0-SNAPSHOT",
                     "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud"}


@pytest.fixture
def jira_api() -> Iterator[respx.MockRouter]:
    """A Jira Cloud site: `serverInfo` says Cloud (the client asks it once, before its first
    dialect-dependent call); tests route the rest."""
    with respx.mock(base_url=JIRA_URL, assert_all_called=False) as router:
        router.get("/rest/api/2/serverInfo", name="serverInfo").respond(json=CLOUD_SERVER_INFO)
        yield router


@pytest.fixture
def pd_api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=PD_URL, assert_all_called=False) as router:
        yield router
