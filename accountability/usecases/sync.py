"""Incremental, resumable sync of Jira and PagerDuty into storage (SPEC §2, §4, §9).

The run's start time is frozen as the upper bound of every query; a partition's cursor moves
only in the transaction that commits the batch before it, so a crash anywhere resumes from the
last committed batch, and the overlap window plus idempotent upserts make the re-read harmless.
Records that cannot be understood are quarantined with their reason, and the sync goes on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.errors import ConfigError, UsageError
from accountability.config.settings import Settings, require_jira, require_pagerduty_token
from connectors.errors import MalformedResponseError
from connectors.jira import JiraClient, build_jql
from connectors.pagerduty import PagerDutyClient
from rules.ownership import MalformedRecordError
from rules.registry import Registry
from storage import ingest, repo
from storage.engine import session_scope

JIRA_FIELDS = (
    "summary", "status", "assignee", "project", "labels", "created", "updated", "issuetype",
    "resolutiondate",
)
DEFAULT_OVERLAP = timedelta(minutes=10)
DEFAULT_LOOKBACK = timedelta(days=90)
JIRA_BATCH = 1000  # one bulk changelog request per batch (its limit is 1,000 issues)
INCIDENT_CHUNK = timedelta(days=7)
LOG_ENTRY_CHUNK = timedelta(days=7)
LOG_ENTRY_BATCH = 1000  # log entries written per transaction within a window

Progress = Callable[[str, int], None]  # (partition, records just handled)


@dataclass
class SyncSummary:
    """What one partition's sync did; summed for the CLI's one-line report."""

    source: str
    partition: str
    items: int = 0
    changes: int = 0
    quarantined: int = 0
    skipped: int = 0
    seconds: float = 0.0
    cursor: datetime | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JiraPartition:
    """One workflow's query over one project: the unit of cursors and parallelism."""

    workflow: str
    project: str
    jql: str | None

    @property
    def name(self) -> str:
        return f"{self.workflow}/{self.project}"

    @property
    def fingerprint(self) -> str:
        """Changes when the query changes, so a new jql re-reads from the start."""
        return hashlib.sha256(f"{self.project}\n{self.jql or ''}".encode()).hexdigest()[:16]


def jira_partitions(registry: Registry) -> list[JiraPartition]:
    return [
        JiraPartition(workflow_id, project, workflow.sources.jira.jql)
        for workflow_id, workflow in registry.workflows.items()
        if workflow.sources.jira is not None
        for project in workflow.sources.jira.projects
    ]


def pagerduty_services(registry: Registry) -> list[str]:
    return sorted(
        {
            service
            for workflow in registry.workflows.values()
            if workflow.sources.pagerduty is not None
            for service in workflow.sources.pagerduty.services
        }
    )


def first_sync_start(now: datetime, sync_start: datetime | None) -> datetime:
    return sync_start if sync_start is not None else now - DEFAULT_LOOKBACK


def _lower_bound(
    cursor: datetime | None, full: bool, start: datetime, overlap: timedelta
) -> datetime:
    """The closed lower bound: the cursor minus an overlap (late-indexed updates), or start."""
    if full or cursor is None:
        return start
    return cursor - overlap


# --- Jira -----------------------------------------------------------------------------------


def sync_jira_partition(
    factory: sessionmaker[Session],
    client: JiraClient,
    partition: JiraPartition,
    *,
    start: datetime,
    now: datetime,
    full: bool = False,
    overlap: timedelta = DEFAULT_OVERLAP,
    batch_size: int = JIRA_BATCH,
    progress: Progress | None = None,
    clock: Clock = system_clock,
) -> SyncSummary:
    """Stream the partition's issues updated in [cursor - overlap, now] into storage; rows
    are stamped with `clock` in the transaction that writes them."""
    began = time.monotonic()
    summary = SyncSummary("jira", partition.name)
    with session_scope(factory) as session:
        cursor, details = repo.get_cursor_with_details(session, "jira", partition.name)
    if cursor is not None and details.get("query") != partition.fingerprint:
        summary.notes.append("the workflow's jql changed: re-reading from the start")
        full = True
    lower = _lower_bound(cursor, full, start, overlap)
    jql = build_jql([partition.project], partition.jql, lower, now)
    batch: list[dict[str, Any]] = []
    for page in client.search(jql, JIRA_FIELDS):
        batch.extend(page)
        if len(batch) >= batch_size:
            _flush_jira(factory, client, partition, batch, summary, progress, clock)
            batch = []
    _flush_jira(factory, client, partition, batch, summary, progress, clock)
    with session_scope(factory) as session:
        repo.set_cursor(session, "jira", partition.name, now, now=clock(),
                        details={"query": partition.fingerprint})
    summary.cursor = now
    summary.seconds = time.monotonic() - began
    return summary


