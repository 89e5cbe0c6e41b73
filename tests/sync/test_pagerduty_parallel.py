"""PagerDuty windows fetched in parallel, over loopback against the sandbox: the same database
as one window at a time (every table, every column), never over the token's rate limit
(the sandbox answers 429 like PagerDuty past it), and a failed window leaves its cursor and
everything after it untouched."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability.sources import pagerduty as pd_sync
from connectors.errors import ConnectorError
from connectors.pagerduty import PagerDutyClient
from connectors.ratelimit import RateLimiter
from rules.registry import Registry
from sandbox import FaultConfig, Sandbox, SandboxConfig, serve_sandbox
from sandbox.timefmt import from_ms
from storage import repo
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import PdIncident, PdLogEntry
from tests.demo_snapshot import dump
from tests.sync.conftest import no_sleep

START = datetime(2026, 10, 15, 9, 30, tzinfo=UTC)
"""After a third of the demo's incidents began, so windows also read incidents' own logs."""
WRITTEN = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def pagerduty(sb: Sandbox, **options: Any) -> PagerDutyClient:
    creds = sb.credentials
    return PagerDutyClient(SecretStr(creds["PAGERDUTY_API_TOKEN"]),
                           base_url=creds["PAGERDUTY_API_URL"], ca_bundle=sb.ca_path,
                           sleep=no_sleep, **options)


def database(path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{path}"
    upgrade(url)
    return session_factory(make_engine(url))


def sync(sb: Sandbox, factory: sessionmaker[Session], registry: Registry, *,
         concurrency: int, start: datetime = START, **options: Any) -> list[Any]:
    now = from_ms(sb.world.latest_ms()) + timedelta(hours=1)
    with pagerduty(sb, **options) as pd:
        return pd_sync.sync_pagerduty(factory, pd, pd_sync.pagerduty_services(registry),
                                      start=start, now=now, concurrency=concurrency,
                                      clock=lambda: WRITTEN)


def test_parallel_windows_write_the_same_database_as_one_at_a_time(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """Every row of every table, columns included (tie ranks, embedded incidents, events,
    cursors), written by 1 and by 8 windows at a time."""
    sequential, parallel = tmp_path / "one.db", tmp_path / "eight.db"
    sandbox.set_faults(None)  # resets the request counter
    one = sync(sandbox, database(sequential), registry, concurrency=1)
    own_logs = sum(n for path, n in sandbox.requests.items() if path.endswith("/log_entries")
                   and path.startswith("GET /incidents/"))
    eight = sync(sandbox, database(parallel), registry, concurrency=8)
    assert own_logs > 0  # the windows read incidents' own logs too
    rows = dump(sequential)
    assert len(rows) > 100 and any('"tie_rank": 2' in row for row in rows)
    assert dump(parallel) == rows
    assert [(s.items, s.changes, s.quarantined, s.cursor) for s in eight] == [
        (s.items, s.changes, s.quarantined, s.cursor) for s in one]


def test_a_failed_window_stops_the_sync_there_and_its_cursor_stays(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third incident window fails while later windows are already being fetched: the
    error reaches the caller, the first two windows are committed with the cursor at their
    end, and nothing of a later window (incidents or log entries) is written."""
    factory = database(tmp_path / "failed.db")
    third = START + 2 * pd_sync.INCIDENT_CHUNK
    original = PagerDutyClient.incidents

    def failing(self: PagerDutyClient, services: Any, since: datetime,
                until: datetime) -> Iterator[dict[str, Any]]:
        if since == third:
            time.sleep(0.2)  # the windows after it are fetched meanwhile
            raise ConnectorError("PagerDuty went away")
        yield from original(self, services, since, until)

    monkeypatch.setattr(PagerDutyClient, "incidents", failing)
    with pytest.raises(ConnectorError, match="went away"):
        sync(sandbox, factory, registry, concurrency=8)
    with factory() as session:
        assert repo.get_cursor(session, "pagerduty", "incidents") == third
        assert repo.get_cursor(session, "pagerduty", "log_entries") is None
        created = list(session.scalars(select(PdIncident.created_at)))
        assert not list(session.scalars(select(PdLogEntry.id)))
    assert created and max(created) < third


