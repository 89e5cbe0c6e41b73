"""Who hears about what (SPEC §6), as plain data: outbox rows before they reach storage.

One row per (event, channel, recipient): its `dedup_key` is that identity, so writing it again
is a no-op and "at most one notification" holds across re-evaluations. A person without e-mail
is replaced by the workflow owner (SPEC §3), noted in the payload.

Email always goes out; a workflow's `alerts` block adds channels (SPEC §3):

| kind                 | email (person)                | slack   | pagerduty         | jira       |
|----------------------|-------------------------------|---------|-------------------|------------|
| unauthorized_change  | outcome owner; cc workflow    | webhook | trigger, key =    | —          |
|                      | owner + decision's `informed` |         | the finding key   |            |
| risk_review          | outcome owner, risk owner     | webhook | trigger, key =    | risk owner |
|                      |                               |         | the review id     |            |
| late_risk_review     | outcome + risk owner; cc      | webhook | trigger (same     | —          |
|                      | leadership                    |         | review id)        |            |
| risk_review_closed   | outcome owner, risk owner     | webhook | resolve review id | —          |
| risk_review_reminder | outcome owner, risk owner     | —       | —                 | —          |

The channels themselves (names, the `alerts` field that switches each on, the recipient of
Slack's and PagerDuty's one row per event: `webhook`, `events`) are `rules.channels`; this
module only decides who hears about which event. Secrets stay `env:NAME` references in the
registry; nothing of them is copied into a row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rules.channels import EMAIL, JIRA, PAGERDUTY, Channel, extra_channels
from rules.facts import Finding, ReviewState, Verdict
from rules.registry import Registry
from rules.registry.models import STAGE_OWNER

UNAUTHORIZED_CHANGE = "unauthorized_change"
RISK_REVIEW = "risk_review"
LATE_RISK_REVIEW = "late_risk_review"
RISK_REVIEW_CLOSED = "risk_review_closed"
RISK_REVIEW_REMINDER = "risk_review_reminder"
KINDS = (UNAUTHORIZED_CHANGE, RISK_REVIEW, LATE_RISK_REVIEW, RISK_REVIEW_CLOSED,
         RISK_REVIEW_REMINDER)


@dataclass(frozen=True, slots=True)
class Alert:
    dedup_key: str
    kind: str  # one of KINDS
    workflow: str
    channel: str  # a `rules.channels` name: email | slack | pagerduty | jira
    recipient: str  # a registry person id; `webhook` (slack); `events` (pagerduty)
    subject_ref: str  # finding key | risk review id
    payload: dict[str, Any]

    def row(self) -> dict[str, Any]:
        return {"dedup_key": self.dedup_key, "kind": self.kind, "workflow": self.workflow,
                "channel": self.channel, "recipient": self.recipient,
                "subject_ref": self.subject_ref, "payload": self.payload}


@dataclass(frozen=True, slots=True)
class PagerDutyAction:
    """What a PagerDuty row does: `trigger` or `resolve` the alert `dedup_key`."""

    action: str
    dedup_key: str
    severity: str = "warning"


def _people(registry: Registry, names: Iterable[str]) -> list[str]:
    expanded = registry.expand(names)
    return sorted(p for p in expanded if p in registry.people)


def _addressed(
    registry: Registry, workflow: str, to: list[str], cc: list[str]
) -> list[tuple[str, str, str | None]]:
    """(recipient, role, note): to before cc, each person once, e-mail-less people rerouted."""
    owner = registry.workflows[workflow].workflow_owner
    result: list[tuple[str, str, str | None]] = []
    seen: set[str] = set()
    for role, people in (("to", to), ("cc", cc)):
        for person in people:
            note = None
            if not registry.people[person].email:
                note = f"{person} has no e-mail address in the registry; sent to {owner} instead"
                person = owner
            if person not in seen:
                seen.add(person)
                result.append((person, role, note))
    return result


def _alerts(
    registry: Registry, kind: str, workflow: str, subject: str, to: list[str], cc: list[str],
    payload: dict[str, Any], *, key_subject: str | None = None,
) -> list[Alert]:
    identity = key_subject or subject
    return [
        Alert(
            dedup_key=f"{kind}:{identity}:{EMAIL.name}:{person}",
            kind=kind,
            workflow=workflow,
            channel=EMAIL.name,
            recipient=person,
            subject_ref=subject,
            payload=payload | {"role": role} | ({"note": note} if note else {}),
        )
        for person, role, note in _addressed(registry, workflow, to, cc)
    ]


_Route = tuple[str, dict[str, Any]]
"""(recipient, payload) of a channel's row for one event."""