def _flush_jira(
    factory: sessionmaker[Session],
    client: JiraClient,
    partition: JiraPartition,
    issues: Sequence[Mapping[str, Any]],
    summary: SyncSummary,
    progress: Progress | None,
    clock: Clock,
) -> None:
    """Fetch the batch's full changelogs and commit issues, events and cursor together."""
    if not issues:
        return
    rows: list[dict[str, Any]] = []
    bad: list[tuple[str, str, object]] = []
    for issue in issues:
        try:
            rows.append(ingest.jira_issue_row(issue))
        except MalformedRecordError as exc:
            bad.append((str(issue.get("key") or issue.get("id") or "?"), str(exc), issue))
    fetched = client.changelogs([row["id"] for row in rows])
    histories, deleted = fetched.histories, set(fetched.missing)
    ready: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for row in rows:
        if row["id"] in deleted:
            summary.skipped += 1
            continue
        entry = (row, histories.get(row["id"], []))
        try:
            ingest.changelog_rows(row["id"], row["key"], entry[1])
        except MalformedRecordError as exc:
            bad.append((row["key"], f"changelog: {exc}", entry[1]))
            continue
        ready.append(entry)
    with session_scope(factory) as session:
        written = clock()
        summary.changes += ingest.save_jira_batch(session, ready, partition.workflow, written)
        for ref, reason, raw in bad:
            ingest.quarantine(session, "jira", ref, reason, _jsonable(raw), written)
        if ready:
            newest = max(row["updated"] for row, _ in ready)
            repo.set_cursor(session, "jira", partition.name, newest, now=written,
                            details={"query": partition.fingerprint})
    summary.items += len(ready)
    summary.quarantined += len(bad)
    if progress is not None:
        progress(partition.name, len(issues))


# --- PagerDuty ------------------------------------------------------------------------------


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
) -> list[SyncSummary]:
    """Incidents by creation window, then changes to any incident through log entries."""
    if not services:
        return []
    return [
        _sync_pd_incidents(factory, client, services, start, now, full, overlap, progress,
                           clock),
        _sync_pd_log_entries(factory, client, services, start, now, full, overlap, progress,
                             clock),
    ]


