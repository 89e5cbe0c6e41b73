"""The findings of SPEC §4 other than the verdicts: unowned items, ownership churn, late risk
reviews and registry gaps. Each has a stable key, so evaluating again never duplicates one.

Choices where the SPEC is silent:

- `unowned_item` concerns tickets (an incident always has an assignee while it is open).
  The clock runs while the item has no owner *and* is in a non-terminal stage; a status the
  registry does not know (stage `unmapped`) counts as non-terminal, since nothing says the work
  is done. The period starts when the item lost its last owner, was created without one, or
  was reopened without one. The finding's `at` is the moment the period exceeded
  `unowned_after_hours`; its key is (item, start of the period). By default only a period
  still running at `now` is reported (it stops once the item is owned or terminal);
  `include_ended=True` also reports past periods that exceeded the limit, for an evaluation
  that runs after the fact (a first sync of old history).
- `ownership_churn` counts the changes that actually change an item's owners (a change to the
  same owners is not one) except its very first assignment when it was created without owner
  (an incident's assignment at trigger, like the assignee a ticket is created with, is
  where ownership starts, not a change of it). A burst is a run of changes in which every
  change belongs to some `churn_changes` consecutive changes spanning at most 7 days; a burst
  is one finding, keyed by its first change, so later changes extend it instead of adding
  findings. Its `at` is when the burst reached `churn_changes`.
- `late_risk_review`: a review still `open` (not acknowledged) after the end of its due day in
  the registry time zone (`tz`); `at` is that moment.
- `registry_gap`: identities (actors or owners of ownership changes) the registry cannot map,
  ticket statuses that belong to no stage of the item's workflow, people without email.
  An incident tool's own agents (services, escalation policies, integrations) and vendor
  references without an id (`jira:unknown`) are not identities anyone could add, so they are
  not gaps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Final

from rules.authority import in_order
from rules.facts import (
    UNMAPPED_STAGE,
    Finding,
    ItemHistory,
    OwnershipChange,
    ReviewState,
    Verdict,
    stable_key,
)
from rules.identity import IdentityResolver
from rules.registry import Registry, Workflow
from rules.sources import INCIDENT_SOURCES, NON_USER_AGENTS, TICKET_SOURCES, find, source_of_ref
from rules.timeline import stage_of_status

UNOWNED_ITEM: Final = "unowned_item"
OWNERSHIP_CHURN: Final = "ownership_churn"
LATE_RISK_REVIEW: Final = "late_risk_review"
REGISTRY_GAP: Final = "registry_gap"

CHURN_WINDOW: Final = timedelta(days=7)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""`at` of a gap that is about the registry itself when no `now` is given."""

_ITEMS_SHOWN: Final = 10


def _hours(span: timedelta) -> str:
    text = f"{span.total_seconds() / 3600:.1f}"
    return text.removesuffix(".0")


def _local(at: datetime, tz: tzinfo) -> str:
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M}"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _joined(ids: Sequence[str]) -> str:
    return ", ".join(ids) if ids else "nobody"


def _tracked(
    registry: Registry, items: Iterable[ItemHistory]
) -> Iterable[tuple[Workflow, ItemHistory]]:
    """Items of a workflow the registry has, their changes in canonical order."""
    for item in items:
        if item.workflow is None:
            continue
        workflow = registry.workflows.get(item.workflow)
        if workflow is not None:
            yield workflow, in_order(item)


# --- unowned items --------------------------------------------------------------------------


_Period = tuple[datetime, "datetime | None", "str | None", "str | None", tuple[str, ...]]
"""(since, until or None while running, status, who unassigned it, whom from)."""


