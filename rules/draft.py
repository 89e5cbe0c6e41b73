"""A draft registry workflow from what the sources show (SPEC §12, "Draft").

Pure: plain histories in (Jira issues' status and assignee changes, PagerDuty incidents'
ownership entries, the accounts seen), a `Draft` out, every proposal with its evidence. The
caller fetches and writes; nothing here reads a clock: the period is given.

The measures, said once:

* **item-hours in a status**: for every item, the time between entering and leaving a status,
  clipped to the period; who held it meanwhile comes from the assignee changes replayed on the
  same timeline. The **de-facto owner** of a status is the person holding its items for the
  largest share of those hours (unassigned hours count in the total, never as an owner).
* **terminal** statuses are those where most items that enter them stay.
* **waiting for a non-assignee**: a stay in a status that ends by a person who is not the item's
  assignee at that moment. A status where most exits are such is a candidate decision point,
  ranked by the hours items waited there; whoever releases them most often is the proposed
  approver. Exits by non-user agents (automation) are not waits for anybody.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)
TERMINAL_STAY_SHARE = 0.5
"""A status is terminal when at least this share of the items entering it never leave."""
DECISION_POINT_SHARE = 0.5
"""A status is a candidate decision point when at least this share of its exits by people were
made by somebody other than the assignee."""
MIN_DECISION_EXITS = 2
"""Fewer exits than this are too few to call a status a decision point."""
REASSIGNMENT = "reassignment"
INCIDENT_STAGE = "incident"


@dataclass(frozen=True)
class Account:
    """One identity seen in a source: `ref` is `jira:<accountId>` or `pagerduty:<id>`."""

    ref: str
    name: str | None = None
    email: str | None = None
    human: bool = True


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    actor: str | None  # account ref
    to_status: str


@dataclass(frozen=True)
class AssigneeChange:
    at: datetime
    actor: str | None
    to: str | None  # account ref, None for unassigned


@dataclass(frozen=True)
class IssueHistory:
    """One Jira issue: its first status and assignee (before any change), then the changes."""

    key: str
    created: datetime
    first_status: str
    first_assignee: str | None
    status_changes: tuple[StatusChange, ...] = ()
    assignee_changes: tuple[AssigneeChange, ...] = ()


@dataclass(frozen=True)
class IncidentEvent:
    """A PagerDuty log entry that assigns (`to` set: the assignees after it) or resolves."""

    at: datetime
    actor: str | None
    kind: str  # the log entry type
    to: tuple[str, ...] | None = None


@dataclass(frozen=True)
class IncidentHistory:
    id: str
    created: datetime
    escalation_policy: str | None
    events: tuple[IncidentEvent, ...] = ()


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @property
    def label(self) -> str:
        days = (self.until - self.since) / timedelta(days=1)
        return f"{self.since:%Y-%m-%d} to {self.until:%Y-%m-%d} ({days:g} days)"


@dataclass(frozen=True)
class ProposedPerson:
    id: str
    name: str
    email: str | None
    jira: str | None
    pagerduty: str | None
    evidence: str


@dataclass(frozen=True)
class ProposedStage:
    id: str
    statuses: tuple[str, ...]
    owner: str | None  # person id; None = nobody held its items: a blank to fill
    evidence: str
    terminal: bool = False
    pagerduty: bool = False


@dataclass(frozen=True)
class ProposedExecutor:
    person: str
    changes: int
    items: int
    evidence: str


@dataclass(frozen=True)
class ProposedDecisionPoint:
    decision: str
    status: str
    approver: str | None
    waiting_hours: float
    evidence: str


@dataclass(frozen=True)
class ProposedAutomation:
    id: str
    jira: str | None
    pagerduty: str | None
    changes: int
    evidence: str


@dataclass(frozen=True)
class Draft:
    """One workflow's proposal. What data cannot say (outcome and risk owner, approvers, a
    stage nobody holds) is absent here and written as a blank by the caller."""

    period: Period
    issues: int
    incidents: int
    people: tuple[ProposedPerson, ...]
    stages: tuple[ProposedStage, ...]
    executors: tuple[ProposedExecutor, ...]
    decision_points: tuple[ProposedDecisionPoint, ...]
    automation: tuple[ProposedAutomation, ...]
    escalation_policies: tuple[str, ...]


class NoDataError(ValueError):
    """Nothing happened in the period: there is nothing to propose."""


def draft_workflow(
    issues: Sequence[IssueHistory],
    incidents: Sequence[IncidentHistory],
    accounts: Iterable[Account],
    period: Period,
) -> Draft:
    """The draft of one workflow from its items' histories over `period`.

    Raises `NoDataError` when no issue and no incident overlaps the period: an empty draft
    would look like an answer.
    """
    issues = [i for i in issues if _overlaps(i.created, period)]
    incidents = [i for i in incidents if _overlaps(i.created, period)]
    if not issues and not incidents:
        raise NoDataError(f"no Jira issue and no PagerDuty incident in {period.label}")
    known = _merge_accounts(accounts)
    stays = [stay for issue in issues for stay in _stays(issue, period)]
    incident_holds = [h for incident in incidents for h in _incident_holds(incident, period)]
    seen = _refs_seen(issues, incidents)
    people, person_of = _people(known, seen, period)
    stages = _stages(issues, stays, incident_holds, person_of, period)
    return Draft(
        period=period,
        issues=len(issues),
        incidents=len(incidents),
        people=tuple(people),
        stages=tuple(stages),
        executors=tuple(_executors(issues, incidents, person_of, period)),
        decision_points=tuple(_decision_points(stays, known, person_of, period)),
        automation=tuple(_automation(issues, incidents, known, period)),
        escalation_policies=tuple(sorted(
            {i.escalation_policy for i in incidents if i.escalation_policy})),
    )


# --- timelines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stay:
    """An item's time in one status, clipped to the period, split by who held it."""

    item: str
    status: str
    rank: int  # position among the item's statuses, for ordering stages
    hours_by_holder: Mapping[str | None, float]
    exit_actor: str | None  # who moved it out (None: still there at the end)
    exited: bool
    holder_at_exit: str | None

    @property
    def hours(self) -> float:
        return sum(self.hours_by_holder.values())


