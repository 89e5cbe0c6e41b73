"""What an alert says, per channel: email (Jinja2, text + HTML), Slack blocks, PagerDuty event
fields, a Jira ticket.

Outbox payloads hold registry ids and text from Jira / PagerDuty. Here ids become names (from
the registry as it is now) and every untrusted string is made one safe line of bounded length
(`connectors.text`) before any template sees it; HTML escaping is Jinja2's autoescape, Slack's
is `connectors.slack.escape`. A 10,000-character summary is cut to `TITLE_LIMIT` and marked,
so the message stays readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from accountability.links import LinkMaker
from accountability.messages.pages import email_environment
from connectors import slack
from connectors.jira_tickets import adf_bullets, adf_doc, adf_paragraph, adf_text
from connectors.text import clean, one_line, safe_url
from rules import governance
from rules.registry import Registry
from rules.routing import (
    LATE_RISK_REVIEW,
    RISK_REVIEW,
    RISK_REVIEW_CLOSED,
    RISK_REVIEW_REMINDER,
    UNAUTHORIZED_CHANGE,
)

TITLE_LIMIT = 300
REASON_LIMIT = 1500
NAME_LIMIT = 120
SUBJECT_PREFIX = "[Accountability]"


@dataclass(frozen=True)
class ItemView:
    """One finding or risk review as a message lists it; every string already safe."""

    ref: str  # finding key | risk review id
    kind: str
    item: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None
    at: str | None = None
    actor: str | None = None
    from_owners: list[str] = field(default_factory=list)
    to_owners: list[str] = field(default_factory=list)
    reason: str | None = None
    decision: str | None = None
    stage: str | None = None
    authorizers: list[str] = field(default_factory=list)
    delegations: list[str] = field(default_factory=list)
    review: str | None = None
    week: str | None = None
    breaches: list[str] = field(default_factory=list)
    due: str | None = None
    owner: str | None = None
    owner_id: str | None = None
    closed_by: str | None = None
    note: str | None = None
    reminder: int | None = None


@dataclass(frozen=True)
class AlertView:
    """One message: a workflow, an alert kind, its items, and notes for the reader."""

    organization: str
    workflow: str
    workflow_name: str
    kind: str
    items: list[ItemView]
    notes: list[str] = field(default_factory=list)
    outcome_owner: str | None = None

    @property
    def subject(self) -> str:
        return f"{SUBJECT_PREFIX} {self.workflow_name}: {self.headline}"

    @property
    def headline(self) -> str:
        n = len(self.items)
        first = self.items[0] if self.items else None
        week = first.week if first else None
        if self.kind == UNAUTHORIZED_CHANGE:
            return f"{n} unauthorized ownership change{'s' if n != 1 else ''}"
        what = {RISK_REVIEW: "opened", LATE_RISK_REVIEW: "is overdue",
                RISK_REVIEW_CLOSED: "closed",
                RISK_REVIEW_REMINDER: "awaits acknowledgement"}.get(self.kind, self.kind)
        prefix = "reminder: " if self.kind == RISK_REVIEW_REMINDER else ""
        if n == 1:
            suffix = ""
            if self.kind == RISK_REVIEW and first is not None and first.breaches:
                k = len(first.breaches)
                suffix = f" ({k} threshold{'s' if k != 1 else ''} breached)"
            return f"{prefix}risk review {week} {what}{suffix}"
        plural = "are overdue" if self.kind == LATE_RISK_REVIEW else what.replace(
            "awaits", "await")
        return f"{prefix}{n} risk reviews {plural}"


# --- from payloads --------------------------------------------------------------------------


def person(registry: Registry, ref: object) -> str:
    """`Maria Chen (maria)` for a registry person, the id for automation, the vendor ref else."""
    value = one_line(ref, NAME_LIMIT) if ref is not None else ""
    if not value:
        return "nobody"
    known = registry.people.get(value)
    if known is not None:
        return f"{one_line(known.name, NAME_LIMIT)} ({value})"
    if value.startswith(("jira:", "pagerduty:")):
        return f"{value} (not in the registry)"
    return value


def _people(registry: Registry, refs: object) -> list[str]:
    if not isinstance(refs, list):
        return []
    return [person(registry, r) for r in refs] or []


def _local(registry: Registry, iso: object) -> str | None:
    if not isinstance(iso, str):
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return one_line(iso, 40)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(registry.tz).strftime("%Y-%m-%d %H:%M %Z")


def _text(value: object, limit: int) -> str | None:
    if value is None:
        return None
    text = one_line(value, limit)
    return text or None


def item_view(registry: Registry, kind: str, ref: str, payload: dict[str, Any]) -> ItemView:
    """An outbox payload as the reader sees it."""
    delegations = [
        f"{person(registry, d.get('grantee'))}, delegated by {person(registry, d.get('grantor'))}"
        f" until {one_line(d.get('ends', '?'), 20)}"
        for d in payload.get("delegations") or [] if isinstance(d, dict)
    ]
    reminder = payload.get("reminder")
    owner_id = _text(payload.get("owner"), NAME_LIMIT)
    return ItemView(
        ref=one_line(ref, 200),
        kind=kind,
        item=_text(payload.get("item"), 100),
        title=_text(payload.get("title"), TITLE_LIMIT),
        url=safe_url(payload.get("url")),
        source=_text(payload.get("source"), 20),
        at=_local(registry, payload.get("at")),
        actor=person(registry, payload["actor"]) if payload.get("actor") else None,
        from_owners=_people(registry, payload.get("from")),
        to_owners=_people(registry, payload.get("to")),
        reason=_text(payload.get("reason"), REASON_LIMIT),
        decision=_text(payload.get("decision"), 100),
        stage=_text(payload.get("stage"), 100),
        authorizers=_people(registry, payload.get("authorizers")),
        delegations=delegations,
        review=_text(payload.get("review"), 200) or (ref if kind != UNAUTHORIZED_CHANGE else None),
        week=_text(payload.get("week"), 20),
        breaches=[one_line(b, 60) for b in payload.get("breaches") or []],
        due=_text(payload.get("due"), 20),
        owner=person(registry, owner_id) if owner_id else None,
        owner_id=owner_id,
        closed_by=person(registry, payload["closed_by"]) if payload.get("closed_by") else None,
        note=clean(payload["note"], REASON_LIMIT) if payload.get("note") else None,
        reminder=reminder if isinstance(reminder, int) else None,
    )


def alert_view(
    registry: Registry,
    workflow: str,
    kind: str,
    items: Sequence[tuple[str, dict[str, Any]]],
    notes: Sequence[str] = (),
) -> AlertView:
    """A message about `items` ((subject ref, payload) pairs) of one workflow and kind."""
    spec = registry.workflows.get(workflow)
    name = one_line(spec.name, 150) if spec is not None else one_line(workflow, 150)
    return AlertView(
        organization=one_line(registry.organization, 100),
        workflow=one_line(workflow, 100),
        workflow_name=name or workflow,
        kind=kind,
        items=[item_view(registry, kind, ref, payload) for ref, payload in items],
        notes=[one_line(n, 300) for n in dict.fromkeys(notes)],
        outcome_owner=spec.outcome.owner if spec is not None else None,
    )


# --- email ----------------------------------------------------------------------------------


_environment = cache(email_environment)


def render_email(view: AlertView, links: PersonalLinks | None = None) -> tuple[str, str]:
    """(text, html) of the email for `view`; with `links` (one recipient's own, from
    `action_links`), each item carries its one-click buttons."""
    env = _environment()
    context = {"v": view, "kinds": _KINDS, "links": links.by_item if links else {},
               "links_expire": links.expires if links else ""}
    text = env.get_template("alerts/email.txt.j2").render(**context)
    html = env.get_template("alerts/email.html.j2").render(**context)
    return text, html


@dataclass(frozen=True)
class PersonalLinks:
    """One recipient's signed links: item ref → [(label, URL)], and when they expire."""

    by_item: dict[str, list[tuple[str, str]]]
    expires: str