@dataclass
class _Unowned:
    """The replay state of one item: who owns it and whether it is in a terminal stage."""

    workflow: Workflow
    owned: bool
    status: str | None
    since: datetime | None = None  # start of the running unowned-and-open period
    actor: str | None = None  # who started it by unassigning the item, if anyone
    before: tuple[str, ...] = ()
    periods: list[_Period] = field(default_factory=list)

    def open(self) -> bool:
        stage = stage_of_status(self.workflow, self.status)
        return stage == UNMAPPED_STAGE or not self.workflow.stage(stage).terminal

    def update(
        self,
        at: datetime,
        status_before: str | None,
        actor: str | None = None,
        before: tuple[str, ...] = (),
    ) -> None:
        """After a change at `at` (by `actor`, if it unassigned the item from `before`)."""
        running = not self.owned and self.open()
        if running and self.since is None:
            self.since, self.actor, self.before = at, actor, before
        elif not running and self.since is not None:
            # An ended period is shown in the stage it was in, not the one that ended it.
            self.periods.append(self.period(at, status_before))
            self.since = None

    def period(self, until: datetime | None, status: str | None) -> _Period:
        assert self.since is not None
        return (self.since, until, status, self.actor, self.before)


def unowned_items(
    registry: Registry,
    items: Iterable[ItemHistory],
    now: datetime,
    *,
    include_ended: bool = False,
) -> list[Finding]:
    """Tickets without an owner, in a non-terminal stage, for longer than their workflow's
    `unowned_after_hours`, as of `now` (events after `now` are ignored)."""
    resolver = IdentityResolver(registry)
    findings = []
    for workflow, item in _tracked(registry, items):
        if item.source not in TICKET_SOURCES or item.created > now:
            continue
        state = _Unowned(workflow, bool(item.initial_owners), item.initial_status)
        state.update(item.created, item.initial_status)
        for at, status, change in _timeline(item):
            if at > now:
                break
            status_before = state.status
            if change is None:
                state.status = status
                state.update(at, status_before)
            elif change.to_refs:
                state.owned = True
                state.update(at, status_before)
            else:
                state.owned = False
                before = resolver.resolve_all(change.from_refs)
                state.update(at, status_before, resolver.resolve(change.actor), before)
        periods = state.periods if include_ended else []
        if state.since is not None:
            periods = [*periods, state.period(None, state.status)]
        limit = timedelta(hours=workflow.unowned_after_hours)
        for period in periods:
            since, until = period[0], period[1]
            if (until or now) - since > limit:
                findings.append(_unowned_finding(registry, workflow, item, period, now))
    return findings


def _timeline(
    item: ItemHistory,
) -> list[tuple[datetime, str | None, OwnershipChange | None]]:
    """Status and ownership changes merged, oldest first; a status change first in the same
    second (SPEC §4), as in the authority replay."""
    entries: list[tuple[datetime, int, datetime, str | None, OwnershipChange | None]] = [
        (c.at.replace(microsecond=0), 0, c.at, c.to_status, None) for c in item.status_changes
    ]
    entries += [(c.at.replace(microsecond=0), 1, c.at, None, c) for c in item.ownership_changes]
    entries.sort(key=lambda entry: entry[:3])
    return [(at, status, change) for _, _, at, status, change in entries]


def _unowned_finding(
    registry: Registry, workflow: Workflow, item: ItemHistory, period: _Period, now: datetime
) -> Finding:
    since, until, status, actor, before = period
    tz = registry.tz
    limit = workflow.unowned_after_hours
    stage = stage_of_status(workflow, status)
    span = (until or now) - since
    how = ""
    if actor is not None and before:
        how = f", when {actor} unassigned it from {_joined(before)}"
    if until is None:
        what = (
            f"{item.item} has had no owner for {_hours(span)} hours (since "
            f"{_local(since, tz)} {registry.timezone}{how})"
        )
    else:
        what = (
            f"{item.item} had no owner for {_hours(span)} hours ({_local(since, tz)} to "
            f"{_local(until, tz)} {registry.timezone}{how})"
        )
    allowed = f"the limit is {limit:g} hours"
    return Finding(
        key=stable_key(UNOWNED_ITEM, item.item, _iso(since)),
        type=UNOWNED_ITEM,
        workflow=workflow.id,
        item=item.item,
        at=since + timedelta(hours=limit),
        reason=f"{what} in stage '{stage}' of workflow '{workflow.id}'; {allowed}.",
        actor=actor,
        from_ids=before,
        details={
            "unowned_since": _iso(since),
            "ended_at": None if until is None else _iso(until),
            "hours": round(span.total_seconds() / 3600, 1),
            "limit_hours": limit,
            "stage": stage,
            "status": status,
            "url": item.url,
            "title": item.title,
        },
    )


