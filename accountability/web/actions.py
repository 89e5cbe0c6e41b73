"""The four governance actions on the web (SPEC §13): acknowledge, close, ratify, decide.

Two doors, one room:

- `/act/{action}?target=…` for a signed-in person (SSO header or session);
- `/l/{token}` for a signed link from an e-mail: the link names the person, the action and
  the target, so nobody has to sign in.

A GET only shows a confirmation page (mail scanners and link previews open links); the POST,
with its CSRF token, acts by calling `accountability.usecases.governance` — the functions the
CLI calls — so a person may do on the web exactly what `--by` that person may do on the command
line, refused with the same sentence. The person recorded is the one authenticated, never a
form field. Every POST writes an audit row (`storage.audit`) in the transaction of the action
itself; a refusal writes its row and nothing else. An action link acts at most once: a second
POST shows "already done" and writes nothing (the audit table's unique index on the nonce of a
link that acted holds even when two clicks race).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from accountability.clock import Clock
from accountability.config.errors import UsageError
from accountability.links import ACTIONS, LinkError, SignedLink
from accountability.origin import Origin, OriginSource
from accountability.usecases import governance
from accountability.web.auth import (
    context_of,
    csrf_binding,
    csrf_ok,
    csrf_token,
    remote,
    signer_of,
)
from accountability.web.context import WebContext
from accountability.web.render import page
from rules import governance as rights
from rules.registry import Registry
from rules.weeks import shift_week, week_of
from storage import audit
from storage import evaluations as store
from storage.engine import session_scope
from storage.models import Decision

NOTE_LIMIT: Final = 2000
PREFILLED_NOTES: Final = {"ratify": "Ratified from the alert e-mail link",
                          "close": "Closed from the alert e-mail link"}
"""The note a one-click link offers (the CLI refuses an empty note, so does the web); the
person can change it on the confirmation page before pressing the button."""


@dataclass(frozen=True)
class Act:
    """One action as asked: what, on which target, and for `decide` the decision and week."""

    action: str
    target: str
    decision: str | None = None
    week: str | None = None

    @property
    def title(self) -> str:
        return {"acknowledge": "Acknowledge a risk review", "close": "Close a risk review",
                "ratify": "Ratify a finding",
                "decide": "Record a decision"}.get(self.action, self.action)

    @property
    def verb(self) -> str:
        if self.action == "decide":
            week = f" for week {self.week}" if self.week else " for the week just ended"
            return f"record the decision '{self.decision}' on workflow '{self.target}'{week}"
        noun = "finding" if self.action == "ratify" else "risk review"
        return f"{self.action} {noun} '{self.target}'"

    @property
    def button(self) -> str:
        return {"acknowledge": "Acknowledge", "close": "Close the review", "ratify": "Ratify",
                "decide": f"Record: {self.decision}"}.get(self.action, self.action)

    @property
    def note_required(self) -> bool:
        return self.action in ("close", "ratify")


@dataclass(frozen=True)
class How:
    """How the request was authenticated, for the audit row and the origin columns."""

    auth: str  # "link" | "header" | "session"
    remote_addr: str | None
    link_nonce: str | None = None


@dataclass(frozen=True)
class Outcome:
    outcome: str  # "done" | "already_done" | "refused"
    message: str
    week: str | None = None  # the week a decision was recorded for


@cache
def _host() -> str:
    return socket.gethostname() or "unknown"


def web_origin(how: How) -> Origin:
    """The governance origin columns of a web action: `os_user` says it came from the web and
    how the person was authenticated (`web:link`, `web:header`, `web:session`), `host` the
    machine that served it (docs/operations.md, "Web app")."""
    return Origin(os_user=f"web:{how.auth}", host=_host(), flow_run_id=None)


def perform(ctx: WebContext, person: str, act: Act, note: str, how: How) -> Outcome:
    """Take `act` for `person` and audit it; see the module docstring."""
    registry = ctx.registry()
    now = ctx.clock()
    entry = audit.AuditEntry(at=now, person=person, action=act.action, target=act.target,
                             decision=act.decision, week=act.week, outcome="done",
                             auth=how.auth, link_nonce=how.link_nonce,
                             remote_addr=how.remote_addr)
    try:
        with session_scope(ctx.sessions) as session:
            if how.link_nonce is not None and audit.link_used(session, how.link_nonce):
                return Outcome("already_done", _REPLAYED)
            done = _run(session, registry, person, act, note, how, now)
            entry = replace(entry, week=done.week or act.week)
            if done.outcome == "already_done":
                entry = replace(entry, outcome="already_done", reason=done.message)
            audit.record(session, entry)
        return done
    except IntegrityError:  # another click on the same link acted first
        return Outcome("already_done", _REPLAYED)
    except UsageError as exc:
        refuse(ctx, replace(entry, outcome="refused", reason=str(exc)))
        return Outcome("refused", str(exc))


_REPLAYED = "This link was used already: the action it carries was taken, and a link acts once."


def refuse(ctx: WebContext, entry: audit.AuditEntry) -> None:
    """Write the audit row of a refused POST, in its own transaction (nothing else is)."""
    with session_scope(ctx.sessions) as session:
        audit.record(session, entry)


def _run(session: Session, registry: Registry, person: str, act: Act, note: str,
         how: How, now: datetime) -> Outcome:
    def origin() -> Origin:
        return web_origin(how)

    def clock() -> datetime:  # one reading per request: the action and its audit row agree
        return now
    if act.action == "acknowledge":
        before = store.get_review(session, act.target)
        was = before.status if before is not None else None
        try:
            review = governance.acknowledge(session, registry, act.target, person,
                                            clock=clock, origin=origin)
        except governance.AlreadyDone as exc:
            return Outcome("already_done", str(exc))
        if was == "acknowledged":
            return Outcome("already_done", f"risk review '{review.id}' was acknowledged already "
                                           f"(by {review.acknowledged_by})")
        return Outcome("done", f"Risk review '{review.id}' is acknowledged: its reminders stop.")
    if act.action == "close":
        try:
            governance.close(session, registry, act.target, person, note, clock=clock,
                             origin=origin)
        except governance.AlreadyDone as exc:
            return Outcome("already_done", str(exc))
        return Outcome("done", f"Risk review '{act.target}' is closed; the people it was sent "
                               "to get the resolved message.")
    if act.action == "ratify":
        try:
            governance.ratify(session, registry, act.target, person, note, clock=clock,
                              origin=origin)
        except governance.AlreadyDone as exc:
            return Outcome("already_done", str(exc))
        return Outcome("done", f"Finding '{act.target}' is ratified: from the next evaluation "
                               "on it no longer counts against the scorecard.")
    if act.action == "decide":
        return _decide(session, registry, person, act, note, clock, origin)
    raise UsageError(f"unknown action '{act.action}' (one of {', '.join(ACTIONS)})")


def _decide(session: Session, registry: Registry, person: str, act: Act, note: str,
            clock: Clock, origin: OriginSource) -> Outcome:
    """Decisions are append-only (a leader may change their mind); the same decision for the
    same week recorded again by the same person is a second click, not a new decision. The
    rights come first (`rules.governance.may_decide`, the rule `governance.decide` applies)."""
    if act.target in registry.workflows:
        refusal = rights.may_decide(registry, person, act.target)
        if refusal:
            raise UsageError(refusal)
        week = act.week or shift_week(week_of(clock(), registry.tz), -1)
        latest = session.scalars(
            select(Decision).where(Decision.workflow == act.target, Decision.week == week)
            .order_by(Decision.recorded_at.desc(), Decision.id.desc())).first()
        if latest is not None and latest.decision == act.decision and latest.by == person:
            return Outcome("already_done", f"'{act.decision}' is already the decision you "
                                           f"recorded for '{act.target}' in week {week}",
                           week)
    week = governance.decide(session, registry, act.target, act.decision or "", person,
                             note.strip() or None, act.week, clock=clock, origin=origin)
    return Outcome("done", f"Decision '{act.decision}' recorded for '{act.target}', week "
                           f"{week}.", week)




# --- pages ----------------------------------------------------------------------------------


def _details(ctx: WebContext, act: Act) -> list[tuple[str, str]]:
    """What the confirmation page shows about the target (autoescaped by the template)."""
    registry = ctx.registry()
    with ctx.sessions() as session:
        if act.action == "ratify":
            finding = store.get_finding(session, act.target)
            if finding is None:
                return [("Finding", f"{act.target} (not found)")]
            rows = [("Finding", finding.key), ("Workflow", finding.workflow or "registry-wide"),
                    ("Item", finding.item or ""), ("Why it was flagged", finding.reason),
                    ("Status", finding.status)]
            return [(k, v) for k, v in rows if v]
        if act.action in ("acknowledge", "close"):
            review = store.get_review(session, act.target)
            if review is None:
                return [("Risk review", f"{act.target} (not found)")]
            return [("Risk review", review.id), ("Workflow", review.workflow),
                    ("Week", review.week), ("Breached", ", ".join(review.breaches) or "—"),
                    ("Status", review.status), ("Due", review.due.isoformat())]
    spec = registry.workflows.get(act.target)
    return [("Workflow", f"{spec.name} ({act.target})" if spec else act.target),
            ("Decision", act.decision or ""), ("Week", act.week or "the week just ended")]


def _result(request: Request, outcome: Outcome) -> Response:
    title = {"done": "Done", "already_done": "Already done"}.get(outcome.outcome, "Refused")
    status = 403 if outcome.outcome == "refused" else 200
    return page(request, "web/message.html.j2", status, title=title, message=outcome.message,
                ok=outcome.outcome != "refused", hint=None)


def _refusal(request: Request, status: int, message: str, hint: str | None = None) -> Response:
    return page(request, "web/message.html.j2", status, title="Refused", message=message,
                ok=False, hint=hint)


def _name(registry: Registry, person: str) -> str:
    known = registry.people.get(person)
    return f"{known.name} ({person})" if known is not None else person


_CSRF_REFUSAL = ("This form was not sent from this app's own confirmation page (missing or "
                 "wrong CSRF token), so nothing was done. Open the page again and press the "
                 "button there.")


# --- signed-in: /act/{action} ---------------------------------------------------------------


def _asked(request: Request, values: dict[str, str]) -> Act | Response:
    action = request.path_params["action"]
    if action not in ACTIONS:
        return _refusal(request, 404, f"There is no action '{action}' "
                                      f"(one of {', '.join(ACTIONS)}).")
    target = values.get("target", "").strip()
    if not target:
        return _refusal(request, 400, "Say what to act on: ?target=… (a risk review id, a "
                                      "finding key or a workflow id).")
    decision = values.get("decision") or None
    if action == "decide" and decision not in rights.DECISIONS:
        return _refusal(request, 400, f"decision must be one of {', '.join(rights.DECISIONS)}")
    return Act(action, target, decision if action == "decide" else None,
               (values.get("week") or None) if action == "decide" else None)


async def act_confirm(request: Request) -> Response:
    act = _asked(request, dict(request.query_params))
    if isinstance(act, Response):
        return act
    ctx = context_of(request)
    return page(request, "web/confirm.html.j2", act=act, via_link=False,
                actor=_name(ctx.registry(), request.state.person), details=_details(ctx, act),
                post_url=request.url.path, note="", expires=None,
                csrf=csrf_token(signer_of(request), csrf_binding(request), ctx.clock()))


async def act_post(request: Request) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    act = _asked(request, values)
    if isinstance(act, Response):
        return act
    ctx = context_of(request)
    how = How(auth=request.state.auth, remote_addr=remote(request))
    if not csrf_ok(signer_of(request), values.get("csrf"), csrf_binding(request), ctx.clock()):
        refuse(ctx, _entry(ctx, request.state.person, act, how, "missing or wrong CSRF token"))
        return _refusal(request, 403, _CSRF_REFUSAL)
    return _result(request, perform(ctx, request.state.person, act,
                                    values.get("note", "")[:NOTE_LIMIT], how))


def _entry(ctx: WebContext, person: str | None, act: Act | None, how: How,
           reason: str) -> audit.AuditEntry:
    return audit.AuditEntry(at=ctx.clock(), person=person,
                            action=act.action if act else "unknown",
                            target=act.target if act else None,
                            decision=act.decision if act else None,
                            week=act.week if act else None, outcome="refused", auth=how.auth,
                            reason=reason, link_nonce=how.link_nonce,
                            remote_addr=how.remote_addr)


# --- signed links: /l/{token} ---------------------------------------------------------------


def _link(request: Request, posting: bool) -> SignedLink | Response:
    """The link of this URL, or the refusal page (a POST's refusal is audited)."""
    ctx = context_of(request)
    token = request.path_params["token"]
    how = How(auth="link", remote_addr=remote(request))
    try:
        link = signer_of(request).verify(token, now=ctx.clock())
    except LinkError as exc:
        known = getattr(exc, "link", None)
        if posting:
            act = Act(known.action, known.target, known.decision, known.week) if known else None
            refuse(ctx, _entry(ctx, known.person if known else None, act,
                               replace(how, link_nonce=known.nonce if known else None),
                               str(exc)))
        hint = ("Links from e-mails are valid for a limited time; the next e-mail about it "
                "carries a fresh one, or use the command line.") if known else (
                "Copy the whole link from the e-mail; if it still fails, the e-mail was not "
                "sent by this server.")
        return _refusal(request, exc.status, f"This link cannot be used: {exc}.", hint)
    if link.action not in ACTIONS:
        return _refusal(request, 403, "This is not an action link.")
    return link


async def link_confirm(request: Request) -> Response:
    link = _link(request, posting=False)
    if isinstance(link, Response):
        return link
    ctx = context_of(request)
    with ctx.sessions() as session:
        if audit.link_used(session, link.nonce):
            return _result(request, Outcome("already_done", _REPLAYED))
    act = Act(link.action, link.target, link.decision, link.week)
    return page(request, "web/confirm.html.j2", act=act, via_link=True,
                actor=_name(ctx.registry(), link.person), details=_details(ctx, act),
                post_url=request.url.path, note=PREFILLED_NOTES.get(link.action, ""),
                expires=f"{link.expires:%Y-%m-%d %H:%M} UTC",
                csrf=csrf_token(signer_of(request), f"link:{link.nonce}", ctx.clock()))


async def link_post(request: Request) -> Response:
    link = _link(request, posting=True)
    if isinstance(link, Response):
        return link
    ctx = context_of(request)
    form = await request.form()
    act = Act(link.action, link.target, link.decision, link.week)
    how = How(auth="link", remote_addr=remote(request), link_nonce=link.nonce)
    if not csrf_ok(signer_of(request), form.get("csrf"), f"link:{link.nonce}", ctx.clock()):
        refuse(ctx, _entry(ctx, link.person, act, how, "missing or wrong CSRF token"))
        return _refusal(request, 403, _CSRF_REFUSAL)
    note = form.get("note")
    return _result(request, perform(ctx, link.person, act,
                                    (note if isinstance(note, str) else "")[:NOTE_LIMIT], how))


def routes() -> list[BaseRoute]:
    return [
        Route("/act/{action}", act_confirm, methods=["GET"]),
        Route("/act/{action}", act_post, methods=["POST"]),
        Route("/l/{token}", link_confirm, methods=["GET"]),
        Route("/l/{token}", link_post, methods=["POST"]),
    ]
