"""Who hears about what (SPEC §6), as plain data: outbox rows before they reach storage.

One row per (event, channel, recipient): its `dedup_key` is that identity, so writing it again
is a no-op and "at most one notification" holds across re-evaluations. A person without e-mail
is replaced by the workflow owner (SPEC §3), noted in the payload.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rules.facts import Finding, ReviewState, Verdict
from rules.registry import Registry

EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Alert:
    dedup_key: str
    kind: str  # unauthorized_change | risk_review | late_risk_review
    workflow: str
    channel: str
    recipient: str  # a registry person id
    subject_ref: str  # finding key | risk review id
    payload: dict[str, Any]

    def row(self) -> dict[str, Any]:
        return {"dedup_key": self.dedup_key, "kind": self.kind, "workflow": self.workflow,
                "channel": self.channel, "recipient": self.recipient,
                "subject_ref": self.subject_ref, "payload": self.payload}


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
    payload: dict[str, Any],
) -> list[Alert]:
    return [
        Alert(
            dedup_key=f"{kind}:{subject}:{EMAIL}:{person}",
            kind=kind,
            workflow=workflow,
            channel=EMAIL,
            recipient=person,
            subject_ref=subject,
            payload=payload | {"role": role} | ({"note": note} if note else {}),
        )
        for person, role, note in _addressed(registry, workflow, to, cc)
    ]


def unauthorized_change_alerts(registry: Registry, verdict: Verdict) -> list[Alert]:
    """To the outcome owner, cc the workflow owner and the decision's `informed`."""
    spec = registry.workflows[verdict.workflow]
    decision = spec.decisions.get(verdict.decision)
    informed = decision.informed if decision is not None else []
    to = _people(registry, [spec.outcome.owner])
    cc = [p for p in _people(registry, [spec.workflow_owner, *informed]) if p not in to]
    payload = {"item": verdict.item, "at": verdict.at.isoformat(), "actor": verdict.actor,
               "from": list(verdict.from_ids), "to": list(verdict.to_ids),
               "reason": verdict.reason, "url": verdict.url, "title": verdict.title,
               "decision": verdict.decision, "stage": verdict.stage}
    return _alerts(registry, "unauthorized_change", verdict.workflow, verdict.key, to, cc, payload)


def risk_review_alerts(registry: Registry, review: ReviewState) -> list[Alert]:
    """To the outcome owner and the risk owner."""
    spec = registry.workflows[review.workflow]
    to = _people(registry, [spec.outcome.owner, review.owner])
    payload = {"week": review.week, "breaches": list(review.breaches),
               "due": review.due.isoformat(), "owner": review.owner}
    return _alerts(registry, "risk_review", review.workflow, review.id, to, [], payload)


def late_review_alerts(registry: Registry, finding: Finding, review: ReviewState) -> list[Alert]:
    """A risk review past due: the outcome owner and risk owner, and leadership too."""
    spec = registry.workflows[review.workflow]
    to = _people(registry, [spec.outcome.owner, review.owner])
    cc = [p for p in _people(registry, registry.leadership) if p not in to]
    payload = {"week": review.week, "due": review.due.isoformat(), "review": review.id,
               "reason": finding.reason}
    return _alerts(registry, "late_risk_review", review.workflow, finding.key, to, cc, payload)


def review_closed_alerts(
    registry: Registry, review: ReviewState, by: str, note: str
) -> list[Alert]:
    """The resolved message when a risk review closes: the same people it opened to."""
    spec = registry.workflows[review.workflow]
    to = _people(registry, [spec.outcome.owner, review.owner])
    payload = {"week": review.week, "review": review.id, "closed_by": by, "note": note}
    return _alerts(registry, "risk_review_closed", review.workflow, review.id, to, [], payload)