def _every_event(channel: Channel, payload: dict[str, Any]) -> _Route | None:
    """A channel with one recipient per event gets every event it is given; one addressed to
    people only the events that name them."""
    return None if channel.recipient is None else (channel.recipient, payload)


def _extra_channels(
    registry: Registry,
    kind: str,
    workflow: str,
    subject: str,
    payload: dict[str, Any],
    *,
    pagerduty: PagerDutyAction | None = None,
    jira_owner: str | None = None,
) -> list[Alert]:
    """The rows the workflow's `alerts` block adds, one per channel it switches on.

    A channel with one recipient per event (Slack's webhook) carries every event as it is;
    PagerDuty only an event with an action (`pagerduty`), which its row carries; a Jira ticket
    only an event with an owner to assign it to (`jira_owner`: a risk review).
    """
    routes: dict[Channel, _Route | None] = {
        PAGERDUTY: None if pagerduty is None else _every_event(PAGERDUTY, payload | {
            "pd_action": pagerduty.action, "pd_dedup_key": pagerduty.dedup_key,
            "pd_severity": pagerduty.severity}),
        JIRA: None if jira_owner is None else (jira_owner, payload),
    }
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for channel in extra_channels(registry.workflows[workflow].alerts):
        route = routes[channel] if channel in routes else _every_event(channel, payload)
        if route is not None:
            rows.append((channel.name, *route))
    return [
        Alert(dedup_key=f"{kind}:{subject}:{channel}:{recipient}", kind=kind, workflow=workflow,
              channel=channel, recipient=recipient, subject_ref=subject, payload=body)
        for channel, recipient, body in rows
    ]


def could_authorize(
    registry: Registry, workflow: str, decision: str, stage: str | None, at: datetime
) -> tuple[list[str], list[dict[str, str]]]:
    """Who could have made this change: the decision's approvers (groups expanded,
    `stage-owner` resolved to the owner of `stage`), and the delegations in force at `at`
    (whole days in the registry time zone, as SPEC §4 judges them)."""
    spec = registry.workflows[workflow]
    rights = spec.decisions.get(decision)
    if rights is None:
        return [], []
    names = list(rights.approves)
    if STAGE_OWNER in names:
        names.remove(STAGE_OWNER)
        owner = next((s.owner for s in spec.stages if s.id == stage), None)
        if owner:
            names.append(owner)
    day = at.astimezone(registry.tz).date()
    delegated = [
        {"grantee": d.grantee, "grantor": d.grantor, "ends": d.ends.isoformat()}
        for d in registry.delegations
        if d.workflow == workflow and d.decision == decision and d.starts <= day <= d.ends
    ]
    return _people(registry, names), delegated


def unauthorized_change_alerts(registry: Registry, verdict: Verdict) -> list[Alert]:
    """To the outcome owner, cc the workflow owner and the decision's `informed`."""
    spec = registry.workflows[verdict.workflow]
    decision = spec.decisions.get(verdict.decision)
    informed = decision.informed if decision is not None else []
    to = _people(registry, [spec.outcome.owner])
    cc = [p for p in _people(registry, [spec.workflow_owner, *informed]) if p not in to]
    approvers, delegated = could_authorize(registry, verdict.workflow, verdict.decision,
                                           verdict.stage, verdict.at)
    payload = {"item": verdict.item, "at": verdict.at.isoformat(), "actor": verdict.actor,
               "from": list(verdict.from_ids), "to": list(verdict.to_ids),
               "reason": verdict.reason, "url": verdict.url, "title": verdict.title,
               "decision": verdict.decision, "stage": verdict.stage,
               "source": verdict.source, "authorizers": approvers, "delegations": delegated}
    kind, key = UNAUTHORIZED_CHANGE, verdict.key
    return [
        *_alerts(registry, kind, verdict.workflow, key, to, cc, payload),
        *_extra_channels(registry, kind, verdict.workflow, key, payload,
                         pagerduty=PagerDutyAction("trigger", key, "warning")),
    ]


