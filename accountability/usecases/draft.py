"""`registry draft`: read the sources' last days straight from the APIs, propose a workflow.

No registry and no database: the draft exists to write the first registry. Fetching reuses the
sync's connectors and query (`build_jql`, bulk changelogs, PagerDuty's windowed listings); the
analysis is `rules.draft`; the file is `accountability.messages.draft_yaml`, created
exclusively so that an existing file is never overwritten, not even by a race.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from accountability.config.errors import UsageError
from accountability.private_files import PRIVATE_FILE, private_dir
from accountability.sources.base import windows
from accountability.sources.pagerduty import INCIDENT_CHUNK, LOG_ENTRY_CHUNK
from connectors.errors import FatalAPIError
from connectors.jira import JiraClient, build_jql
from connectors.pagerduty import PagerDutyClient, applied_order
from rules.draft import (
    Account,
    AssigneeChange,
    Draft,
    IncidentEvent,
    IncidentHistory,
    IssueHistory,
    Period,
    StatusChange,
    draft_workflow,
)
from rules.ownership import (
    PAGERDUTY_OWNERSHIP_TYPES,
    MalformedRecordError,
    pagerduty_agent_kind,
    parse_timestamp,
)

DRAFT_FIELDS = ("status", "assignee", "created", "updated", "project")
BATCH = 1000  # issues per bulk changelog round (the endpoint's limit)
JIRA_APP_TYPES = frozenset({"app"})
"""Jira `accountType`s that are not people (`atlassian` and `customer` are)."""


@dataclass(frozen=True)
class DraftRequest:
    workflow: str
    projects: tuple[str, ...]
    jql: str | None
    services: tuple[str, ...]
    period: Period


@dataclass(frozen=True)
class DraftResult:
    request: DraftRequest
    draft: Draft
    timezone: str | None  # the Jira account's zone, if Jira was read
    skipped: int  # records that could not be read (named in `notes`)
    notes: tuple[str, ...]


def period_ending(now: datetime, days: int) -> Period:
    if days < 1:
        raise UsageError("--days must be at least 1")
    return Period(now - timedelta(days=days), now)


def build_draft(
    request: DraftRequest, jira: JiraClient | None, pagerduty: PagerDutyClient | None
) -> DraftResult:
    """Fetch the period's histories and analyse them; `NoDataError` when there are none."""
    accounts: list[Account] = []
    notes: list[str] = []
    issues: list[IssueHistory] = []
    timezone: str | None = None
    if request.projects:
        if jira is None:
            raise ValueError("Jira projects given without a Jira client")
        issues = list(_jira_histories(jira, request, accounts, notes))
        timezone = jira.account_timezone().key
    incidents: list[IncidentHistory] = []
    if request.services:
        if pagerduty is None:
            raise ValueError("PagerDuty services given without a PagerDuty client")
        incidents = _incident_histories(pagerduty, request, accounts, notes)
    draft = draft_workflow(issues, incidents, accounts, request.period)
    return DraftResult(request, draft, timezone, len(notes), tuple(notes))


def write_new_file(target: Path, content: str) -> Path:
    """Create `target` 0600 with `content`; an existing file is refused (`UsageError`), never
    replaced: `O_EXCL` makes the check and the creation one step."""
    private_dir(target.parent)
    try:
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        raise UsageError(f"{target} exists: the draft never overwrites a file") from None
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(content)
    return target


# --- Jira --------------------------------------------------------------------------------------


def _jira_histories(
    client: JiraClient, request: DraftRequest, accounts: list[Account], notes: list[str]
) -> Iterator[IssueHistory]:
    jql = build_jql(list(request.projects), request.jql, request.period.since,
                    request.period.until)
    try:
        batch: list[dict[str, Any]] = []
        for page in client.search(jql, DRAFT_FIELDS):
            batch.extend(page)
            if len(batch) >= BATCH:
                yield from _jira_batch(client, batch, accounts, notes)
                batch = []
        yield from _jira_batch(client, batch, accounts, notes)
    except FatalAPIError as exc:
        if exc.status == 400:  # Jira's answer to an unknown project or a bad clause
            raise UsageError(f"Jira refused the query for {', '.join(request.projects)}: "
                             f"{exc}") from None
        raise


def _jira_batch(
    client: JiraClient, issues: Sequence[Mapping[str, Any]], accounts: list[Account],
    notes: list[str],
) -> Iterator[IssueHistory]:
    if not issues:
        return
    fetched = client.changelogs([str(issue["id"]) for issue in issues])
    for issue in issues:
        issue_id = str(issue["id"])
        if issue_id in fetched.missing:
            continue
        try:
            yield jira_issue_history(issue, fetched.histories.get(issue_id, []), accounts)
        except (MalformedRecordError, KeyError, TypeError, AttributeError) as exc:
            notes.append(f"{issue.get('key', issue_id)}: skipped ({exc})")


