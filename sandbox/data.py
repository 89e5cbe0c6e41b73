"""The in-memory world the sandbox serves: Jira people, issues with histories, PagerDuty users,
services, escalation policies and incidents with log entries.

Everything is kept compact (slotted classes, ints for times, tuples for changelog items) and
rendered to the vendors' JSON only when a response needs it, so a scale world of 100,000 issues
and 50,000 incidents fits in memory and builds quickly. Range queries go through sorted lists of
`(time_ms, id)` keys searched with `bisect`.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field

# --- Jira ---------------------------------------------------------------------------------------

#: A changelog item: (fieldId, from, to). Display strings are derived when rendering.
Item = tuple[str, "str | None", "str | None"]

STATUS_CATEGORIES: dict[str, tuple[int, str, str]] = {
    # key: (id, colorName, name) as Jira Cloud names its three status categories
    "new": (2, "blue-gray", "To Do"),
    "indeterminate": (4, "yellow", "In Progress"),
    "done": (3, "green", "Done"),
}


@dataclass(slots=True, frozen=True)
class Status:
    id: str
    name: str
    category: str  # "new" | "indeterminate" | "done"


@dataclass(slots=True)
class JiraUser:
    account_id: str
    display_name: str
    email: str | None
    account_type: str = "atlassian"  # "atlassian" | "app"
    time_zone: str = "Europe/Berlin"
    active: bool = True


@dataclass(slots=True, frozen=True)
class Project:
    id: str
    key: str
    name: str
    workflow: tuple[str, ...]  # main path of status names, first = initial, last = done


@dataclass(slots=True)
class History:
    id: int
    author: str  # accountId
    created: int  # epoch ms
    items: tuple[Item, ...]


@dataclass(slots=True)
class Issue:
    id: int
    key: str
    project: str
    summary: str
    issuetype: str
    priority: str
    labels: tuple[str, ...]
    reporter: str | None
    created: int
    updated: int
    status: str  # status name
    assignee: str | None  # accountId
    resolution: str | None = None
    resolutiondate: int | None = None
    histories: list[History] = field(default_factory=list)


# --- PagerDuty ----------------------------------------------------------------------------------

#: A reference on a log entry: (type, id), e.g. ("user_reference", "PSAMR01").
Ref = tuple[str, str]


@dataclass(slots=True)
class PDUser:
    id: str
    name: str
    email: str
    role: str = "user"
    time_zone: str = "Europe/Berlin"
    job_title: str = ""


@dataclass(slots=True)
class EscalationPolicy:
    id: str
    name: str
    rules: tuple[tuple[int, tuple[str, ...]], ...]  # (escalation_delay_in_minutes, user ids)
    num_loops: int = 0


@dataclass(slots=True)
class Service:
    id: str
    name: str
    policy_id: str
    created: int
    description: str = ""


@dataclass(slots=True)
class LogEntry:
    id: str
    type: str  # e.g. "assign_log_entry"
    created: int
    incident_id: str
    agent: Ref | None
    channel: str  # "auto", "timeout", "api", "web_trigger", "website", ...
    assignees: tuple[str, ...] = ()
    seq: int = 0  # global creation order, breaks timestamp ties
    note: str = ""


@dataclass(slots=True)
class Incident:
    id: str
    number: int
    title: str
    service_id: str
    policy_id: str
    urgency: str
    created: int
    incident_key: str
    log: list[LogEntry] = field(default_factory=list)  # oldest first

    def status(self) -> str:
        status = "triggered"
        for entry in self.log:
            if entry.type == "acknowledge_log_entry":
                status = "acknowledged"
            elif entry.type == "resolve_log_entry":
                status = "resolved"
            elif entry.type in ("unacknowledge_log_entry", "escalate_log_entry"):
                status = "triggered" if status != "resolved" else status
        return status

    def assignees(self) -> tuple[str, ...]:
        """Current assignees: the last assignment, none once resolved."""
        current: tuple[str, ...] = ()
        for entry in self.log:
            if entry.assignees:
                current = entry.assignees
            if entry.type == "resolve_log_entry":
                current = ()
        return current

    def updated(self) -> int:
        return self.log[-1].created if self.log else self.created


# --- the world ----------------------------------------------------------------------------------


@dataclass(slots=True)
class PlantedCase:
    """A deliberate situation in the demo world, for later engineers to assert on."""

    name: str
    source: str  # "jira" | "pagerduty"
    item: str  # Jira key or PagerDuty incident id
    at: int  # epoch ms of the decisive event
    expected: str  # what the SPEC rules should make of it
    description: str
    history_id: int | None = None
    log_entry_id: str | None = None


class World:
    """The data plus the indexes the handlers query. Mutate only through the methods here, under
    `lock`, so the indexes stay in step with the objects."""

    def __init__(self, *, jira_time_zone: str, mode: str, seed: int) -> None:
        self.lock = threading.RLock()
        self.mode = mode
        self.seed = seed
        self.jira_time_zone = jira_time_zone
        self.statuses: dict[str, Status] = {}
        self.status_by_id: dict[str, Status] = {}
        self.users: dict[str, JiraUser] = {}
        self.projects: dict[str, Project] = {}
        self.issues: dict[int, Issue] = {}
        self.issues_by_key: dict[str, Issue] = {}
        self.pd_users: dict[str, PDUser] = {}
        self.policies: dict[str, EscalationPolicy] = {}
        self.services: dict[str, Service] = {}
        self.incidents: dict[str, Incident] = {}
        self.log_entries: dict[str, LogEntry] = {}
        self.planted: dict[str, PlantedCase] = {}
        # indexes: sorted (time_ms, id) keys
        self.updated_index: list[tuple[int, int]] = []
        self.project_index: dict[str, list[tuple[int, int]]] = {}
        self.incident_index: list[tuple[int, str]] = []
        self.service_index: dict[str, list[tuple[int, str]]] = {}
        self.log_index: list[tuple[int, int, str]] = []  # (created, seq, id)
        self.next_issue_id = 10000
        self.next_history_id = 100000
        self.next_log_seq = 0
        self.project_counters: dict[str, int] = {}

    # --- reference data -------------------------------------------------------------------------

    def add_status(self, status: Status) -> None:
        self.statuses[status.name] = status
        self.status_by_id[status.id] = status

    def add_project(self, project: Project) -> None:
        self.projects[project.key] = project
        self.project_index.setdefault(project.key, [])
        self.project_counters.setdefault(project.key, 0)

    # --- Jira -----------------------------------------------------------------------------------

    def allocate_issue(self, project: str) -> tuple[int, str]:
        issue_id = self.next_issue_id
        self.next_issue_id += 1
        self.project_counters[project] += 1
        return issue_id, f"{project}-{self.project_counters[project]}"

    def allocate_history_id(self) -> int:
        history_id = self.next_history_id
        self.next_history_id += 1
        return history_id

    def index_issues(self, issues: Iterable[Issue]) -> None:
        """Bulk insert, then sort the indexes once (generation path)."""
        for issue in issues:
            self.issues[issue.id] = issue
            self.issues_by_key[issue.key] = issue
            self.updated_index.append((issue.updated, issue.id))
            self.project_index[issue.project].append((issue.updated, issue.id))
        self.updated_index.sort()
        for keys in self.project_index.values():
            keys.sort()

    def add_issue(self, issue: Issue) -> None:
        self.issues[issue.id] = issue
        self.issues_by_key[issue.key] = issue
        insort(self.updated_index, (issue.updated, issue.id))
        insort(self.project_index[issue.project], (issue.updated, issue.id))

    def touch_issue(self, issue: Issue, updated: int) -> None:
        """Move an issue in the `updated` indexes."""
        old = (issue.updated, issue.id)
        for keys in (self.updated_index, self.project_index[issue.project]):
            position = bisect_left(keys, old)
            if position < len(keys) and keys[position] == old:
                del keys[position]
            insort(keys, (updated, issue.id))
        issue.updated = updated

    def issue(self, id_or_key: str) -> Issue | None:
        if id_or_key.isdigit():
            return self.issues.get(int(id_or_key))
        return self.issues_by_key.get(id_or_key.upper())

    # --- PagerDuty ------------------------------------------------------------------------------

    def index_incidents(self, incidents: Iterable[Incident]) -> None:
        for incident in incidents:
            self.incidents[incident.id] = incident
            self.incident_index.append((incident.created, incident.id))
            self.service_index.setdefault(incident.service_id, []).append(
                (incident.created, incident.id)
            )
            for entry in incident.log:
                self.log_entries[entry.id] = entry
                self.log_index.append((entry.created, entry.seq, entry.id))
        self.incident_index.sort()
        for keys in self.service_index.values():
            keys.sort()
        self.log_index.sort()

    def add_incident(self, incident: Incident) -> None:
        self.incidents[incident.id] = incident
        insort(self.incident_index, (incident.created, incident.id))
        insort(
            self.service_index.setdefault(incident.service_id, []), (incident.created, incident.id)
        )
        for entry in incident.log:
            self.add_log_entry(incident, entry, append=False)

    def add_log_entry(self, incident: Incident, entry: LogEntry, *, append: bool = True) -> None:
        if append:
            incident.log.append(entry)
            incident.log.sort(key=lambda e: (e.created, e.seq))
        self.log_entries[entry.id] = entry
        insort(self.log_index, (entry.created, entry.seq, entry.id))

    def allocate_log_seq(self) -> int:
        seq = self.next_log_seq
        self.next_log_seq += 1
        return seq

    # --- facts ----------------------------------------------------------------------------------

    def latest_ms(self) -> int:
        """The latest timestamp anywhere in the world (mutations are placed after it)."""
        latest = 0
        if self.updated_index:
            latest = self.updated_index[-1][0]
        if self.log_index:
            latest = max(latest, self.log_index[-1][0])
        if self.incident_index:
            latest = max(latest, self.incident_index[-1][0])
        return latest

    def summary(self) -> str:
        histories = sum(len(issue.histories) for issue in self.issues.values())
        return (
            f"{len(self.issues)} issues ({histories} histories), {len(self.incidents)} incidents "
            f"({len(self.log_entries)} log entries)"
        )
