"""Issue 15 items 2 and 4 at the level of a whole sync: a long streak of 429s is waited out
(within the budget, and no further), and a poison record is quarantined, not fatal.

Against the sandbox over real HTTPS, through the sync's own client factories
(`open_jira` / `open_pagerduty`) with the default settings; retries wait through a recorder.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.settings import Settings, load_settings
from accountability.sources import jira as jira_sync
from accountability.sources import pagerduty as pd_sync
from accountability.sources.base import convert
from connectors.errors import RateLimitBudgetError
from connectors.jira import Batch
from rules.ownership import MalformedRecordError
from rules.registry import Registry
from sandbox import FaultConfig, Sandbox, SandboxConfig, serve_sandbox
from storage import ingest
from storage.models import JiraIssue, PdIncident, PdLogEntry, Quarantine
from tests.sync.test_sync_sandbox import START, after_world, assert_same_rows, expected, stored


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def sandbox_settings(sb: Sandbox) -> Settings:
    creds = sb.credentials
    return load_settings(
        _env_file=None, jira_url=creds["JIRA_URL"], jira_email=creds["JIRA_EMAIL"],
        jira_api_token=creds["JIRA_API_TOKEN"],
        pagerduty_api_token=creds["PAGERDUTY_API_TOKEN"],
        pagerduty_api_url=creds["PAGERDUTY_API_URL"], ca_bundle=str(sb.ca_path),
        # these tests answer hundreds of requests with 429 and do not wait them out (`sleep`
        # records): the client's own rate limit would make them wait for real
        pagerduty_rate_limit=100_000,
    )


def sync_all(sb: Sandbox, factory: sessionmaker[Session], registry: Registry, now: datetime,
             waits: list[float], *, full: bool = False,
             concurrency: int | None = None) -> list[Any]:
    """Every partition, as `accountability sync` does, with the clients it opens."""
    settings = sandbox_settings(sb)
    summaries: list[Any] = []
    with (jira_sync.open_jira(settings, sleep=waits.append) as jira,
          pd_sync.open_pagerduty(settings, sleep=waits.append) as pd):
        for partition in jira_sync.jira_partitions(registry):
            summaries.append(jira_sync.sync_jira_partition(factory, jira, partition,
                                                           start=START, now=now, full=full))
        summaries += pd_sync.sync_pagerduty(factory, pd, pd_sync.pagerduty_services(registry),
                                            start=START, now=now, full=full,
                                            concurrency=concurrency)
    return summaries


# -------------------------------------------------------------------- item 2: 429 streaks

DEFAULT_BUDGET = 300  # ACCOUNTABILITY_RATE_LIMIT_BUDGET's default, seconds
SANDBOX_ADVICE = 1  # the sandbox's Retry-After / ratelimit-reset on its 429s, seconds
LONGEST_STREAK = DEFAULT_BUDGET // SANDBOX_ADVICE


@pytest.mark.parametrize("paths", ["/incidents", "/rest/api/3/search"], ids=["pagerduty", "jira"])
def test_the_longest_429_streak_the_budget_allows_is_waited_out(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry, paths: str
) -> None:
    """300 rate-limited answers in a row to one request, then service: the sync completes
    with every row, having waited exactly the advice each time (300 s, not slept here)."""
    now = after_world(sandbox)
    sandbox.set_faults(FaultConfig.parse(f"429=first:{LONGEST_STREAK},paths={paths}"))
    waits: list[float] = []
    sync_all(sandbox, factory, registry, now, waits, concurrency=1)  # the streak on one request
    injected = sandbox.faults_injected
    sandbox.set_faults(None)
    assert injected["429"] == LONGEST_STREAK
    assert waits == [float(SANDBOX_ADVICE)] * LONGEST_STREAK
    assert_same_rows(stored(factory), expected(sandbox, registry, now))


def test_one_429_past_the_budget_fails_and_says_so(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    now = after_world(sandbox)
    sandbox.set_faults(FaultConfig.parse(f"429=first:{LONGEST_STREAK + 1},paths=/incidents"))
    waits: list[float] = []
    with pytest.raises(RateLimitBudgetError) as caught:
        # one window at a time: the streak falls on one request (in parallel, eight windows
        # would share it and each survive)
        sync_all(sandbox, factory, registry, now, waits, concurrency=1)
    sandbox.set_faults(None)
    assert sum(waits) == DEFAULT_BUDGET
    assert f"ACCOUNTABILITY_RATE_LIMIT_BUDGET={DEFAULT_BUDGET} s" in str(caught.value)


# ----------------------------------------------------------------- item 4: poison records


def test_poison_records_from_the_sandbox_are_quarantined_and_the_sync_goes_on(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    """Every other listing answer has one field of its first record swapped for a value of
    another type: each such record is quarantined with its reason, or understood; the rest
    is stored as if nothing had happened, and the run completes."""
    now = after_world(sandbox)
    sandbox.set_faults(FaultConfig.parse(
        "wrongtype=every:2,seed=3,"
        "paths=/incidents|/log_entries|/rest/api/3/search/jql|/rest/api/3/issue/bulkfetch"))
    summaries = sync_all(sandbox, factory, registry, now, [])
    injected = sandbox.faults_injected
    sandbox.set_faults(None)
    assert injected["wrongtype"] >= 5, injected
    truth = expected(sandbox, registry, now)
    got = stored(factory)
    with factory() as s:
        quarantined = s.scalars(select(Quarantine)).all()
    assert quarantined and all(row.reason for row in quarantined)
    assert sum(summary.quarantined for summary in summaries) >= len(quarantined)
    # Nothing invented, and whatever is missing was quarantined (by key, id or as "?").
    refs = {row.ref for row in quarantined}
    for table in ("issues", "incidents", "entries"):
        assert got[table] <= truth[table], table
        lost = truth[table] - got[table]
        assert len(lost) <= len(refs), (table, lost)
    # Once the source sends them whole again, a full re-sync stores what was quarantined.
    sync_all(sandbox, factory, registry, now, [], full=True)
    healed = stored(factory)
    for table in ("issues", "incidents", "entries"):
        assert healed[table] == truth[table], table


ISSUE = {"id": "10001", "key": "SUP-1",
         "fields": {"updated": "2026-09-02T10:00:00.000+0000",
                    "created": "2026-09-01T10:00:00.000+0000"}}


class FakePagerDuty:
    """Stands in for PagerDutyClient: the issue's two poison incidents among good records."""

    def __init__(self, incidents: list[Any], entries: list[Any]) -> None:
        self._incidents, self._entries = incidents, entries

    def incidents(self, services: object, since: datetime, until: datetime) -> Iterator[Any]:
        if since == START:
            yield from self._incidents

    def log_entries(self, since: datetime, until: datetime) -> Iterator[Any]:
        if since == START:
            yield from self._entries