def _overlaps(created: datetime, period: Period) -> bool:
    return created < period.until


def _stays(issue: IssueHistory, period: Period) -> list[_Stay]:
    status_changes = sorted(issue.status_changes, key=lambda c: c.at)
    assignee_changes = sorted(issue.assignee_changes, key=lambda c: c.at)
    bounds: list[tuple[datetime, str, str | None]] = [(issue.created, issue.first_status, None)]
    bounds += [(c.at, c.to_status, c.actor) for c in status_changes]
    stays: list[_Stay] = []
    for index, (start, status, _) in enumerate(bounds):
        following = bounds[index + 1] if index + 1 < len(bounds) else None
        end = following[0] if following else period.until
        exited = following is not None and end <= period.until
        lo, hi = max(start, period.since), min(end, period.until)
        if hi <= lo and not (exited and period.since <= end):
            continue
        hours = _holder_hours(issue, assignee_changes, lo, hi) if hi > lo else {}
        stays.append(_Stay(
            issue.key, status, index, hours,
            following[2] if exited and following else None, exited,
            _holder_at(issue, assignee_changes, end) if exited else None,
        ))
    return stays


def _holder_at(issue: IssueHistory, changes: Sequence[AssigneeChange], at: datetime) -> str | None:
    """The assignee just before `at` (a change at the same instant as the exit comes after)."""
    holder = issue.first_assignee
    for change in changes:
        if change.at >= at:
            break
        holder = change.to
    return holder


def _holder_hours(
    issue: IssueHistory, changes: Sequence[AssigneeChange], lo: datetime, hi: datetime
) -> dict[str | None, float]:
    hours: dict[str | None, float] = defaultdict(float)
    holder, cursor = issue.first_assignee, lo
    for change in changes:
        if change.at <= lo:
            holder = change.to
            continue
        if change.at >= hi:
            break
        hours[holder] += (change.at - cursor) / HOUR
        holder, cursor = change.to, change.at
    hours[holder] += (hi - cursor) / HOUR
    return dict(hours)