def _windows(
    lower: datetime, upper: datetime, step: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    while lower < upper:
        end = min(lower + step, upper)
        yield lower, end
        lower = end


def _sync_pd_incidents(
    factory: sessionmaker[Session],
    client: PagerDutyClient,
    services: Sequence[str],
    start: datetime,
    now: datetime,
    full: bool,
    overlap: timedelta,
    progress: Progress | None,
    clock: Clock,
) -> SyncSummary:
    began = time.monotonic()
    summary = SyncSummary("pagerduty", "incidents")
    with session_scope(factory) as session:
        cursor = repo.get_cursor(session, "pagerduty", "incidents")
    for since, until in _windows(_lower_bound(cursor, full, start, overlap), now, INCIDENT_CHUNK):
        rows, bad = _rows(client.incidents(services, since, until), ingest.pd_incident_row)
        with session_scope(factory) as session:
            written = clock()
            ingest.save_pd_incidents(session, rows, written)
            for ref, reason, raw in bad:
                ingest.quarantine(session, "pagerduty", ref, reason, raw, written)
            repo.set_cursor(session, "pagerduty", "incidents", until, now=written)
        summary.items += len(rows)
        summary.quarantined += len(bad)
        summary.cursor = until
        if progress is not None:
            progress("pagerduty/incidents", len(rows) + len(bad))
    summary.seconds = time.monotonic() - began
    return summary


def _sync_pd_log_entries(
    factory: sessionmaker[Session],
    client: PagerDutyClient,
    services: Sequence[str],
    start: datetime,
    now: datetime,
    full: bool,
    overlap: timedelta,
    progress: Progress | None,
    clock: Clock,
) -> SyncSummary:
    began = time.monotonic()
    summary = SyncSummary("pagerduty", "log_entries")
    tracked = set(services)
    with session_scope(factory) as session:
        cursor = repo.get_cursor(session, "pagerduty", "log_entries")
    lower = _lower_bound(cursor, full, start, overlap)
    for since, until in _windows(lower, now, LOG_ENTRY_CHUNK):
        # A busy account logs tens of thousands of entries a week: they are written
        # LOG_ENTRY_BATCH at a time (memory stays flat), and the cursor moves only once the
        # whole window is in, so a crash mid-window re-reads it (upserts make that harmless).
        tracked_entries = (e for e in client.log_entries(since, until)
                           if _service_of(e) in tracked)
        for entries in _batches(tracked_entries, LOG_ENTRY_BATCH):
            rows, bad = _rows(entries, ingest.pd_log_entry_row)
            with session_scope(factory) as session:
                written = clock()
                ingest.save_pd_incidents(session, _embedded_incidents(entries), written)
                summary.changes += ingest.save_pd_log_entries(session, rows, written)
                for ref, reason, raw in bad:
                    ingest.quarantine(session, "pagerduty", ref, reason, raw, written)
            summary.items += len(rows)
            summary.quarantined += len(bad)
            if progress is not None:
                progress("pagerduty/log_entries", len(entries))
        with session_scope(factory) as session:
            repo.set_cursor(session, "pagerduty", "log_entries", until, now=clock())
        summary.cursor = until
    summary.seconds = time.monotonic() - began
    return summary


def _batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """`records` in lists of at most `size`, read lazily (itertools.batched is Python 3.12+)."""
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _service_of(entry: Mapping[str, Any]) -> str | None:
    service = entry.get("service") or (entry.get("incident") or {}).get("service") or {}
    value = service.get("id") if isinstance(service, Mapping) else None
    return str(value) if value else None


def _embedded_incidents(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Log entries fetched with include[]=incidents carry their incident: keep its policy.

    An incident created before the sync window still needs its escalation policy for the
    automation rule; a malformed embedded copy is ignored (the incident sync owns quarantine).
    """
    rows: dict[str, dict[str, Any]] = {}
    for entry in entries:
        incident = entry.get("incident")
        if isinstance(incident, Mapping) and incident.get("type") == "incident":
            try:
                row = ingest.pd_incident_row(incident)
            except MalformedRecordError:
                continue
            rows[row["id"]] = row
    return list(rows.values())


def _rows(
    records: Iterable[Mapping[str, Any]],
    convert: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[str, str, object]]]:
    rows, bad = [], []
    for record in records:
        try:
            rows.append(convert(record))
        except MalformedRecordError as exc:
            bad.append((str(record.get("id") or "?"), str(exc), _jsonable(record)))
    return rows, bad


def _jsonable(value: object) -> object:
    """Quarantined payloads go into a JSON column; anything odd is kept as its repr."""
    if isinstance(value, Mapping | list | str | int | float | bool) or value is None:
        return value
    return repr(value)


# --- a whole run ----------------------------------------------------------------------------

SOURCES = ("jira", "pagerduty")


@dataclass
class SyncReport:
    """A whole run: its partitions, and requests counted per client (shared across threads)."""

    summaries: list[SyncSummary]
    requests: int
    retries: int
    seconds: float
    failures: list[SourceFailure] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(s.items for s in self.summaries)

    @property
    def changes(self) -> int:
        return sum(s.changes for s in self.summaries)

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.summaries)

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.summaries)

    def line(self) -> str:
        return (
            f"synced {self.items} items, {self.changes} new ownership changes, "
            f"{self.requests} requests ({self.retries} retries), {self.quarantined} quarantined, "
            f"{self.skipped} skipped, in {self.seconds:.1f} s"
        )

    def failure_line(self) -> str:
        """Which sources failed and why, in one sentence; empty when none did."""
        if not self.failures:
            return ""
        return "sync failed for " + "; ".join(f.line() for f in self.failures)


@dataclass(frozen=True)
class SourceFailure:
    """A partition whose sync gave up; the other partitions' work is committed regardless."""

    source: str  # "jira" or "pagerduty"
    partition: str
    error: str

    def line(self) -> str:
        return f"{self.source} {self.partition}: {self.error}"


@dataclass(frozen=True)
class SyncTargets:
    """What a run covers: derived from the registry, filtered by `--source`."""

    jira: tuple[JiraPartition, ...]
    pagerduty_services: tuple[str, ...]


def sync_targets(registry: Registry, source: str | None) -> SyncTargets:
    if source is not None and source not in SOURCES:
        raise UsageError(f"unknown source '{source}': use jira or pagerduty")
    return SyncTargets(
        jira=tuple(jira_partitions(registry)) if source in (None, "jira") else (),
        pagerduty_services=(
            tuple(pagerduty_services(registry)) if source in (None, "pagerduty") else ()
        ),
    )


def only_project(targets: SyncTargets, project: str) -> SyncTargets:
    """The Jira partitions of one project (a fanned-out sync's share); no PagerDuty."""
    jira = tuple(p for p in targets.jira if p.project == project)
    if not jira:
        known = ", ".join(sorted({p.project for p in targets.jira})) or "none"
        raise UsageError(f"no workflow reads Jira project '{project}' (projects: {known})")
    return SyncTargets(jira=jira, pagerduty_services=())


def fan_out(targets: SyncTargets) -> list[dict[str, str]]:
    """One flow run's parameters per source and Jira project: the unit several workers share."""
    runs = [{"source": "jira", "project": project}
            for project in sorted({p.project for p in targets.jira})]
    if targets.pagerduty_services:
        runs.append({"source": "pagerduty"})
    return runs


def open_jira(settings: Settings, throttle: Callable[[], None] | None = None) -> JiraClient:
    creds = require_jira(settings)
    return JiraClient(
        creds.url,
        email=creds.email,
        api_token=None if creds.is_pat else creds.token,
        pat=creds.token if creds.is_pat else None,
        ca_bundle=settings.ca_bundle,
        throttle=throttle,
    )


def open_pagerduty(
    settings: Settings, throttle: Callable[[], None] | None = None
) -> PagerDutyClient:
    token = require_pagerduty_token(settings)
    return PagerDutyClient(token, base_url=settings.pagerduty_api_url,
                           ca_bundle=settings.ca_bundle, throttle=throttle)


def check_credentials(settings: Settings, targets: SyncTargets) -> None:
    """Credentials for every source the run will read, checked without a network call, so a
    missing variable fails the run before anything is fetched or written."""
    if targets.jira:
        require_jira(settings)
    if targets.pagerduty_services:
        require_pagerduty_token(settings)


def preflight_jira(client: JiraClient) -> None:
    """One cheap call first: wrong credentials or a URL that is not Jira fail before any write."""
    try:
        client.account_timezone()
    except MalformedResponseError as exc:
        raise ConfigError(f"JIRA_URL does not answer like Jira: {exc}") from None


def preflight_pagerduty(client: PagerDutyClient) -> None:
    try:
        next(iter(client.escalation_policies()), None)
    except MalformedResponseError as exc:
        raise ConfigError(f"PAGERDUTY_API_URL does not answer like PagerDuty: {exc}") from None


def run_sync(
    settings: Settings,
    registry: Registry,
    factory: sessionmaker[Session],
    *,
    source: str | None = None,
    full: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    max_parallel: int = 3,
    raise_on_failure: bool = True,
    clock: Clock = system_clock,
) -> SyncReport:
    """Sync every partition the registry names; independent partitions run in parallel.

    Credentials are checked before anything is written; a failing partition does not stop
    the others from committing what they read. Its error is raised at the end, or, with
    `raise_on_failure=False` (the scheduled run, which evaluates what did sync), reported in
    `SyncReport.failures`.
    """
    began = time.monotonic()
    targets = sync_targets(registry, source)
    now = now or clock()
    start = first_sync_start(now, sync_start_of(settings))
    jobs: list[_Job] = []
    clients: list[JiraClient | PagerDutyClient] = []
    try:
        check_credentials(settings, targets)
        if targets.jira:
            jira = open_jira(settings)
            clients.append(jira)
            preflight_jira(jira)
            for partition in targets.jira:
                jobs.append(_Job("jira", partition.name,
                                 _jira_job(factory, jira, partition, start, now, full, progress,
                                           clock)))
        if targets.pagerduty_services:
            pagerduty = open_pagerduty(settings)
            clients.append(pagerduty)
            preflight_pagerduty(pagerduty)
            services = targets.pagerduty_services
            jobs.append(_Job("pagerduty", "services " + ", ".join(services),
                             lambda: sync_pagerduty(factory, pagerduty, services, start=start,
                                                    now=now, full=full, progress=progress,
                                                    clock=clock)))
        summaries, errors = _run_all(jobs, max_parallel)
        if errors and raise_on_failure:
            raise errors[0][1]
        return SyncReport(
            summaries,
            requests=sum(c.stats.requests for c in clients),
            retries=sum(c.stats.retries for c in clients),
            seconds=time.monotonic() - began,
            failures=[SourceFailure(job.source, job.name, str(exc)) for job, exc in errors],
        )
    finally:
        for client in clients:
            client.close()


@dataclass(frozen=True)
class _Job:
    source: str
    name: str
    run: Callable[[], list[SyncSummary]]


def _jira_job(
    factory: sessionmaker[Session],
    client: JiraClient,
    partition: JiraPartition,
    start: datetime,
    now: datetime,
    full: bool,
    progress: Progress | None,
    clock: Clock,
) -> Callable[[], list[SyncSummary]]:
    def job() -> list[SyncSummary]:
        return [sync_jira_partition(factory, client, partition, start=start, now=now,
                                    full=full, progress=progress, clock=clock)]

    return job


def _run_all(
    jobs: Sequence[_Job], max_parallel: int
) -> tuple[list[SyncSummary], list[tuple[_Job, Exception]]]:
    summaries: list[SyncSummary] = []
    errors: list[tuple[_Job, Exception]] = []
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(jobs) or 1))) as pool:
        futures = [(job, pool.submit(job.run)) for job in jobs]
        for job, future in futures:
            try:
                summaries.extend(future.result())
            except Exception as exc:  # collected: the other partitions still commit
                errors.append((job, exc))
    return summaries, errors


def sync_start_of(settings: Settings) -> datetime | None:
    if settings.sync_start is None:
        return None
    return datetime.combine(settings.sync_start, datetime.min.time(), tzinfo=UTC)