# --- ownership churn ------------------------------------------------------------------------


def ownership_churn(registry: Registry, items: Iterable[ItemHistory]) -> list[Finding]:
    """One finding per burst of `churn_changes` owner changes within 7 days on an item."""
    resolver = IdentityResolver(registry)
    findings = []
    for workflow, item in _tracked(registry, items):
        changes = []
        had_owner = bool(item.initial_owners)
        for change in item.ownership_changes:
            if set(change.from_refs) != set(change.to_refs) and had_owner:
                changes.append(change)
            had_owner = had_owner or bool(change.to_refs)
        size = workflow.churn_changes
        for first, last in _bursts([c.at for c in changes], size):
            burst = changes[first : last + 1]
            findings.append(_churn_finding(registry, workflow, item, burst, size, resolver))
    return findings


def _bursts(times: Sequence[datetime], size: int) -> list[tuple[int, int]]:
    """(first, last) indexes of each burst: windows of `size` consecutive changes spanning at
    most 7 days, merged when they share a change."""
    bursts: list[tuple[int, int]] = []
    for start in range(len(times) - size + 1):
        end = start + size - 1
        if times[end] - times[start] > CHURN_WINDOW:
            continue
        if bursts and start <= bursts[-1][1]:
            bursts[-1] = (bursts[-1][0], end)
        else:
            bursts.append((start, end))
    return bursts


def _churn_finding(
    registry: Registry,
    workflow: Workflow,
    item: ItemHistory,
    burst: Sequence[OwnershipChange],
    size: int,
    resolver: IdentityResolver,
) -> Finding:
    tz = registry.tz
    owners = [_joined(resolver.resolve_all(burst[0].from_refs))]
    owners += [_joined(resolver.resolve_all(c.to_refs)) for c in burst]
    first, last = burst[0].at, burst[-1].at
    reason = (
        f"{item.item}'s owner changed {len(burst)} times in {_hours(last - first)} hours "
        f"({_local(first, tz)} to {_local(last, tz)} {registry.timezone}): "
        f"{' → '.join(owners)}; workflow '{workflow.id}' flags {size} changes within 7 days."
    )
    return Finding(
        key=stable_key(OWNERSHIP_CHURN, item.item, burst[0].ref),
        type=OWNERSHIP_CHURN,
        workflow=workflow.id,
        item=item.item,
        at=burst[size - 1].at,
        reason=reason,
        from_ids=resolver.resolve_all(burst[0].from_refs),
        to_ids=resolver.resolve_all(burst[-1].to_refs),
        details={
            "changes": len(burst),
            "limit": size,
            "first_at": _iso(first),
            "last_at": _iso(last),
            "events": [c.ref for c in burst],
            "actors": [resolver.resolve(c.actor) for c in burst],
            "owners": owners,
            "url": item.url,
            "title": item.title,
        },
    )


# --- late risk reviews ----------------------------------------------------------------------


def late_risk_reviews(
    reviews: Sequence[ReviewState], now: datetime, *, tz: tzinfo = UTC
) -> list[Finding]:
    """Reviews still open (not acknowledged) after the end of their due day in `tz` (pass
    the registry's time zone: `registry.tz`)."""
    findings = []
    for review in reviews:
        if review.status != "open":
            continue
        deadline = datetime.combine(review.due + timedelta(days=1), time(), tz).astimezone(UTC)
        if now < deadline:
            continue
        breaches = ", ".join(review.breaches) or "none"
        findings.append(
            Finding(
                key=stable_key(LATE_RISK_REVIEW, review.id),
                type=LATE_RISK_REVIEW,
                workflow=review.workflow,
                item=None,
                at=deadline,
                reason=(
                    f"Risk review {review.id} of workflow '{review.workflow}' (week "
                    f"{review.week}, breaches: {breaches}) was due {review.due} and "
                    f"{review.owner}, its risk owner, has not acknowledged it."
                ),
                details={
                    "review": review.id,
                    "week": review.week,
                    "owner": review.owner,
                    "due": review.due.isoformat(),
                    "deadline": _iso(deadline),
                    "opened_at": _iso(review.opened_at),
                    "breaches": list(review.breaches),
                },
            )
        )
    return findings