def action_links(
    registry: Registry, view: AlertView, person: str, maker: LinkMaker, now: datetime,
) -> PersonalLinks:
    """The links `person` may use on `view`'s items: Ratify on an unauthorized change,
    Acknowledge and Close on a risk review still open, each only where the registry gives
    `person` that right (the rules the web app, like the CLI, will check again on the click).
    A cc reader without the right gets none: a link is never a way around the rules."""
    by_item: dict[str, list[tuple[str, str]]] = {}
    for item in view.items:
        if view.kind == UNAUTHORIZED_CHANGE:
            if view.workflow in registry.workflows and governance.may_ratify(
                    registry, person, view.workflow, item.decision) is None:
                by_item[item.ref] = [("Ratify", maker.action(person, "ratify", item.ref,
                                                             now=now))]
        elif view.kind != RISK_REVIEW_CLOSED and view.workflow in registry.workflows:
            review = item.review or item.ref
            if governance.may_handle_review(registry, person, view.workflow, "close") is None:
                by_item[item.ref] = [
                    ("Acknowledge", maker.action(person, "acknowledge", review, now=now)),
                    ("Close", maker.action(person, "close", review, now=now))]
    expires = (now + timedelta(days=maker.days)).astimezone(registry.tz)
    return PersonalLinks(by_item, expires.strftime("%Y-%m-%d %H:%M %Z"))


_KINDS = {"unauthorized": UNAUTHORIZED_CHANGE, "review": RISK_REVIEW, "late": LATE_RISK_REVIEW,
          "closed": RISK_REVIEW_CLOSED, "reminder": RISK_REVIEW_REMINDER}


# --- Slack ----------------------------------------------------------------------------------