def _incident_holds(incident: IncidentHistory, period: Period) -> list[tuple[str, float]]:
    """(assignee ref, hours) of an incident until it resolves, clipped to the period."""
    holds: list[tuple[str, float]] = []
    holders: tuple[str, ...] = ()
    cursor = incident.created
    events = sorted(incident.events, key=lambda e: e.at)
    end = period.until
    for event in events:
        if event.at >= period.until:
            break
        _add_holds(holds, holders, cursor, event.at, period)
        cursor = event.at
        if event.to is not None:
            holders = event.to
        if event.kind == "resolve_log_entry":
            end = event.at
            holders = ()
            break
    _add_holds(holds, holders, cursor, end, period)
    return holds


def _add_holds(
    holds: list[tuple[str, float]], holders: tuple[str, ...], lo: datetime, hi: datetime,
    period: Period,
) -> None:
    lo, hi = max(lo, period.since), min(hi, period.until)
    if hi > lo:
        holds.extend((ref, (hi - lo) / HOUR) for ref in holders)


# --- people ------------------------------------------------------------------------------------


def _merge_accounts(accounts: Iterable[Account]) -> dict[str, Account]:
    """One account per ref, keeping whatever name and email any sighting had."""
    merged: dict[str, Account] = {}
    for account in accounts:
        old = merged.get(account.ref)
        if old is None:
            merged[account.ref] = account
        else:
            merged[account.ref] = Account(
                account.ref, old.name or account.name, old.email or account.email,
                old.human and account.human)
    return merged


def _refs_seen(
    issues: Sequence[IssueHistory], incidents: Sequence[IncidentHistory]
) -> Counter[str]:
    """How often each account appears (as assignee or actor) in the period's items."""
    seen: Counter[str] = Counter()
    for issue in issues:
        refs = [issue.first_assignee]
        refs += [c.actor for c in issue.status_changes]
        refs += [r for c in issue.assignee_changes for r in (c.actor, c.to)]
        seen.update(r for r in refs if r)
    for incident in incidents:
        for event in incident.events:
            seen.update(r for r in (event.actor, *(event.to or ())) if r)
    return seen


def _people(
    known: Mapping[str, Account], seen: Counter[str], period: Period
) -> tuple[list[ProposedPerson], dict[str, str]]:
    """People seen, one per email across Jira and PagerDuty; refs → person id."""
    groups: dict[str, list[Account]] = {}
    for ref in sorted(seen):
        account = known.get(ref, Account(ref))
        if not account.human:
            continue
        key = f"email:{account.email.lower()}" if account.email else f"ref:{ref}"
        groups.setdefault(key, []).append(account)
    people: list[ProposedPerson] = []
    person_of: dict[str, str] = {}
    taken: set[str] = set()
    for key in sorted(groups, key=lambda k: _sort_name(groups[k])):
        accounts = groups[key]
        jira = next((a.ref.split(":", 1)[1] for a in accounts if a.ref.startswith("jira:")), None)
        pd = next((a.ref.split(":", 1)[1] for a in accounts if a.ref.startswith("pagerduty:")),
                  None)
        name = next((a.name for a in accounts if a.name), None) or accounts[0].ref
        email = next((a.email for a in accounts if a.email), None)
        person_id = _unique_id(_person_slug(name, email), taken)
        appearances = sum(seen[a.ref] for a in accounts)
        sources = " and ".join(
            s for s, v in (("Jira", jira), ("PagerDuty", pd)) if v is not None)
        matched = ", matched by email" if jira and pd else ""
        people.append(ProposedPerson(
            person_id, name, email, jira, pd,
            f"seen {appearances} {_times(appearances)} in {sources}{matched}, {period.label}"))
        for account in accounts:
            person_of[account.ref] = person_id
    return people, person_of


def _times(n: int) -> str:
    return "time" if n == 1 else "times"


def _sort_name(accounts: Sequence[Account]) -> str:
    return (next((a.name for a in accounts if a.name), None) or accounts[0].ref).lower()


def _person_slug(name: str, email: str | None) -> str:
    base = email.split("@", 1)[0] if email else name.split()[0] if name.split() else name
    return slug(base) or "person"