# --- registry gaps --------------------------------------------------------------------------


@dataclass
class _Seen:
    """Where an unmapped identity or unknown status was seen."""

    first: datetime
    last: datetime
    workflows: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)

    def saw(self, at: datetime, workflow: str, item: str, what: str) -> None:
        self.first, self.last = min(self.first, at), max(self.last, at)
        self.workflows.add(workflow)
        self.items.add(item)
        self.counts[what] += 1

    def details(self) -> dict[str, object]:
        items = sorted(self.items)
        return {
            "first_seen": _iso(self.first),
            "last_seen": _iso(self.last),
            "workflows": sorted(self.workflows),
            "item_count": len(items),
            "items": items[:_ITEMS_SHOWN],
        }

    def workflow(self) -> str | None:
        return next(iter(self.workflows)) if len(self.workflows) == 1 else None


def registry_gaps(
    registry: Registry,
    items: Iterable[ItemHistory],
    verdicts: Iterable[Verdict],
    *,
    now: datetime | None = None,
) -> list[Finding]:
    """Registry problems that matter at run time: unmapped identities seen in ownership
    changes, ticket statuses that belong to no stage, people without email.

    Identities come from `items` (they say which agents are an incident tool's own routing);
    `verdicts` say how many of an identity's changes were unauthorized. `now` is the `at` of
    the gaps about the registry itself (people without email), `EPOCH` when not given.
    """
    resolver = IdentityResolver(registry)
    identities: dict[str, _Seen] = {}
    statuses: dict[tuple[str, str], _Seen] = {}
    labels: dict[tuple[str, str], str] = {}  # which source's status, for the message
    for workflow, item in _tracked(registry, items):
        _identities_of(resolver, workflow, item, identities)
        if item.source in TICKET_SOURCES:
            _statuses_of(workflow, item, statuses, labels)
    unauthorized = Counter(v.actor for v in verdicts if not v.authorized)
    findings = [
        _identity_gap(ref, seen, unauthorized[ref]) for ref, seen in sorted(identities.items())
    ]
    findings += [
        _status_gap(registry.workflows[wf], status, seen, labels[wf, status])
        for (wf, status), seen in sorted(statuses.items())
    ]
    findings += _email_gaps(registry, now or EPOCH)
    return findings


def _mappable(ref: str) -> bool:
    return not ref.endswith(":unknown")


def _identities_of(
    resolver: IdentityResolver, workflow: Workflow, item: ItemHistory, seen: dict[str, _Seen]
) -> None:
    def saw(ref: str, at: datetime, what: str) -> None:
        if _mappable(ref) and resolver.known(ref) is None:
            seen.setdefault(ref, _Seen(at, at)).saw(at, workflow.id, item.item, what)

    for ref in item.initial_owners:
        saw(ref, item.created, "as_owner")
    for change in item.ownership_changes:
        if not (change.source in INCIDENT_SOURCES and change.actor_kind in NON_USER_AGENTS):
            saw(change.actor, change.at, "changes")
        for ref in change.to_refs:
            saw(ref, change.at, "as_owner")


def _statuses_of(
    workflow: Workflow,
    item: ItemHistory,
    seen: dict[tuple[str, str], _Seen],
    labels: dict[tuple[str, str], str],
) -> None:
    entered = [(item.created, item.initial_status)]
    entered += [(c.at, c.to_status) for c in item.status_changes]
    for at, status in entered:
        if status is not None and workflow.stage_for_status(status) is None:
            seen.setdefault((workflow.id, status), _Seen(at, at)).saw(
                at, workflow.id, item.item, "entered"
            )
            source = find(item.source)
            labels.setdefault((workflow.id, status), source.label if source else item.source)


