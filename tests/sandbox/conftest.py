"""Shared sandboxes for the fidelity suite.

One demo sandbox serves the whole session read-only (tests that mutate data or switch faults start
their own), and every client a user would use talks to it over real HTTPS on loopback: httpx for
Jira, the `pagerduty` library for PagerDuty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pagerduty
import pytest

from sandbox import Sandbox, SandboxConfig, serve_sandbox


@pytest.fixture(scope="session")
def demo() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sandbox:
        yield sandbox


def jira_client(sandbox: Sandbox, **kwargs: Any) -> httpx.Client:
    creds = sandbox.credentials
    return httpx.Client(
        base_url=creds["JIRA_URL"],
        auth=(creds["JIRA_EMAIL"], creds["JIRA_API_TOKEN"]),
        verify=sandbox.ssl_context(),
        **kwargs,
    )


def pd_client(sandbox: Sandbox) -> pagerduty.RestApiV2Client:
    creds = sandbox.credentials
    client = pagerduty.RestApiV2Client(
        creds["PAGERDUTY_API_TOKEN"],
        base_url=creds["PAGERDUTY_API_URL"],
        verify=sandbox.ssl_context(),
    )
    client.sleep_timer = 0.01  # the client sleeps before each retry; keep the suite fast
    return client


@pytest.fixture(scope="session")
def jira(demo: Sandbox) -> Iterator[httpx.Client]:
    with jira_client(demo) as client:
        yield client


@pytest.fixture(scope="session")
def pd(demo: Sandbox) -> Iterator[pagerduty.RestApiV2Client]:
    with pd_client(demo) as client:
        yield client


def search_all(
    client: httpx.Client, jql: str, *, method: str = "GET", **params: Any
) -> list[dict[str, Any]]:
    """Follow `nextPageToken` until `isLast`, as a connector would."""
    issues: list[dict[str, Any]] = []
    token: str | None = None
    seen_tokens: set[str] = set()
    while True:
        if method == "GET":
            query = {"jql": jql, **params, **({"nextPageToken": token} if token else {})}
            response = client.get("/rest/api/3/search/jql", params=query)
        else:
            body = {"jql": jql, **params, **({"nextPageToken": token} if token else {})}
            response = client.post("/rest/api/3/search/jql", json=body)
        response.raise_for_status()
        page = response.json()
        assert "total" not in page
        issues.extend(page["issues"])
        if page["isLast"]:
            assert "nextPageToken" not in page
            return issues
        token = page["nextPageToken"]
        assert token not in seen_tokens, "a repeated page token would loop forever"
        seen_tokens.add(token)