def slug(text: str) -> str:
    """A registry id from free text: lower case letters, digits and dashes, at most 64."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].rstrip("-")


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


# --- stages ------------------------------------------------------------------------------------


@dataclass
class _StatusFacts:
    name: str
    entries: int = 0
    stays_open: int = 0  # entries never left within the period
    hours: float = 0.0
    holders: dict[str | None, float] = field(default_factory=lambda: defaultdict(float))
    ranks: list[int] = field(default_factory=list)
    items: set[str] = field(default_factory=set)


def _status_facts(stays: Sequence[_Stay]) -> dict[str, _StatusFacts]:
    facts: dict[str, _StatusFacts] = {}
    for stay in stays:
        f = facts.setdefault(stay.status, _StatusFacts(stay.status))
        f.entries += 1
        f.stays_open += not stay.exited
        f.ranks.append(stay.rank)
        f.items.add(stay.item)
        for holder, hours in stay.hours_by_holder.items():
            f.holders[holder] += hours
            f.hours += hours
    return facts


def _owner(
    holders: Mapping[str | None, float], person_of: Mapping[str, str]
) -> tuple[str | None, float]:
    """The person with the most item-hours and their share of all item-hours (unassigned too)."""
    by_person: dict[str, float] = defaultdict(float)
    for ref, hours in holders.items():
        if ref is not None and ref in person_of:
            by_person[person_of[ref]] += hours
    total = sum(holders.values())
    if not by_person or total <= 0:
        return None, 0.0
    person = max(sorted(by_person), key=lambda p: by_person[p])
    return person, by_person[person] / total


def _stages(
    issues: Sequence[IssueHistory],
    stays: Sequence[_Stay],
    incident_holds: Sequence[tuple[str, float]],
    person_of: Mapping[str, str],
    period: Period,
) -> list[ProposedStage]:
    facts = _status_facts(stays)
    ordered = sorted(facts.values(), key=lambda f: (statistics.mean(f.ranks), f.name))
    terminal = [f for f in ordered if f.stays_open / f.entries >= TERMINAL_STAY_SHARE
                and f.ranks and statistics.mean(f.ranks) > 0]
    working = [f for f in ordered if f not in terminal]
    stages: list[ProposedStage] = []
    taken: set[str] = set()
    group: list[tuple[_StatusFacts, str | None, float]] = []

    def close_group() -> None:
        if not group:
            return
        owner = group[0][1]
        lines = [_status_evidence(f, who, share, period) for f, who, share in group]
        stages.append(ProposedStage(
            _unique_id(slug(group[0][0].name) or "stage", taken),
            tuple(f.name for f, _, _ in group), owner, "; ".join(lines)))
        group.clear()

    for f in working:
        owner, share = _owner(f.holders, person_of)
        if group and (owner is None or owner != group[0][1]):
            close_group()
        group.append((f, owner, share))
        if owner is None:
            close_group()
    close_group()
    if incident_holds:
        holders: dict[str | None, float] = defaultdict(float)
        for ref, hours in incident_holds:
            holders[ref] += hours
        owner, share = _owner(holders, person_of)
        total = sum(holders.values())
        who = f"{owner} holds {share:.0%} of them" if owner else "nobody identifiable holds them"
        stages.append(ProposedStage(
            _unique_id(INCIDENT_STAGE, taken), (), owner,
            f"PagerDuty incidents: {total:.1f} assignee-hours, {who}, {period.label}",
            pagerduty=True))
    if terminal:
        stays_total = sum(f.entries for f in terminal)
        stayed = sum(f.stays_open for f in terminal)
        stages.append(ProposedStage(
            _unique_id("done", taken), tuple(f.name for f in terminal), None,
            f"{stayed} of {stays_total} entries stayed until the period's end, {period.label}",
            terminal=True))
    return stages


def _status_evidence(
    f: _StatusFacts, owner: str | None, share: float, period: Period
) -> str:
    who = (f"{owner} holds {share:.0%} of them" if owner
           else "no person holds its items (unassigned)")
    return (f"{f.name}: {len(f.items)} items, {f.hours:.1f} item-hours, {who}, "
            f"{period.label}")


# --- executors, decision points, automation ----------------------------------------------------


def _in(at: datetime, period: Period) -> bool:
    return period.since <= at < period.until


def _executors(
    issues: Sequence[IssueHistory],
    incidents: Sequence[IncidentHistory],
    person_of: Mapping[str, str],
    period: Period,
) -> list[ProposedExecutor]:
    changes: Counter[str] = Counter()
    items: dict[str, set[str]] = defaultdict(set)
    for issue in issues:
        for change in issue.assignee_changes:
            if change.actor and _in(change.at, period) and change.actor in person_of:
                changes[person_of[change.actor]] += 1
                items[person_of[change.actor]].add(issue.key)
    for incident in incidents:
        for event in incident.events:
            if (event.to is not None and event.actor and _in(event.at, period)
                    and event.actor in person_of):
                changes[person_of[event.actor]] += 1
                items[person_of[event.actor]].add(incident.id)
    return [
        ProposedExecutor(person, count, len(items[person]),
                         f"made {count} ownership change{'' if count == 1 else 's'} on "
                         f"{len(items[person])} item{'' if len(items[person]) == 1 else 's'}, "
                         f"{period.label}")
        for person, count in sorted(changes.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _decision_points(
    stays: Sequence[_Stay],
    known: Mapping[str, Account],
    person_of: Mapping[str, str],
    period: Period,
) -> list[ProposedDecisionPoint]:
    by_status: dict[str, list[_Stay]] = defaultdict(list)
    for stay in stays:
        if stay.exited and stay.exit_actor and known.get(stay.exit_actor, Account("")).human:
            by_status[stay.status].append(stay)
    proposals: list[ProposedDecisionPoint] = []
    for status, exits in by_status.items():
        waits = [s for s in exits if s.exit_actor != s.holder_at_exit]
        if len(waits) < MIN_DECISION_EXITS or len(waits) / len(exits) < DECISION_POINT_SHARE:
            continue
        hours = [s.hours for s in waits]
        releasers: Counter[str] = Counter(
            person_of[s.exit_actor] for s in waits if s.exit_actor and s.exit_actor in person_of)
        approver = max(sorted(releasers), key=lambda p: releasers[p]) if releasers else None
        released = releasers[approver] if approver else 0
        who = (f"{approver} released {released} of them" if approver
               else "no identifiable person released them")
        proposals.append(ProposedDecisionPoint(
            slug(status) or "decision", status, approver, sum(hours),
            f"{len(waits)} of {len(exits)} exits by someone other than the assignee, "
            f"median wait {statistics.median(hours):.1f} h, {sum(hours):.1f} h in all; {who}; "
            f"{period.label}"))
    return sorted(proposals, key=lambda p: (-p.waiting_hours, p.status))


def _automation(
    issues: Sequence[IssueHistory],
    incidents: Sequence[IncidentHistory],
    known: Mapping[str, Account],
    period: Period,
) -> list[ProposedAutomation]:
    """Non-user agents that acted in the period, with how many owners they changed or set."""
    actors: set[str] = set()
    changes: Counter[str] = Counter()
    for issue in issues:
        for change in issue.assignee_changes:
            if change.actor and _in(change.at, period):
                actors.add(change.actor)
                changes[change.actor] += 1
        actors.update(c.actor for c in issue.status_changes if c.actor and _in(c.at, period))
    for incident in incidents:
        for event in incident.events:
            if event.actor and _in(event.at, period):
                actors.add(event.actor)
                changes[event.actor] += event.to is not None
    agents = [ref for ref in actors if not known.get(ref, Account(ref)).human]
    taken: set[str] = set()
    proposals: list[ProposedAutomation] = []
    for ref in sorted(agents, key=lambda r: (-changes[r], r)):
        ident = ref.split(":", 1)[1]
        account = known.get(ref, Account(ref))
        count = changes[ref]
        proposals.append(ProposedAutomation(
            _unique_id(slug(account.name or ident) or "agent", taken),
            ident if ref.startswith("jira:") else None,
            ident if ref.startswith("pagerduty:") else None,
            count,
            f"non-user agent ({account.name or ref}), {count} ownership "
            f"change{'' if count == 1 else 's'}, {period.label}"))
    return proposals