def _identity_gap(ref: str, seen: _Seen, unauthorized: int) -> Finding:
    system, _, vendor_id = ref.partition(":")
    changes, as_owner = seen.counts["changes"], seen.counts["as_owner"]
    where = ", ".join(f"'{wf}'" for wf in sorted(seen.workflows))
    parts = []
    if changes:
        plural = "s" if changes != 1 else ""
        parts.append(f"made {changes} ownership change{plural} ({unauthorized} unauthorized)")
    if as_owner:
        parts.append(f"was made owner {as_owner} time{'s' if as_owner != 1 else ''}")
    source = source_of_ref(ref)
    field_name = source.name if source is not None else system  # its registry identity key
    reason = (
        f"{ref} is not in the registry but {' and '.join(parts)} in "
        f"workflow{'s' if len(seen.workflows) > 1 else ''} {where} since {seen.first.date()}: "
        "add the person (or automation) with "
        f'{field_name}: "{vendor_id}".'
    )
    return Finding(
        key=stable_key(REGISTRY_GAP, "unmapped_identity", ref),
        type=REGISTRY_GAP,
        workflow=seen.workflow(),
        item=None,
        at=seen.first,
        reason=reason,
        actor=ref,
        details={
            "gap": "unmapped_identity",
            "ref": ref,
            "system": system,
            "changes": changes,
            "unauthorized": unauthorized,
            "as_owner": as_owner,
            **seen.details(),
        },
    )


def _status_gap(workflow: Workflow, status: str, seen: _Seen, label: str) -> Finding:
    points = [p.decision for p in workflow.decision_points if status in p.jira_statuses]
    note = f" (it is the decision point of '{points[0]}')" if points else ""
    count = len(seen.items)
    reason = (
        f"{label} status '{status}' of workflow '{workflow.id}' belongs to no stage{note}: "
        f"{count} item{'s' if count != 1 else ''} entered it, and while there they are in stage "
        f"'{UNMAPPED_STAGE}', where no stage owner or eligible owner exists; map it to a stage."
    )
    return Finding(
        key=stable_key(REGISTRY_GAP, "unknown_status", workflow.id, status),
        type=REGISTRY_GAP,
        workflow=workflow.id,
        item=None,
        at=seen.first,
        reason=reason,
        details={
            "gap": "unknown_status",
            "status": status,
            "entries": seen.counts["entered"],
            "decision_point_of": points,
            **seen.details(),
        },
    )


def _alert_roles(registry: Registry, person: str) -> list[str]:
    roles = ["leadership"] if person in registry.expand(registry.leadership) else []
    for wf in registry.workflows.values():
        if person == wf.outcome.owner:
            roles.append(f"{wf.id}: outcome owner")
        if person == wf.workflow_owner:
            roles.append(f"{wf.id}: workflow owner")
        if person == wf.risk_owner:
            roles.append(f"{wf.id}: risk owner")
        for decision_id, decision in wf.decisions.items():
            if person in registry.expand(decision.informed):
                roles.append(f"{wf.id}: informed of '{decision_id}'")
    return roles


def _email_gaps(registry: Registry, at: datetime) -> list[Finding]:
    findings = []
    for person in sorted(registry.people.values(), key=lambda p: p.id):
        if person.email:
            continue
        roles = _alert_roles(registry, person.id)
        workflows = sorted({role.partition(":")[0] for role in roles if role != "leadership"})
        receives = f" ({'; '.join(roles)})" if roles else ""
        findings.append(
            Finding(
                key=stable_key(REGISTRY_GAP, "person_without_email", person.id),
                type=REGISTRY_GAP,
                workflow=workflows[0] if len(workflows) == 1 else None,
                item=None,
                at=at,
                reason=(
                    f"{person.id} ({person.name}) has no email: the alerts meant for "
                    f"them{receives} go to the workflow owner instead."
                ),
                details={"gap": "person_without_email", "person": person.id, "roles": roles},
            )
        )
    return findings