def incident(incident_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": incident_id, "created_at": "2026-09-01T10:00:00Z", "status": "resolved",
            "service": {"id": "PSUP001"}, **extra}


def entry(entry_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": entry_id, "type": "assign_log_entry", "created_at": "2026-09-01T10:05:00Z",
            "incident": {"id": "PGOOD1", "service": {"id": "PSUP001"}},
            "agent": {"id": "PU1", "type": "user_reference"},
            "assignees": [{"id": "PU2"}], **extra}


def test_the_issues_poison_incidents_are_quarantined_with_their_reason(
    factory: sessionmaker[Session],
) -> None:
    client = FakePagerDuty(
        incidents=[
            incident("PGOOD1", assignments=[{"assignee": {"id": "PU2"}}]),
            incident("PNULL1", assignments=[{"assignee": None}]),  # understood: nobody
            incident("PNUM1", incident_number="forty-two"),
            incident("PSVC1", service="PSUP001"),
            "not an incident",
        ],
        entries=[
            entry("LGOOD1"),
            entry("LBAD1", assignees="PU2"),
            entry("LBAD2", agent=["PU1"]),
            entry("LBAD3", incident="PGOOD1"),
            {"type": "assign_log_entry", "created_at": "2026-09-01T10:06:00Z",
             "incident": {"id": "PGOOD1",
                                                      "service": {"id": "PSUP001"}}},
        ],
    )
    incidents, entries = pd_sync.sync_pagerduty(
        factory, client, ["PSUP001"], start=START, now=START + timedelta(days=3))  # type: ignore[arg-type]
    assert (incidents.items, incidents.quarantined) == (2, 3)
    assert (entries.items, entries.quarantined) == (1, 4)
    with factory() as s:
        reasons = {(row.ref, row.reason) for row in s.scalars(select(Quarantine))}
        assert set(s.scalars(select(PdIncident.id))) == {"PGOOD1", "PNULL1"}
        assert s.scalar(select(PdIncident.assignees).where(PdIncident.id == "PNULL1")) == []
        assert set(s.scalars(select(PdLogEntry.id))) == {"LGOOD1"}
    assert ("PNUM1", "incident_number is not a whole number: 'forty-two'") in reasons
    assert ("PSVC1", "service is not an object but str") in reasons
    assert ("?", "not an object but str") in reasons
    assert ("LBAD1", "assignees is not a list but str") in reasons
    assert ("LBAD2", "agent is not an object but list") in reasons
    assert ("LBAD3", "incident is not an object but str") in reasons
    assert ("?", "missing id") in reasons