def jira_issue_history(
    issue: Mapping[str, Any], histories: Iterable[Mapping[str, Any]], accounts: list[Account]
) -> IssueHistory:
    """One raw issue and its changelog as plain facts; every user object seen goes to
    `accounts` (emails are there when the site shows them)."""
    fields = issue["fields"]
    current_assignee = _jira_account(fields.get("assignee"), accounts)
    statuses: list[StatusChange] = []
    assignees: list[AssigneeChange] = []
    first_status: str | None = None
    first_assignee: str | None = current_assignee
    seen_assignee = False
    ordered = sorted(histories, key=lambda h: (parse_timestamp(h.get("created")),
                                               int(h["id"]) if str(h["id"]).isdigit() else 0))
    for history in ordered:
        at = parse_timestamp(history.get("created"))
        actor = _jira_account(history.get("author"), accounts)
        for item in history.get("items") or []:
            field = item.get("fieldId") or item.get("field")
            if field == "status":
                if first_status is None:
                    first_status = item.get("fromString")
                statuses.append(StatusChange(at, actor, str(item.get("toString") or "")))
            elif field == "assignee":
                before = item.get("from") or item.get("tmpFromAccountId")
                after = item.get("to") or item.get("tmpToAccountId")
                if not seen_assignee:
                    first_assignee = f"jira:{before}" if before else None
                    if before:
                        accounts.append(Account(f"jira:{before}", item.get("fromString")))
                    seen_assignee = True
                if after:
                    accounts.append(Account(f"jira:{after}", item.get("toString")))
                assignees.append(AssigneeChange(at, actor, f"jira:{after}" if after else None))
    status = fields.get("status") or {}
    return IssueHistory(
        key=str(issue["key"]),
        created=parse_timestamp(fields.get("created")),
        first_status=str(first_status or status["name"]),
        first_assignee=first_assignee,
        status_changes=tuple(statuses),
        assignee_changes=tuple(assignees),
    )


def _jira_account(user: object, accounts: list[Account]) -> str | None:
    if not isinstance(user, Mapping) or not user.get("accountId"):
        return None
    ref = f"jira:{user['accountId']}"
    email = user.get("emailAddress")
    accounts.append(Account(
        ref, user.get("displayName"), email if isinstance(email, str) and email else None,
        human=user.get("accountType") not in JIRA_APP_TYPES))
    return ref


# --- PagerDuty ---------------------------------------------------------------------------------


def _incident_histories(
    client: PagerDutyClient, request: DraftRequest, accounts: list[Account], notes: list[str]
) -> list[IncidentHistory]:
    """Incidents of the services created in the period, with their log entries of the period
    (the account-wide listing, filtered: a page per 100 entries instead of a call per
    incident), replayed in the order PagerDuty applied them."""
    period = request.period
    incidents: dict[str, dict[str, Any]] = {}
    for since, until in windows(period.since, period.until, INCIDENT_CHUNK):
        for incident in client.incidents(list(request.services), since, until):
            incidents[str(incident["id"])] = incident
    entries: dict[str, list[tuple[Mapping[str, Any], int]]] = {i: [] for i in incidents}
    for since, until in windows(period.since, period.until, LOG_ENTRY_CHUNK):
        for entry, rank in applied_order(client.log_entries(since, until)):
            incident_id = str((entry.get("incident") or {}).get("id"))
            if incident_id in entries:
                entries[incident_id].append((entry, rank))
    for user in client.users():
        accounts.append(Account(f"pagerduty:{user['id']}", user.get("name"), user.get("email")))
    histories: list[IncidentHistory] = []
    for incident_id, incident in incidents.items():
        try:
            histories.append(_incident_history(incident, entries[incident_id], accounts))
        except (MalformedRecordError, KeyError, TypeError, AttributeError) as exc:
            notes.append(f"incident {incident_id}: skipped ({exc})")
    return histories


def _incident_history(
    incident: Mapping[str, Any], entries: Sequence[tuple[Mapping[str, Any], int]],
    accounts: list[Account],
) -> IncidentHistory:
    events: list[IncidentEvent] = []
    ordered = sorted(entries, key=lambda e: (parse_timestamp(e[0].get("created_at")), e[1]))
    for entry, _ in ordered:
        agent = entry.get("agent")
        agent_id = agent.get("id") if isinstance(agent, Mapping) else None
        actor = f"pagerduty:{agent_id}" if agent_id else None
        if actor and isinstance(agent, Mapping):
            accounts.append(Account(actor, agent.get("summary"),
                                    human=pagerduty_agent_kind(agent) == "user"))
        kind = str(entry.get("type"))
        to: tuple[str, ...] | None = None
        if kind in PAGERDUTY_OWNERSHIP_TYPES:
            to = tuple(f"pagerduty:{a['id']}" for a in entry.get("assignees") or []
                       if a and a.get("id"))
        events.append(IncidentEvent(parse_timestamp(entry.get("created_at")), actor, kind, to))
    policy = incident.get("escalation_policy")
    return IncidentHistory(
        str(incident["id"]),
        parse_timestamp(incident.get("created_at")),
        str(policy["id"]) if isinstance(policy, Mapping) and policy.get("id") else None,
        tuple(events),
    )