def slack_message(view: AlertView) -> dict[str, Any]:
    """A Block Kit message: a header, one section per item, notes as context."""
    blocks = [slack.header_block(f"{view.workflow_name}: {view.headline}")]
    for item in view.items:
        blocks.append(slack.section_block(_slack_item(view, item)))
    if view.notes:
        blocks.append(slack.context_block(" · ".join(slack.escape(n) for n in view.notes)))
    return slack.message(view.subject, blocks)


def _slack_item(view: AlertView, item: ItemView) -> str:
    e = slack.escape
    if view.kind == UNAUTHORIZED_CHANGE:
        lines = [f"*{slack.link(item.url, item.item or item.ref)}* {e(item.title or '')}".strip(),
                 f"{e(item.actor or '?')} changed the owner from "
                 f"{e(', '.join(item.from_owners) or 'nobody')} to "
                 f"{e(', '.join(item.to_owners) or 'nobody')} ({e(item.at or '')})",
                 f"*Why unauthorized:* {e(item.reason or '')}"]
        could = item.authorizers + item.delegations
        if could:
            lines.append(f"*Could have authorized:* {e('; '.join(could))}")
        return "\n".join(lines)
    lines = [f"*Risk review {e(item.review or item.ref)}* (week {e(item.week or '?')})"]
    if item.breaches:
        lines.append(f"Breached: {e(', '.join(item.breaches))}")
    if item.owner:
        lines.append(f"Risk owner: {e(item.owner)}; due {e(item.due or '?')}")
    if view.kind == RISK_REVIEW_CLOSED:
        lines.append(f"Closed by {e(item.closed_by or '?')}: {e(one_line(item.note or ''))}")
    elif item.owner_id:
        lines.append(f"Acknowledge: `accountability ack {slack.code(item.review or item.ref)} "
                     f"--by {slack.code(item.owner_id)}`")
    return "\n".join(lines)


# --- PagerDuty ------------------------------------------------------------------------------


def pagerduty_trigger(view: AlertView, item: ItemView) -> dict[str, Any]:
    """Keyword arguments for `PagerDutyEvents.trigger` (without key, severity, routing)."""
    if view.kind == UNAUTHORIZED_CHANGE:
        summary = (f"Unauthorized ownership change on {item.item or item.ref} "
                   f"({view.workflow_name}): {item.actor or '?'} moved it from "
                   f"{', '.join(item.from_owners) or 'nobody'} to "
                   f"{', '.join(item.to_owners) or 'nobody'}"
                   + (f" — {item.title}" if item.title else ""))
        details: dict[str, Any] = {
            "finding": item.ref, "item": item.item, "title": item.title, "at": item.at,
            "actor": item.actor, "from": item.from_owners, "to": item.to_owners,
            "why_unauthorized": item.reason, "could_have_authorized":
            item.authorizers + item.delegations,
            "ratify": f"accountability ratify {item.ref} --by {view.outcome_owner} --note …",
        }
        component = item.item
    else:
        verb = "is overdue" if view.kind == LATE_RISK_REVIEW else "opened"
        summary = (f"Risk review {item.review or item.ref} {verb} for {view.workflow_name} "
                   f"(week {item.week}): breached {', '.join(item.breaches) or 'thresholds'}")
        details = {"review": item.review or item.ref, "week": item.week,
                   "breaches": item.breaches, "risk_owner": item.owner, "due": item.due,
                   "acknowledge": f"accountability ack {item.review or item.ref} "
                                  f"--by {item.owner_id}"}
        component = item.review
    links = [{"href": item.url, "text": item.item or item.ref}] if item.url else []
    return {"summary": summary, "source": f"accountability:{view.workflow}",
            "component": component, "group": view.workflow, "event_class": view.kind,
            "custom_details": {k: v for k, v in details.items() if v not in (None, [], "")},
            "links": links}


# --- Jira -----------------------------------------------------------------------------------


def jira_ticket(view: AlertView, item: ItemView) -> tuple[str, dict[str, Any]]:
    """(summary, ADF description) of the ticket for a risk review."""
    review = item.review or item.ref
    breaches = ", ".join(item.breaches) or "thresholds"
    summary = f"Risk review {review}: {view.workflow_name} breached {breaches}"
    blocks = [
        adf_paragraph(
            adf_text("Workflow "), adf_text(view.workflow_name, strong=True),
            adf_text(f" ({view.workflow}) breached its scorecard thresholds in week "
                     f"{item.week}. A risk review is open, owned by {item.owner or '?'}, "
                     f"due {item.due or '?'}."),
        ),
        adf_paragraph(adf_text("Breached metrics:", strong=True)),
        adf_bullets([[b] for b in item.breaches] or [["(none recorded)"]]),
        adf_paragraph(
            adf_text("Acknowledge it: "),
            adf_text(f"accountability ack {review} --by {item.owner_id or '<risk owner>'}"),
        ),
        adf_paragraph(adf_text(f"Created by Accountability Stack for {view.organization}; "
                               f"this ticket is found again by its label, do not remove it.")),
    ]
    return one_line(summary, 255), adf_doc(*blocks)
