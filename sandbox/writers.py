"""Small builders that write issues, histories, incidents and log entries into a world while
keeping each object's current state (status, assignee, resolution, `updated`) consistent with its
history. Generation creates objects out of time order; `finalize` then numbers them the way the
vendors would (ids and keys rising with creation time) and builds the indexes once.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from .catalog import PRIORITIES, RESOLUTIONS, pd_id
from .data import History, Incident, Issue, Item, LogEntry, Ref, World
from .timefmt import MINUTE_MS


class Unset(Enum):
    UNSET = 0


UNSET = Unset.UNSET
AssigneeArg = str | None | Literal[Unset.UNSET]


class JiraWriter:
    """Creates issues and appends histories; `at` times are clamped to stay after `updated`."""

    def __init__(self, world: World, end_ms: int | None = None) -> None:
        self.world = world
        self.end_ms = end_ms
        self.issues: list[Issue] = []

    def create(
        self,
        project: str,
        created: int,
        summary: str,
        *,
        reporter: str | None,
        assignee: str | None = None,
        status: str | None = None,
        labels: tuple[str, ...] = (),
        issuetype: str = "Task",
        priority: str = "Medium",
    ) -> Issue:
        initial = status or self.world.projects[project].workflow[0]
        issue = Issue(
            id=0,
            key="",
            project=project,
            summary=summary,
            issuetype=issuetype,
            priority=priority,
            labels=labels,
            reporter=reporter,
            created=created,
            updated=created,
            status=initial,
            assignee=assignee,
        )
        self.issues.append(issue)
        return issue

    def change(
        self,
        issue: Issue,
        at: int,
        author: str,
        *,
        status: str | None = None,
        assignee: AssigneeArg = UNSET,
        priority: str | None = None,
        resolution: str = "Done",
        assignee_first: bool = False,
    ) -> History | None:
        """Append one history holding every field that actually changes; None if nothing does
        or the time falls past the world's end."""
        at = max(at, issue.updated + MINUTE_MS)
        if self.end_ms is not None and at >= self.end_ms:
            return None
        status_items: list[Item] = []
        if status is not None and status != issue.status:
            status_items.extend(self._status_items(issue, status, at, resolution))
        assignee_items: list[Item] = []
        if assignee is not UNSET and assignee != issue.assignee:
            assignee_items.append(("assignee", issue.assignee, assignee))
            issue.assignee = assignee
        other: list[Item] = []
        if priority is not None and priority != issue.priority:
            other.append(("priority", PRIORITIES[issue.priority], PRIORITIES[priority]))
            issue.priority = priority
        items = (
            assignee_items + status_items + other
            if assignee_first
            else status_items + assignee_items + other
        )
        if not items:
            return None
        return self.append(issue, at, author, tuple(items))

    def append(self, issue: Issue, at: int, author: str, items: tuple[Item, ...]) -> History:
        """Append a history as given (the caller has applied its effect on the issue)."""
        history = History(id=0, author=author, created=at, items=items)
        issue.histories.append(history)
        issue.updated = at
        return history

    def _status_items(self, issue: Issue, status: str, at: int, resolution: str) -> list[Item]:
        statuses = self.world.statuses
        old, new = statuses[issue.status], statuses[status]
        items: list[Item] = [("status", old.id, new.id)]
        if new.category == "done" and old.category != "done":
            items.append(("resolution", None, RESOLUTIONS[resolution]))
            issue.resolution, issue.resolutiondate = resolution, at
        elif old.category == "done" and new.category != "done" and issue.resolution:
            items.append(("resolution", RESOLUTIONS[issue.resolution], None))
            issue.resolution, issue.resolutiondate = None, None
        issue.status = status
        return items


class PDWriter:
    """Creates incidents and their log entries (kept oldest first on each incident)."""

    def __init__(self, world: World, end_ms: int | None = None) -> None:
        self.world = world
        self.end_ms = end_ms
        self.incidents: list[Incident] = []
        self._order = 0

    def incident(
        self,
        service_id: str,
        created: int,
        title: str,
        *,
        urgency: str = "high",
        policy_id: str | None = None,
    ) -> Incident:
        policy = policy_id or self.world.services[service_id].policy_id
        incident = Incident(
            id="",
            number=0,
            title=title,
            service_id=service_id,
            policy_id=policy,
            urgency=urgency,
            created=created,
            incident_key="",
        )
        self.incidents.append(incident)
        return incident

    def log(
        self,
        incident: Incident,
        kind: str,
        at: int,
        agent: Ref | None,
        channel: str,
        assignees: tuple[str, ...] = (),
        note: str = "",
    ) -> LogEntry | None:
        if incident.log:
            at = max(at, incident.log[-1].created)
        if self.end_ms is not None and at >= self.end_ms:
            return None
        self._order += 1
        entry = LogEntry(
            id="",
            type=f"{kind}_log_entry",
            created=at,
            incident_id="",
            agent=agent,
            channel=channel,
            assignees=assignees,
            seq=self._order,
            note=note,
        )
        incident.log.append(entry)
        return entry


def finalize(world: World, jira: JiraWriter, pd: PDWriter) -> None:
    """Number everything in creation order and build the indexes."""
    order = {id(issue): position for position, issue in enumerate(jira.issues)}
    issues = sorted(jira.issues, key=lambda i: (i.created, order[id(i)]))
    for issue in issues:
        issue.id, issue.key = world.allocate_issue(issue.project)
    histories = [
        (history.created, issue.id, position, history)
        for issue in issues
        for position, history in enumerate(issue.histories)
    ]
    histories.sort(key=lambda row: (row[0], row[1], row[2]))
    for row in histories:
        row[3].id = world.allocate_history_id()
    world.index_issues(issues)

    incidents = sorted(pd.incidents, key=lambda i: i.created)
    first_number = 1000 + len(world.incidents)
    for position, incident in enumerate(incidents):
        incident.id = pd_id("Q", len(world.incidents) + position + 1)
        incident.number = first_number + position + 1
        incident.incident_key = f"{incident.id.lower()}{incident.number:06x}"
    entries = [
        (entry.created, entry.seq, incident, entry)
        for incident in incidents
        for entry in incident.log
    ]
    entries.sort(key=lambda row: (row[0], row[1]))
    for _, _, incident, entry in entries:
        entry.seq = world.allocate_log_seq()
        entry.incident_id = incident.id
    # PagerDuty's ids are random: nothing about their order says which of two entries of one
    # second came first. The sandbox hands the ids of a second out in reverse, so a client
    # that breaks ties by id gets them wrong here rather than by luck on the real service.
    start = 0
    while start < len(entries):
        stop = start
        while stop < len(entries) and entries[stop][0] == entries[start][0]:
            stop += 1
        run = [row[3] for row in entries[start:stop]]
        for entry, mirror in zip(run, reversed(run), strict=True):
            entry.id = pd_id("R", mirror.seq + 1, width=13)
        start = stop
    world.index_incidents(incidents)
