"""PagerDuty as a source: one partition for every service the registry names.

Incidents are read by creation window; every later change to any incident (assignments,
escalations, reassignments) arrives through the account's log entries, filtered to the tracked
services. Each has its own cursor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.errors import ConfigError
from accountability.config.settings import Settings, require_pagerduty_token
from accountability.memory import release_freed_memory
from accountability.sources.base import (
    DEFAULT_OVERLAP,
    RECORD_ERRORS,
    Partition,
    Progress,
    Quarantined,
    SyncSummary,
    Throttle,
    Window,
    batches,
    convert,
    prefetch_in_order,
    until_stopped,
    windows,
)
from connectors.errors import MalformedResponseError
from connectors.pagerduty import PAGERDUTY_CONCURRENCY, PagerDutyClient, applied_order
from rules.registry import Registry
from rules.sources import PAGERDUTY
from storage import ingest, repo
from storage.engine import session_scope, write_scope
from storage.models import PdIncident

INCIDENT_CHUNK = timedelta(days=7)
LOG_ENTRY_CHUNK = timedelta(days=7)
LOG_ENTRY_BATCH = 1000  # log entries written per transaction within a window
PREFETCH_BUDGET = 10_000
"""Records fetched ahead of the writer, about: 6 windows at once at 10,000 incidents a year
(~1,600 log entries a week), 1 at 50,000 (~8,100), where the rate limit, not the round trips,
sets the pace anyway."""


def pagerduty_services(registry: Registry) -> list[str]:
    return sorted(
        {
            service
            for workflow in registry.workflows.values()
            if workflow.sources.pagerduty is not None
            for service in workflow.sources.pagerduty.services
        }
    )


def sync_pagerduty(
    factory: sessionmaker[Session],
    client: PagerDutyClient,
    services: Sequence[str],
    *,
    start: datetime,
    now: datetime,
    full: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    progress: Progress | None = None,
    clock: Clock = system_clock,
    concurrency: int | None = None,
) -> list[SyncSummary]:
    """Incidents by creation window, then changes to any incident through log entries.

    The windows of each are fetched up to `concurrency` at a time (default: the client's) on
    a thread pool, under the client's rate limit; this thread writes them one window at a
    time in window order, each in its own transaction with its cursor, exactly as a
    sequential sync would (`prefetch_in_order`; fewer at a time when windows are big, so at
    most about PREFETCH_BUDGET records wait in memory). A failed window stops the sync at
    that window: every window before it is committed, its cursor stays at the last of them,
    nothing after it is written.
    """
    if not services:
        return []
    window = Window(start, now, full, overlap)
    tracked = set(services)
    depth = max(1, concurrency or getattr(client, "concurrency", PAGERDUTY_CONCURRENCY))
    with ThreadPoolExecutor(depth, thread_name_prefix="pagerduty-window") as pool:
        incident_jobs = (partial(_fetch_incidents, client, services, since, until)
                         for since, until in _windows_from_cursor(factory, "incidents", window,
                                                                  INCIDENT_CHUNK))
        with closing(prefetch_in_order(pool, incident_jobs, depth, size=_records,
                                       budget=PREFETCH_BUDGET)) as fetched:
            incidents = _sync_incidents(factory, fetched, progress, clock)
        log_jobs = (partial(_fetch_log_entries, client, tracked, since, until)
                    for since, until in _windows_from_cursor(factory, "log_entries", window,
                                                             LOG_ENTRY_CHUNK))
        with closing(prefetch_in_order(pool, log_jobs, depth, size=_records,
                                       budget=PREFETCH_BUDGET)) as fetched_logs:
            logs = _sync_log_entries(factory, client, pool, fetched_logs, progress, clock)
    return [incidents, logs]


def _windows_from_cursor(
    factory: sessionmaker[Session], partition: str, window: Window, step: timedelta
) -> list[tuple[datetime, datetime]]:
    with session_scope(factory) as session:
        cursor = repo.get_cursor(session, "pagerduty", partition)
    return list(windows(window.lower_bound(cursor), window.now, step))


@dataclass
class _IncidentWindow:
    """One creation window of incidents, fetched and converted off the writing thread."""

    until: datetime
    rows: list[dict[str, Any]]
    bad: list[Quarantined]


@dataclass
class _LogWindow:
    """One window of log entries: the tracked ones in listing order, with their same-second
    rank read off the whole listing before filtering (`applied_order`)."""

    since: datetime
    until: datetime
    entries: list[Any]
    ranks: dict[str, int]


def _records(window: _IncidentWindow | _LogWindow) -> int:
    if isinstance(window, _IncidentWindow):
        return len(window.rows) + len(window.bad)
    return len(window.entries)


def _fetch_incidents(
    client: PagerDutyClient,
    services: Sequence[str],
    since: datetime,
    until: datetime,
    stop: threading.Event,
) -> _IncidentWindow:
    rows, bad = convert(until_stopped(client.incidents(services, since, until), stop),
                        ingest.pd_incident_row)
    return _IncidentWindow(until, rows, bad)


def _fetch_log_entries(
    client: PagerDutyClient,
    tracked: set[str],
    since: datetime,
    until: datetime,
    stop: threading.Event,
) -> _LogWindow:
    """A window's tracked entries. Untracked ones are dropped here, in the fetching thread,
    so windows waiting to be written hold only what will be written."""
    ranks: dict[str, int] = {}
    listing = until_stopped(client.log_entries(since, until), stop)
    entries = _share_incidents([e for e in _ranked(listing, ranks) if _is_tracked(e, tracked)])
    kept = {e.get("id") for e in entries if isinstance(e, Mapping)}
    return _LogWindow(since, until, entries, {k: v for k, v in ranks.items() if k in kept})


def _sync_incidents(
    factory: sessionmaker[Session],
    fetched: Iterator[_IncidentWindow],
    progress: Progress | None,
    clock: Clock,
) -> SyncSummary:
    began = time.monotonic()
    summary = SyncSummary("pagerduty", "incidents")
    for fetched_window in fetched:
        rows, bad, until = fetched_window.rows, fetched_window.bad, fetched_window.until
        with write_scope(factory) as session:
            written = clock()
            ingest.save_pd_incidents(session, rows, written)
            for ref, reason, raw in bad:
                ingest.quarantine(session, "pagerduty", ref, reason, raw, written)
            repo.set_cursor(session, "pagerduty", "incidents", until, now=written)
        release_freed_memory()
        summary.items += len(rows)
        summary.quarantined += len(bad)
        summary.cursor = until
        if progress is not None:
            progress("pagerduty/incidents", len(rows) + len(bad))
    summary.seconds = time.monotonic() - began
    return summary


def _sync_log_entries(
    factory: sessionmaker[Session],
    client: PagerDutyClient,
    pool: Executor,
    fetched: Iterator[_LogWindow],
    progress: Progress | None,
    clock: Clock,
) -> SyncSummary:
    began = time.monotonic()
    summary = SyncSummary("pagerduty", "log_entries")
    started: set[str] = set()  # incidents whose own log this run has read
    for fetched_window in fetched:
        since, until, ranks = fetched_window.since, fetched_window.until, fetched_window.ranks
        # A busy account logs tens of thousands of entries a week: they are written
        # LOG_ENTRY_BATCH at a time, and the cursor moves only once the whole window is in,
        # so a crash mid-window re-reads it (upserts make that harmless).
        for entries in batches(fetched_window.entries, LOG_ENTRY_BATCH):
            rows, bad = convert(entries, ingest.pd_log_entry_row)
            _keep_ranks(rows, ranks)
            incidents = _embedded_incidents(entries)
            own, own_ranks = _own_logs(factory, client, pool, rows, incidents, since, started)
            own_rows, own_bad = convert(own, ingest.pd_log_entry_row)
            _keep_ranks(own_rows, own_ranks)
            with write_scope(factory) as session:
                written = clock()
                ingest.save_pd_incidents(session, incidents + _embedded_incidents(own), written)
                summary.changes += ingest.save_pd_log_entries(session, rows + own_rows, written)
                for ref, reason, raw in bad + own_bad:
                    ingest.quarantine(session, "pagerduty", ref, reason, raw, written)
            release_freed_memory()  # the batch is written: accountability/memory.py
            summary.items += len(rows) + len(own_rows)
            summary.quarantined += len(bad) + len(own_bad)
            if progress is not None:
                progress("pagerduty/log_entries", len(entries) + len(own))
        with write_scope(factory) as session:
            repo.set_cursor(session, "pagerduty", "log_entries", until, now=clock())
        summary.cursor = until
    summary.seconds = time.monotonic() - began
    return summary


def _share_incidents(entries: list[Any]) -> list[Any]:
    """One object for equal copies of an embedded incident (`include[]=incidents` repeats it in
    each of its entries, ~4 a incident): a window waiting for the writer then holds each
    incident about once. Only equal copies are shared, and nothing downstream mutates them, so
    every entry reads (and stores) what PagerDuty sent."""
    first: dict[str, Any] = {}
    for entry in entries:
        incident = entry.get("incident") if isinstance(entry, dict) else None
        if not isinstance(incident, dict) or not isinstance(incident.get("id"), str):
            continue
        kept = first.setdefault(incident["id"], incident)
        if kept is not incident and kept == incident:
            entry["incident"] = kept
    return entries


def _ranked(entries: Iterable[Any], ranks: dict[str, int]) -> Iterator[Any]:
    """`entries` as listed, noting each one's same-second rank (`applied_order`) in `ranks`.

    The rank is read off the listing before any filtering, so it is the order PagerDuty
    applied the entries; it is stored with the row (`tie_rank`) and orders the replay.
    """
    for entry, rank in applied_order(entries):
        entry_id = entry.get("id") if isinstance(entry, Mapping) else None
        if isinstance(entry_id, str):
            ranks[entry_id] = rank
        yield entry


def _keep_ranks(rows: list[dict[str, Any]], ranks: Mapping[str, int]) -> None:
    for row in rows:
        row["tie_rank"] = ranks.get(row["id"], 0)


def _own_logs(
    factory: sessionmaker[Session],
    client: PagerDutyClient,
    pool: Executor,
    rows: Sequence[Mapping[str, Any]],
    incidents: Sequence[Mapping[str, Any]],
    since: datetime,
    started: set[str],
) -> tuple[list[Any], dict[str, int]]:
    """The whole log of each incident of `rows` that began before `since` and whose trigger
    the database lacks (`/incidents/{id}/log_entries`), so its replay starts at its first
    assignment rather than "from nobody", with each entry's rank in its own listing. Read
    once per incident and run, several at a time on `pool`, and returned in incident order;
    an incident stored whole is never read again."""
    created: dict[str, datetime | None] = {}
    for row in rows:
        if row["type"] == "trigger_log_entry":
            started.add(row["incident_id"])
        elif row["incident_id"] not in started:
            created.setdefault(row["incident_id"], None)
    by_id = {incident["id"]: incident["created_at"] for incident in incidents}
    with session_scope(factory) as session:
        for incident_id in created:
            created[incident_id] = by_id.get(incident_id) or session.scalar(
                select(PdIncident.created_at).where(PdIncident.id == incident_id))
        missing = ingest.incidents_missing_their_start(session, created, since)
    started.update(missing)
    own: list[Any] = []
    ranks: dict[str, int] = {}
    for entries, entry_ranks in pool.map(partial(_own_log, client), missing):
        own.extend(entries)
        ranks.update(entry_ranks)
    return own, ranks


def _own_log(client: PagerDutyClient, incident_id: str) -> tuple[list[Any], dict[str, int]]:
    ranks: dict[str, int] = {}
    entries = list(_ranked(client.incident_log_entries(incident_id), ranks))
    return entries, ranks


def _is_tracked(entry: object, tracked: set[str]) -> bool:
    """Whether a log entry belongs to a tracked service.

    An entry whose service cannot be read because something has the wrong shape (the entry,
    its incident or its service is not an object) is kept: it may be one of ours, and the
    quarantine shows it with its reason instead of the run failing or dropping it unseen.
    An entry that plainly names no service is not ours.
    """
    if not isinstance(entry, Mapping):
        return True
    incident = entry.get("incident")
    if incident is not None and not isinstance(incident, Mapping):
        return True
    service = entry.get("service") or (incident or {}).get("service")
    if service is not None and not isinstance(service, Mapping):
        return True
    value = service.get("id") if service else None
    return bool(value) and str(value) in tracked


def _embedded_incidents(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Log entries fetched with include[]=incidents carry their incident: keep its policy.

    An incident created before the sync window still needs its escalation policy for the
    automation rule; a malformed embedded copy is ignored (the incident sync owns quarantine).
    """
    rows: dict[str, dict[str, Any]] = {}
    for entry in entries:
        incident = entry.get("incident") if isinstance(entry, Mapping) else None
        if isinstance(incident, Mapping) and incident.get("type") == "incident":
            try:
                row = ingest.pd_incident_row(incident)
            except RECORD_ERRORS:
                continue
            rows[row["id"]] = row
    return list(rows.values())


def open_pagerduty(
    settings: Settings,
    throttle: Throttle | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> PagerDutyClient:
    """The sync's PagerDuty client: at most `ACCOUNTABILITY_PAGERDUTY_RATE_LIMIT` requests a
    minute from this process with this token (one bucket for every client and thread), and
    `ACCOUNTABILITY_PAGERDUTY_CONCURRENCY` windows at once; 429s waited out within the
    configured time budget (no count limit: six 429s of 1 s each are a busy minute, not a
    failure), the configured page, size and time limits. `sleep` is how retries wait (tests
    record it)."""
    token = require_pagerduty_token(settings)
    return PagerDutyClient(token, base_url=settings.pagerduty_api_url,
                           ca_bundle=settings.ca_bundle, throttle=throttle,
                           max_429_retries=None, rate_limit_budget=settings.rate_limit_budget,
                           limits=settings.request_limits(), sleep=sleep,
                           rate_limit=settings.pagerduty_rate_limit,
                           concurrency=settings.pagerduty_concurrency)


def preflight_pagerduty(client: PagerDutyClient) -> None:
    try:
        next(iter(client.escalation_policies()), None)
    except MalformedResponseError as exc:
        raise ConfigError(f"PAGERDUTY_API_URL does not answer like PagerDuty: {exc}") from None


class PagerDutySource:
    """PagerDuty REST v2 through `connectors.pagerduty`."""

    name = PAGERDUTY.name
    label = PAGERDUTY.label
    group_label: str | None = None
    rate_limit = "pagerduty-api"
    secret_variables: tuple[str, ...] = ("PAGERDUTY_API_TOKEN",)

    def partitions(self, registry: Registry) -> list[Partition]:
        services = tuple(pagerduty_services(registry))
        if not services:
            return []
        return [Partition(self.name, "services " + ", ".join(services), None, services)]

    def check_credentials(self, settings: Settings) -> None:
        require_pagerduty_token(settings)

    def requests_per_minute(self, settings: Settings) -> int:
        """`ACCOUNTABILITY_PAGERDUTY_RATE_LIMIT`: what the `pagerduty-api` limit must match."""
        return settings.pagerduty_rate_limit

    def connect(self, settings: Settings, throttle: Throttle | None = None) -> PagerDutyClient:
        return open_pagerduty(settings, throttle)

    def preflight(self, client: PagerDutyClient) -> None:
        preflight_pagerduty(client)

    def sync(
        self,
        factory: sessionmaker[Session],
        client: PagerDutyClient,
        partition: Partition,
        window: Window,
        *,
        progress: Progress | None,
        clock: Clock,
        fetched: Callable[[], None] | None = None,  # its windows write as they arrive
    ) -> list[SyncSummary]:
        return sync_pagerduty(factory, client, partition.spec, start=window.start,
                              now=window.now, full=window.full, overlap=window.overlap,
                              progress=progress, clock=clock)


SOURCE: Final = PagerDutySource()
