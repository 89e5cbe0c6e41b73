"""The request hook the scheduled flows use for Prefect rate limits: every request the
connectors send, retries and paging included, waits on it first (docs/operations.md §3.5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from connectors.jira import JiraClient
from connectors.pagerduty import PagerDutyClient
from sandbox import Sandbox, SandboxConfig, serve_sandbox
from sandbox.faults import FaultConfig, FaultRule


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def test_every_jira_request_and_retry_waits_on_the_throttle(sandbox: Sandbox) -> None:
    creds = sandbox.credentials
    calls: list[None] = []
    sandbox.set_faults(FaultConfig(status_503=FaultRule(every=3), retry_after=0))
    try:
        with JiraClient(creds["JIRA_URL"], email=creds["JIRA_EMAIL"],
                        api_token=SecretStr(creds["JIRA_API_TOKEN"]), ca_bundle=sandbox.ca_path,
                        sleep=lambda _: None, throttle=lambda: calls.append(None)) as jira:
            pages = list(jira.search("project = SUP", fields=["status"], page_size=20))
            issue_ids = [issue["id"] for page in pages for issue in page]
            jira.changelogs(issue_ids[:30])
            stats = jira.stats
    finally:
        sandbox.set_faults(None)
    assert len(pages) > 1 and stats.retries > 0  # paging and retries both happened
    assert len(calls) == stats.requests  # every attempt sent, the retries among them


def test_every_pagerduty_request_waits_on_the_throttle(sandbox: Sandbox) -> None:
    creds = sandbox.credentials
    calls: list[None] = []
    with PagerDutyClient(SecretStr(creds["PAGERDUTY_API_TOKEN"]),
                         base_url=creds["PAGERDUTY_API_URL"], ca_bundle=sandbox.ca_path,
                         throttle=lambda: calls.append(None)) as pagerduty:
        incidents = list(pagerduty.incidents(["PSUP001"], datetime(2026, 9, 1, tzinfo=UTC),
                                             datetime(2026, 11, 23, tzinfo=UTC)))
        requests = pagerduty.stats.requests
    assert incidents and requests > 0
    assert len(calls) == requests