def test_the_sandbox_answers_429_like_pagerduty_past_a_tokens_rate(sandbox: Sandbox) -> None:
    """Three requests a window per token: the fourth is refused with PagerDuty's body and
    headers, another token is counted apart, and Jira is not limited."""
    import httpx

    sandbox.set_faults(FaultConfig.parse("pd_rate_limit=3,pd_rate_period=30"))
    token = sandbox.credentials["PAGERDUTY_API_TOKEN"]
    with httpx.Client(base_url=sandbox.base_url, verify=sandbox.ssl_context()) as http:
        def get(path: str, secret: str = token) -> httpx.Response:
            return http.get(path, headers={"Authorization": f"Token token={secret}",
                                           "Accept": "application/vnd.pagerduty+json;version=2"})

        answers = [get("/services") for _ in range(4)]
        other = get("/services", "another-token")
        jira = http.get("/rest/api/2/serverInfo")
    injected = sandbox.faults_injected["rate_limit"]
    sandbox.set_faults(None)
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert refused.headers["ratelimit-limit"] == "3"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["ratelimit-reset"]) <= 30
    assert other.status_code != 429 and jira.status_code == 200
    assert injected == 1
    assert FaultConfig().pd_rate_limit == 0  # off unless asked for


RATE, PERIOD = 10, 1.0
"""The sandbox's limit in the tests below: 10 requests per token in any second (600 a
minute), so a sync of a few dozen requests meets it within a few seconds."""
EARLY = datetime(2026, 8, 1, tzinfo=UTC)
"""Two months before the first incident: 17 weeks of windows, two requests each at least."""


def test_parallel_windows_never_trip_the_rate_limit_they_are_given(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """Eight windows at once against a sandbox that refuses an 11th request within 1 s: with
    the client's limiter at the same rate, not one 429, and everything arrives. Without it,
    the same sync trips the limit: the check is live."""
    sandbox.set_faults(FaultConfig(pd_rate_limit=RATE, pd_rate_period=PERIOD))
    limiter = RateLimiter(RATE, period=PERIOD)
    began = time.monotonic()
    sync(sandbox, database(tmp_path / "limited.db"), registry, concurrency=8, limiter=limiter,
         start=EARLY)
    seconds = time.monotonic() - began
    requests, refused = sum(sandbox.requests.values()), sandbox.faults_injected["rate_limit"]
    assert refused == 0, f"{refused} of {requests} requests answered 429"
    assert requests > RATE * 2  # the limit was met, not avoided: it paced the sync
    assert seconds >= (requests - limiter.burst) / limiter.rate * 0.9
    reference = database(tmp_path / "reference.db")
    sandbox.set_faults(None)
    sync(sandbox, reference, registry, concurrency=1, start=EARLY)
    assert dump(tmp_path / "limited.db") == dump(tmp_path / "reference.db")

    sandbox.set_faults(FaultConfig(pd_rate_limit=RATE, pd_rate_period=PERIOD))
    # three 429s in a row for one request may make it give up (as configured): either way
    with contextlib.suppress(ConnectorError):
        sync(sandbox, database(tmp_path / "unlimited.db"), registry, concurrency=8,
             rate_limit=None, max_429_retries=2, start=EARLY)
    tripped = sandbox.faults_injected["rate_limit"]
    sandbox.set_faults(None)
    assert tripped > 0


def test_clients_of_one_process_sharing_a_bucket_stay_under_the_limit(
    sandbox: Sandbox,
) -> None:
    """Two clients with one token (as two partitions would be), each in its own thread, one
    bucket (`shared_limiter` gives them one; tests/connectors/test_ratelimit.py): together
    they stay under the token's limit."""
    sandbox.set_faults(FaultConfig(pd_rate_limit=RATE, pd_rate_period=PERIOD))
    limiter = RateLimiter(RATE, period=PERIOD)
    clients = [pagerduty(sandbox, limiter=limiter) for _ in range(2)]

    def read(client: PagerDutyClient) -> None:
        for _ in range(8):
            list(client.services())

    threads = [threading.Thread(target=read, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    refused = sandbox.faults_injected["rate_limit"]
    served = sum(sandbox.requests.values())
    sandbox.set_faults(None)
    assert served == 16 and refused == 0