def test_a_poison_jira_issue_or_history_is_quarantined(factory: sessionmaker[Session]) -> None:
    class FakeJira:
        def fetch(
            self, jql: str, fields: object, batch_size: int, fetched: object = None
        ) -> Iterator[Batch]:
            bad = [{"id": "h1", "created": "2026-09-01T11:00:00.000+0000",
                    "author": "sam", "items": [{"field": "assignee"}]}]
            issues = [
                ISSUE,
                {**ISSUE, "id": "10002", "key": "SUP-2",
                 "fields": {**ISSUE["fields"], "assignee": "sam"}},
                {**ISSUE, "id": "10003", "key": "SUP-3"},
            ]
            yield Batch(issues, {"10001": [], "10003": bad})

    partition = jira_sync.JiraPartition("support", "SUP", None)
    summary = jira_sync.sync_jira_partition(factory, FakeJira(), partition,  # type: ignore[arg-type]
                                            start=START, now=START + timedelta(days=3))
    assert (summary.items, summary.quarantined) == (1, 2)
    with factory() as s:
        reasons = {(row.ref, row.reason) for row in s.scalars(select(Quarantine))}
        assert set(s.scalars(select(JiraIssue.key))) == {"SUP-1"}
    assert ("SUP-2", "fields.assignee is not an object but str") in reasons
    assert ("SUP-3", "changelog: author is not an object but str") in reasons


def test_unforeseen_errors_of_one_record_are_quarantined_but_database_errors_are_not() -> None:
    def trips(record: Any) -> dict[str, Any]:
        return {"n": int(record["n"])}  # KeyError, ValueError, TypeError, by record

    rows, bad = convert([{"id": "a", "n": "1"}, {"id": "b"}, {"id": "c", "n": "x"},
                         {"id": "d", "n": None}], trips)
    assert rows == [{"n": 1}]
    assert [(ref, reason.split(":")[0]) for ref, reason, _ in bad] == [
        ("b", "could not be read"), ("c", "could not be read"), ("d", "could not be read")]

    def database_down(record: Any) -> dict[str, Any]:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    with pytest.raises(OperationalError):
        convert([{"id": "a"}], database_down)


def test_a_null_assignee_is_nobody_and_a_wrong_shape_is_malformed() -> None:
    row = ingest.pd_incident_row(incident("P1", assignments=[{"assignee": None}, None]))
    assert row["assignees"] == []
    with pytest.raises(MalformedRecordError, match="incident_number"):
        ingest.pd_incident_row(incident("P2", incident_number="12a"))
    assert ingest.pd_incident_row(incident("P3", incident_number="12"))["incident_number"] == 12
    assert ingest.jira_issue_row({**ISSUE, "fields": {**ISSUE["fields"], "assignee": None}})[
        "assignee_account_id"] is None
    with pytest.raises(MalformedRecordError, match="items\\[0\\] is not an object"):
        ingest.changelog_rows("1", "SUP-1", [{"id": "h", "created": "2026-09-01T11:00:00Z",
                                              "items": ["assignee"]}])