def _review_payload(review: ReviewState) -> dict[str, Any]:
    return {"review": review.id, "week": review.week, "breaches": list(review.breaches),
            "due": review.due.isoformat(), "owner": review.owner,
            "opened_at": review.opened_at.isoformat()}


def risk_review_alerts(registry: Registry, review: ReviewState) -> list[Alert]:
    """To the outcome owner and the risk owner; a Jira ticket assigned to the risk owner."""
    spec = registry.workflows[review.workflow]
    to = _people(registry, [spec.outcome.owner, review.owner])
    payload = _review_payload(review)
    kind = RISK_REVIEW
    return [
        *_alerts(registry, kind, review.workflow, review.id, to, [], payload),
        *_extra_channels(registry, kind, review.workflow, review.id, payload,
                         pagerduty=PagerDutyAction("trigger", review.id, "error"),
                         jira_owner=review.owner),
    ]


def late_review_alerts(registry: Registry, finding: Finding, review: ReviewState) -> list[Alert]:
    """A risk review past due: the outcome owner and risk owner, and leadership too.

    On PagerDuty it re-triggers the review's own alert (same dedup key), which appends to it
    and is resolved with it when the review closes.
    """
    spec = registry.workflows[review.workflow]
    to = _people(registry, [spec.outcome.owner, review.owner])
    cc = [p for p in _people(registry, registry.leadership) if p not in to]
    payload = _review_payload(review) | {"reason": finding.reason}
    kind = LATE_RISK_REVIEW
    return [
        *_alerts(registry, kind, review.workflow, finding.key, to, cc, payload),
        *_extra_channels(registry, kind, review.workflow, finding.key, payload,
                         pagerduty=PagerDutyAction("trigger", review.id, "critical")),
    ]


def review_closed_alerts(
    registry: Registry, review: ReviewState, by: str, note: str
) -> list[Alert]:
    """The resolved message when a risk review closes: the same people it opened to, and the
    review's PagerDuty alert resolved."""
    spec = registry.workflows[review.workflow]
    to = _people(registry, [spec.outcome.owner, review.owner])
    payload = _review_payload(review) | {"closed_by": by, "note": note}
    kind = RISK_REVIEW_CLOSED
    return [
        *_alerts(registry, kind, review.workflow, review.id, to, [], payload),
        *_extra_channels(registry, kind, review.workflow, review.id, payload,
                         pagerduty=PagerDutyAction("resolve", review.id)),
    ]


def reminder_due(
    opened_at: datetime, last_reminded_at: datetime | None, every_hours: float, now: datetime
) -> int | None:
    """The number of the reminder due at `now` for a review still open, or None.

    Reminder n is due `n × every_hours` after the review opened. The number comes from the
    clock, not from a counter, so two dispatchers deciding at once pick the same n (and the
    same dedup key); after a pause only the latest missed reminder goes out, not all of them.
    """
    every = timedelta(hours=every_hours)
    if every <= timedelta(0) or now < opened_at + every:
        return None
    number = math.floor((now - opened_at) / every)
    slot = opened_at + number * every
    if last_reminded_at is not None and last_reminded_at >= slot:
        return None
    return number


def risk_review_reminder_alerts(
    registry: Registry, review: ReviewState, number: int
) -> list[Alert]:
    """Reminder `number` of a review not yet acknowledged: to the outcome and risk owner."""
    spec = registry.workflows[review.workflow]
    to = _people(registry, [spec.outcome.owner, review.owner])
    payload = _review_payload(review) | {"reminder": number}
    return _alerts(registry, RISK_REVIEW_REMINDER, review.workflow, review.id, to, [], payload,
                   key_subject=f"{review.id}:{number}")
