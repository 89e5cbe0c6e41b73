"""Jira as a source: one partition per workflow and project, issues with full changelogs.

Issues updated in [cursor - overlap, now] come from `JiraClient.fetch` a batch of 1,000 at a
time, with their complete changelogs (Cloud: id-only search, then issue and changelog
bulkfetches in parallel; Data Center: search pages with the histories embedded, in parallel),
and issues, changelog items, ownership events and the cursor are committed together per batch,
in search order. An issue deleted between the search and the fetch is skipped, not fatal.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.errors import ConfigError
from accountability.config.settings import Settings, require_jira
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
    jsonable,
    reason_of,
    record_ref,
)
from connectors.errors import AuthError, ConnectorError, FatalAPIError, MalformedResponseError
from connectors.jira import Batch, Deployment, JiraClient, build_jql
from rules.registry import LoadedRegistry, Registry, RegistryIssue
from rules.registry.load import issue_at
from rules.sources import JIRA
from storage import ingest, repo
from storage.engine import session_scope, write_scope

JIRA_FIELDS = (
    "summary", "status", "assignee", "project", "labels", "created", "updated", "issuetype",
    "resolutiondate",
)
JIRA_BATCH = 1000  # one bulk changelog request per batch (its limit is 1,000 issues)
_DEPLOYMENTS: dict[tuple[int, str], Deployment] = {}
"""What a loaded `Settings` object learned its Jira to be (`/rest/api/2/serverInfo`), by the
object's id and the URL, while the object lives: the preflight asks, and every partition's
client of the same run starts from the answer (one dependent round trip less per partition).
Never by URL alone: another run, or a test's next sandbox on a reused port, asks anew."""


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
    return _sync(factory, client, partition, Window(start, now, full, overlap), batch_size,
                 progress, clock)


def _sync(
    factory: sessionmaker[Session],
    client: JiraClient,
    partition: JiraPartition,
    window: Window,
    batch_size: int,
    progress: Progress | None,
    clock: Clock,
    fetched: Callable[[], None] | None = None,
) -> SyncSummary:
    began = time.monotonic()
    summary = SyncSummary("jira", partition.name)
    with session_scope(factory) as session:
        cursor, details = repo.get_cursor_with_details(session, "jira", partition.name)
    full = window.full
    if cursor is not None and details.get("query") != partition.fingerprint:
        summary.notes.append("the workflow's jql changed: re-reading from the start")
        full = True
    jql = build_jql([partition.project], partition.jql, window.lower_bound(cursor, full),
                    window.now)
    for batch in client.fetch(jql, JIRA_FIELDS, batch_size=batch_size, fetched=fetched):
        _flush(factory, partition, batch, window.now, summary, progress, clock)
    with write_scope(factory) as session:
        repo.set_cursor(session, "jira", partition.name, window.now, now=clock(),
                        details={"query": partition.fingerprint})
    summary.cursor = window.now
    summary.seconds = time.monotonic() - began
    return summary


def _flush(
    factory: sessionmaker[Session],
    partition: JiraPartition,
    batch: Batch,
    now: datetime,
    summary: SyncSummary,
    progress: Progress | None,
    clock: Clock,
) -> None:
    """Commit one fetched batch: issues, events and cursor together.

    The cursor moves to the newest `updated` of the batch's issues that is before the run's
    frozen `now`: the batches come in search order (`updated` ascending), and an issue changed
    after the search (its fields are read later) carries an `updated` past `now`, which must not
    pull the cursor over issues of later batches not yet written. The next run reads such an
    issue again anyway (its `updated` is inside the next window)."""
    summary.skipped += len(batch.missing)
    bad: list[Quarantined] = [
        ("?", "search result without an issue id", raw) for raw in batch.unreadable
    ]
    if not batch.issues and not bad:
        if progress is not None and batch.missing:
            progress(partition.name, len(batch.missing))
        return
    rows: list[dict[str, Any]] = []
    for issue in batch.issues:
        try:
            rows.append(ingest.jira_issue_row(issue))
        except RECORD_ERRORS as exc:
            bad.append((record_ref(issue, "key", "id"), reason_of(exc), issue))
    ready: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    changelogs: list[list[dict[str, Any]]] = []
    for row in rows:
        entry = (row, batch.histories.get(row["id"], []))
        try:
            # Also what `save_jira_batch` derives events from: a history that passes here
            # cannot fail inside the batch's transaction.
            changelog = ingest.changelog_rows(row["id"], row["key"], entry[1])
        except RECORD_ERRORS as exc:
            bad.append((row["key"], f"changelog: {reason_of(exc)}", entry[1]))
            continue
        ready.append(entry)
        changelogs.append(changelog)
    events = ingest.jira_event_rows(ready)  # before the write lock: other partitions write
    with write_scope(factory) as session:
        written = clock()
        summary.changes += ingest.save_jira_batch(session, ready, partition.workflow, written,
                                                  changelogs, events)
        for ref, reason, raw in bad:
            ingest.quarantine(session, "jira", ref, reason, jsonable(raw), written)
        settled = [row["updated"] for row, _ in ready if row["updated"] < now]
        if settled:
            repo.set_cursor(session, "jira", partition.name, max(settled), now=written,
                            details={"query": partition.fingerprint})
    release_freed_memory()  # the batch is written: accountability/memory.py
    summary.items += len(ready)
    summary.quarantined += len(bad)
    if progress is not None:
        progress(partition.name, len(batch.issues) + len(batch.missing) + len(batch.unreadable))


def open_jira(
    settings: Settings,
    throttle: Throttle | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> JiraClient:
    """The sync's Jira client: rate limits waited out within the configured budget, the
    configured page, size and time limits. `sleep` is how retries wait (tests record it)."""
    creds = require_jira(settings)
    key = (id(settings), creds.url)

    def remember(found: Deployment) -> None:
        if key not in _DEPLOYMENTS:
            _DEPLOYMENTS[key] = found
            weakref.finalize(settings, _DEPLOYMENTS.pop, key, None)

    return JiraClient(
        creds.url,
        deployment=_DEPLOYMENTS.get(key),
        on_deployment=remember,
        max_concurrency=settings.jira_concurrency,
        email=creds.email,
        api_token=None if creds.is_pat else creds.token,
        pat=creds.token if creds.is_pat else None,
        ca_bundle=settings.ca_bundle,
        rate_limit_budget=settings.rate_limit_budget,
        limits=settings.request_limits(),
        sleep=sleep,
        throttle=throttle,
    )


def preflight_jira(client: JiraClient) -> None:
    """Two cheap calls first, side by side (one round trip): which Jira this is
    (`/rest/api/2/serverInfo`) and whose account (`/rest/api/2/myself`), both served by Cloud
    and Data Center alike. Wrong credentials or a URL that is not Jira fail before any write,
    with a message about *that* rather than a 404 from a path the site does not serve; the
    deployment's answer is read first, so a URL that is not Jira is reported as such."""
    client.ask_account_alongside()
    try:
        client.deployment()
    except MalformedResponseError as exc:
        raise ConfigError(f"JIRA_URL does not answer like Jira: {exc}") from None
    except FatalAPIError as exc:
        if isinstance(exc, AuthError):
            raise
        raise ConfigError(
            f"JIRA_URL does not answer like Jira: GET /rest/api/2/serverInfo, which Jira Cloud "
            f"and Data Center both serve, answered HTTP {exc.status} ({exc})"
        ) from None
    try:
        client.account_timezone()
    except MalformedResponseError as exc:
        raise ConfigError(f"JIRA_URL does not answer like Jira: {exc}") from None


@dataclass(frozen=True)
class JqlCheck:
    """Jira's verdict on the registry's jql clauses (`check_jql_with_jira`).

    Attributes:
        errors: one located issue per clause Jira refuses, naming the workflow and Jira's
            message.
        skipped: why Jira was not asked (no credentials, unreachable), or None.
    """

    errors: list[RegistryIssue]
    skipped: str | None = None


def check_jql_with_jira(
    settings: Settings,
    loaded: LoadedRegistry,
    connect: Callable[[Settings], JiraClient] | None = None,
) -> JqlCheck:
    """Ask Jira (`/rest/api/3/jql/parse`, strict) about every workflow's jql, in one call.

    The registry's static check keeps a clause inside its parentheses; only Jira knows whether
    its fields and values exist on this site. Without Jira credentials nothing is asked (and
    nothing said: validating a file needs no Jira); when Jira cannot answer, the check is
    skipped with the reason (the file itself is still valid).
    `connect` makes the client (tests); by default `open_jira(settings)`.
    """
    clauses = {wf_id: wf.sources.jira.jql for wf_id, wf in loaded.registry.workflows.items()
               if wf.sources.jira is not None and wf.sources.jira.jql
               and wf.sources.jira.jql.strip()}
    if not clauses:
        return JqlCheck([])
    try:
        require_jira(settings)
    except ConfigError:
        return JqlCheck([])  # nothing to ask with: the static check is all there is
    try:
        client = (connect or open_jira)(settings)
        with client:
            parsed = client.parse_jql([jql.strip() for jql in clauses.values()])
    except FatalAPIError as exc:
        if exc.status in (404, 405):
            return JqlCheck([], "this Jira has no /rest/api/3/jql/parse: the jql clauses were "
                                "not checked with Jira")
        return JqlCheck([], f"could not check the jql clauses with Jira: {exc}")
    except (ConnectorError, ValueError) as exc:
        return JqlCheck([], f"could not check the jql clauses with Jira: {exc}")
    errors = [
        issue_at(loaded, ("workflows", wf_id, "sources", "jira", "jql"),
                 f"Jira refuses workflow '{wf_id}''s jql: {'; '.join(verdict.errors)}")
        for wf_id, verdict in zip(clauses, parsed, strict=True) if verdict.errors
    ]
    return JqlCheck(errors)


class JiraSource:
    """Jira Cloud (REST v3) or Data Center (REST v2) through `connectors.jira`."""

    name = JIRA.name
    label = JIRA.label
    group_label: str | None = "Jira project"
    rate_limit = "jira-api"
    secret_variables: tuple[str, ...] = ("JIRA_API_TOKEN", "JIRA_PAT")

    def partitions(self, registry: Registry) -> list[Partition]:
        return [Partition(self.name, p.name, p.project, p) for p in jira_partitions(registry)]

    def check_credentials(self, settings: Settings) -> None:
        require_jira(settings)

    def connect(self, settings: Settings, throttle: Throttle | None = None) -> JiraClient:
        return open_jira(settings, throttle)

    def preflight(self, client: JiraClient) -> None:
        preflight_jira(client)

    def sync(
        self,
        factory: sessionmaker[Session],
        client: JiraClient,
        partition: Partition,
        window: Window,
        *,
        progress: Progress | None,
        clock: Clock,
        fetched: Callable[[], None] | None = None,
    ) -> list[SyncSummary]:
        return [_sync(factory, client, partition.spec, window, JIRA_BATCH, progress, clock,
                      fetched)]


SOURCE: Final = JiraSource()
