"""The web app's read pages (SPEC §13): workflows, scorecards with trends, findings, risk
reviews, escalation maps, the digest archive and the 30-day reset tracker.

`routes()` is mounted by `accountability.web.app` behind its authentication middleware, which
sets `request.state.person` (a registry person id); the database, registry and clock come from
`request.app.state.web` (a `WebContext`). Every handler is a plain function (Starlette runs it
in its thread pool, beside the event loop) that only reads: a GET never acts. Action buttons
are links to `/act/...` (the actions' confirmation pages), shown only to a person the
governance rules (`rules.governance`) allow, so nobody is offered what would be refused.

Untrusted text (ticket summaries, people's names, notes, reasons quoting statuses) reaches the
templates as it is stored and is autoescaped there; the `clean` filter also drops control and
bidi characters and cuts it to a length, so a hostile summary can neither inject markup nor
reorder or flood the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from threading import Lock
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from accountability.messages.digest import render_page
from accountability.messages.pages import render_escalation_map
from accountability.usecases import reset as reset_usecase
from accountability.usecases.digest.gather import gather
from accountability.usecases.digest.gather import week_score as digest_week_score
from accountability.usecases.maps import today_in
from accountability.web.context import WebContext
from accountability.web.render import SECURITY_HEADERS, environment, page
from connectors.text import one_line, safe_url
from rules import governance
from rules.digest import TREND_WEEKS, DigestInputs, WorkflowDigest, build_digest, format_value
from rules.escalation_map import build_escalation_map
from rules.metrics import METRICS
from rules.registry import LoadedRegistry, Registry
from rules.sources import SOURCE_NAMES
from rules.weeks import parse_week, shift_week, week_bounds, week_of, weeks_between
from storage import web_queries as q
from storage.digests import DIGEST_FINDING_TYPES
from storage.evaluations import week_score
from storage.models import FINDING_STATUSES, RISK_REVIEW_STATUSES, Finding, RiskReview

TEXT_LIMIT = 300
"""Untrusted text in a list is cut here (a 100,000-character summary must not flood a page);
a finding's own page shows up to `LONG_LIMIT`."""
LONG_LIMIT = 5_000
FILTER_LIMIT = 200


class BadRequest(Exception):
    """A query parameter the page cannot use: answered 400 with this message."""


class NotFound(Exception):
    """An id that names nothing: answered 404 with this message."""


# --- plumbing -------------------------------------------------------------------------------------


def _web(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


@contextmanager
def _session(request: Request) -> Iterator[Session]:
    """A read-only session: nothing is flushed, nothing committed; closing it ends the
    transaction (rolled back) and leaves the loaded rows readable by the template."""
    with _web(request).sessions() as session:
        session.autoflush = False
        q.prepare_reads(session)
        yield session


def _person(request: Request) -> str | None:
    person = getattr(request.state, "person", None)
    return str(person) if person is not None else None


def _handled(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Turn `BadRequest` and `NotFound` into a page that says what was wrong (400, 404)."""

    def endpoint(request: Request) -> Response:
        try:
            return handler(request)
        except BadRequest as exc:
            return page(request, "pages/error.html.j2", status_code=400,
                        title="Bad request", message=str(exc))
        except NotFound as exc:
            return page(request, "pages/error.html.j2", status_code=404,
                        title="Not found", message=str(exc))

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    if len(value) > FILTER_LIMIT:
        raise BadRequest(f"'{name}' is longer than {FILTER_LIMIT} characters")
    return value


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = _param(request, name)
    if value is not None and value not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}")
    return value


def _page_number(request: Request) -> int:
    value = _param(request, "page")
    if value is None:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= q.MAX_PAGE:
        raise BadRequest(f"'page' must be a whole number from 1 to {q.MAX_PAGE}")
    return int(value)


def _week(value: str | None, name: str = "week") -> str | None:
    if value is None:
        return None
    try:
        parse_week(value)
    except ValueError as exc:
        raise BadRequest(f"'{name}': {exc}") from None
    return value


def _workflow(registry: Registry, workflow: str) -> str:
    if workflow not in registry.workflows:
        raise NotFound(f"There is no workflow '{one_line(workflow, 120)}' in the registry.")
    return workflow


def _link(path: str, params: Mapping[str, object]) -> str:
    """`path?a=1&b=2` with the parameters that have a value, URL-encoded."""
    query = urlencode({k: str(v) for k, v in params.items() if v is not None and v != ""})
    return f"{path}?{query}" if query else path


def _clean(value: object, limit: int = TEXT_LIMIT) -> str:
    return "" if value is None else one_line(value, limit)


def _install_filters() -> None:
    env = environment()
    env.filters["clean"] = _clean
    env.filters["value"] = lambda value, metric: format_value(metric, value)
    env.filters["safe_url"] = safe_url


# --- what the templates read ----------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Registry people's names for ids found in rows (an unknown id shows as itself)."""

    registry: Registry

    def __call__(self, person: str | None) -> str:
        if person is None:
            return "—"
        found = self.registry.people.get(person)
        return f"{found.name} ({person})" if found is not None else person


def _local(registry: Registry) -> Callable[[datetime | None], str]:
    tz = registry.tz

    def local(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at is not None else "—"

    return local


def _common(request: Request, loaded: LoadedRegistry) -> dict[str, Any]:
    registry = loaded.registry
    return {"registry": registry, "name": Names(registry), "local": _local(registry),
            "timezone": registry.timezone}


def _ratify_link(registry: Registry, person: str | None, row: Finding) -> str | None:
    if (person is None or row.type != "unauthorized_change" or row.status != "open"
            or row.workflow not in registry.workflows):
        return None
    decision = (row.details or {}).get("decision")
    if governance.may_ratify(registry, person, row.workflow,
                             decision if isinstance(decision, str) else None):
        return None
    return _link("/act/ratify", {"target": row.key})


def _review_links(registry: Registry, person: str | None, row: RiskReview) -> dict[str, str]:
    if person is None or row.workflow not in registry.workflows:
        return {}
    links = {}
    if row.status == "open" and not governance.may_handle_review(
            registry, person, row.workflow, "acknowledge"):
        links["acknowledge"] = _link("/act/acknowledge", {"target": row.id})
    if row.status != "closed" and not governance.may_handle_review(
            registry, person, row.workflow, "close"):
        links["close"] = _link("/act/close", {"target": row.id})
    return links


def _decide_links(registry: Registry, person: str | None, workflow: str,
                  week: str | None) -> dict[str, str]:
    if person is None or governance.may_decide(registry, person, workflow):
        return {}
    return {decision: _link("/act/decide", {"target": workflow, "decision": decision,
                                            "week": week})
            for decision in governance.DECISIONS}


def _today(web: WebContext, registry: Registry) -> date:
    return web.clock().astimezone(registry.tz).date()


# --- overview -------------------------------------------------------------------------------------


@_handled
def overview(request: Request) -> Response:
    """Each workflow: its latest week's recommendation, breaches, open reviews, unauthorized."""
    web = _web(request)
    loaded = web.loaded_registry()
    registry = loaded.registry
    workflows = list(registry.workflows)
    with _session(request) as session:
        latest = {w: q.latest_scorecard(session, w) for w in workflows}
        reviews = q.active_review_counts(session)
        unauthorized = q.open_unauthorized_counts(session, workflows)
        rows = [{"workflow": registry.workflows[w], "score": latest[w],
                 "reviews": reviews.get(w, 0), "unauthorized_open": unauthorized.get(w, 0)}
                for w in workflows]
    return page(request, "pages/overview.html.j2", rows=rows, **_common(request, loaded))


# --- scorecard ------------------------------------------------------------------------------------


def _trend(registry: Registry, workflow: str, week: str, session: Session,
           now: datetime) -> tuple[WorkflowDigest, list[Any]]:
    """The workflow's digest section for `week` (metric lines with their 8-week trend), from
    its stored scorecards alone, and those scorecards (oldest first)."""
    window = weeks_between(shift_week(week, -TREND_WEEKS), week)
    rows = q.scorecards(session, workflow, window)
    inputs = DigestInputs(week=week, now=now, scores=[digest_week_score(r) for r in rows])
    digest = build_digest(registry, inputs)
    section = next(w for w in digest.workflows if w.id == workflow)
    return section, rows


@_handled
def scorecard(request: Request) -> Response:
    """One workflow: its scorecard for a week (default the newest stored) and its trend."""
    web = _web(request)
    loaded = web.loaded_registry()
    registry = loaded.registry
    workflow = _workflow(registry, request.path_params["workflow"])
    week = _week(_param(request, "week"))
    with _session(request) as session:
        if week is None:
            newest = q.latest_scorecard(session, workflow)
            week = newest.week if newest is not None else week_of(web.clock(), registry.tz)
        section, rows = _trend(registry, workflow, week, session, web.clock())
        decisions = q.decisions(session, workflow)
        reviews = q.reviews(session, workflow=workflow, size=10)
    person = _person(request)
    weeks = [{"row": row, "cells": [_cell(m, week_score(row)) for m in METRICS]}
             for row in reversed(rows)]
    return page(
        request, "pages/workflow.html.j2", workflow=registry.workflows[workflow], week=week,
        previous_week=shift_week(week, -1), next_week=shift_week(week, 1), section=section,
        metrics=METRICS, weeks=weeks, decisions=decisions, reviews=reviews.rows,
        review_links={r.id: _review_links(registry, person, r) for r in reviews.rows},
        decide=_decide_links(registry, person, workflow, week),
        chart=_link(f"/workflows/{workflow}/trend.png", {"week": week}),
        **_common(request, loaded))


def _cell(metric: Any, score: Any) -> str:
    """A metric as the CLI's scorecard table shows it, the p90 in brackets."""
    text = str(metric.format(metric.read(score)))
    if metric.spread is None:
        return text
    return f"{text} ({metric.format(metric.spread.read(score))})"


@lru_cache(maxsize=128)
def _chart_png(weeks: tuple[str, ...], metrics: tuple[Any, ...]) -> bytes:
    """The digest's trend chart; the same input draws the same PNG (`messages.charts`), so a
    drawn chart is kept for the next request of the same data."""
    from accountability.messages.charts import trend_chart

    return trend_chart(weeks, metrics)


@_handled
def trend_png(request: Request) -> Response:
    """The 8-week trend chart ending at `week` (default the newest stored), as the digest draws
    it; the scorecard page and the digest archive both show it from here."""
    web = _web(request)
    registry = web.registry()
    workflow = _workflow(registry, request.path_params["workflow"])
    week = _week(_param(request, "week"))
    with _session(request) as session:
        if week is None:
            newest = q.latest_scorecard(session, workflow)
            if newest is None:
                raise NotFound(f"Workflow '{workflow}' has no scorecard yet: no trend to draw.")
            week = newest.week
        section, _rows = _trend(registry, workflow, week, session, web.clock())
    if not section.trend_weeks:
        raise NotFound(f"Workflow '{workflow}' has no data in the 8 weeks up to {week}.")
    png = _chart_png(tuple(section.trend_weeks), tuple(section.metrics))
    return Response(png, media_type="image/png", headers=SECURITY_HEADERS)


# --- escalation map -------------------------------------------------------------------------------


@_handled
def escalation_map(request: Request) -> Response:
    """The page `accountability map` writes, as of today in the registry's time zone."""
    web = _web(request)
    loaded = web.loaded_registry()
    workflow = _workflow(loaded.registry, request.path_params["workflow"])
    view = build_escalation_map(loaded.registry, workflow, today_in(loaded, web.clock))
    return HTMLResponse(render_escalation_map(view, loaded.content_hash),
                        headers=SECURITY_HEADERS)


# --- findings -------------------------------------------------------------------------------------


FINDING_TYPES = q.LISTED_FINDING_TYPES


def _finding_filter(request: Request, registry: Registry) -> tuple[q.FindingFilter, dict[str, str]]:
    chosen = {
        "workflow": _param(request, "workflow"),
        "status": _choice(request, "status", FINDING_STATUSES),
        "type": _choice(request, "type", FINDING_TYPES),
        "source": _choice(request, "source", SOURCE_NAMES),
        "week": _week(_param(request, "week")),
        "person": _param(request, "person"),
    }
    since = until = None
    if chosen["week"] is not None:
        since, until = week_bounds(chosen["week"], registry.tz)
    selected = {k: v for k, v in chosen.items() if v is not None}
    return q.FindingFilter(workflow=chosen["workflow"], status=chosen["status"],
                           type=chosen["type"], source=chosen["source"],
                           person=chosen["person"], since=since, until=until), selected


@_handled
def findings(request: Request) -> Response:
    """Findings newest first, 50 a page, filtered by workflow, status, type, source, week and
    person (the actor, or a previous or new owner); each with its explanation."""
    web = _web(request)
    loaded = web.loaded_registry()
    registry = loaded.registry
    wanted, selected = _finding_filter(request, registry)
    number = _page_number(request)
    with _session(request) as session:
        found = q.findings(session, wanted, number)
    person = _person(request)
    return page(
        request, "pages/findings.html.j2", page=found, selected=selected,
        ratify={r.key: _ratify_link(registry, person, r) for r in found.rows},
        previous=_link("/findings", {**selected, "page": number - 1}) if found.has_previous
        else None,
        next=_link("/findings", {**selected, "page": number + 1}) if found.has_next else None,
        statuses=FINDING_STATUSES, types=FINDING_TYPES, sources=SOURCE_NAMES,
        workflows=list(registry.workflows), people=sorted(registry.people),
        **_common(request, loaded))


@_handled
def finding(request: Request) -> Response:
    """One finding with all it says: reason, rule, the change, the item, its ratification."""
    web = _web(request)
    loaded = web.loaded_registry()
    key = request.path_params["key"]
    with _session(request) as session:
        row = q.finding(session, key)
        if row is None:
            raise NotFound(f"There is no finding with key '{one_line(key, 120)}'.")
        ratified = q.ratification(session, key)
    details = dict(row.details or {})
    return page(request, "pages/finding.html.j2", f=row, details=details,
                url=safe_url(details.get("url")), ratification=ratified,
                ratify=_ratify_link(loaded.registry, _person(request), row),
                long_limit=LONG_LIMIT, **_common(request, loaded))


# --- risk reviews ---------------------------------------------------------------------------------


@_handled
def reviews(request: Request) -> Response:
    """Risk reviews newest first, filtered by workflow and status, with due and overdue."""
    web = _web(request)
    loaded = web.loaded_registry()
    registry = loaded.registry
    selected = {k: v for k, v in {
        "workflow": _param(request, "workflow"),
        "status": _choice(request, "status", RISK_REVIEW_STATUSES)}.items() if v is not None}
    number = _page_number(request)
    with _session(request) as session:
        found = q.reviews(session, workflow=selected.get("workflow"),
                          status=selected.get("status"), number=number)
    person = _person(request)
    return page(
        request, "pages/reviews.html.j2", page=found, selected=selected,
        today=_today(web, registry), statuses=RISK_REVIEW_STATUSES,
        workflows=list(registry.workflows),
        links={r.id: _review_links(registry, person, r) for r in found.rows},
        previous=_link("/reviews", {**selected, "page": number - 1}) if found.has_previous
        else None,
        next=_link("/reviews", {**selected, "page": number + 1}) if found.has_next else None,
        **_common(request, loaded))


# --- digest archive -------------------------------------------------------------------------------


@_handled
def digests(request: Request) -> Response:
    """The weeks a digest can be shown for (finished weeks with scorecards), and which went out."""
    web = _web(request)
    loaded = web.loaded_registry()
    registry = loaded.registry
    number = _page_number(request)
    current = week_of(web.clock(), registry.tz)
    with _session(request) as session:
        weeks = q.digest_weeks(session, current, number)
        sends = q.digest_sends(session, weeks.rows)
    return page(
        request, "pages/digests.html.j2", page=weeks, sends=sends,
        previous=_link("/digests", {"page": number - 1}) if weeks.has_previous else None,
        next=_link("/digests", {"page": number + 1}) if weeks.has_next else None,
        **_common(request, loaded))


DIGEST_CACHE_SIZE = 16
_digest_cache: dict[tuple[object, ...], str] = {}
_digest_lock = Lock()


@_handled
def digest(request: Request) -> Response:
    """The digest of a week as the e-mail shows it, built from the database (the database
    keeps when a digest was sent, not its HTML; like the e-mail, risk reviews show their
    state now); its charts are the trend PNGs the scorecard pages serve.

    Building it reads every finding of the week (thousands at scale: seconds), so a built
    page is kept, keyed by the database, the week, the registry, the day and
    `digest_fingerprint` (cheap aggregates that move whenever what the digest reads moves):
    a second view costs the fingerprint, and any evaluation, ratification, review, decision
    or dead alert rebuilds it. Its "generated" time is when it was built."""
    web = _web(request)
    loaded = web.loaded_registry()
    registry = loaded.registry
    week = _week(request.path_params["week"]) or ""
    now = web.clock()
    start, end = week_bounds(week, registry.tz)
    with _session(request) as session:
        if not q.has_week(session, week):
            raise NotFound(f"There is no digest for {week}: no scorecard was stored for it.")
        key = (session.get_bind().engine.url.render_as_string(hide_password=True), week,
               loaded.content_hash, now.astimezone(registry.tz).date(),
               q.digest_fingerprint(session, start, end, DIGEST_FINDING_TYPES))
        with _digest_lock:
            html = _digest_cache.get(key)
        if html is None:
            inputs = gather(session, loaded, week, now)
    if html is None:
        built = build_digest(registry, inputs)
        images = {w.id: _link(f"/workflows/{w.id}/trend.png", {"week": week})
                  for w in built.workflows}
        html = render_page(built, images)
        with _digest_lock:
            if len(_digest_cache) >= DIGEST_CACHE_SIZE:
                _digest_cache.pop(next(iter(_digest_cache)))
            _digest_cache[key] = html
    return HTMLResponse(html, headers=SECURITY_HEADERS)


# --- 30-day reset ---------------------------------------------------------------------------------


@_handled
def reset(request: Request) -> Response:
    """The 30-day reset's checklist as `accountability reset` shows it, or why there is none."""
    web = _web(request)
    loaded = web.loaded_registry()
    tracker = None
    if loaded.registry.reset is not None:
        with _session(request) as session:
            tracker = reset_usecase.tracker(session, loaded.registry, clock=web.clock)
    return page(request, "pages/reset.html.j2", tracker=tracker, **_common(request, loaded))


def routes() -> list[BaseRoute]:
    """The read pages, all GET; `accountability.web.app` mounts them behind its sign-in."""
    _install_filters()
    return [
        Route("/", overview, methods=["GET"], name="overview"),
        Route("/workflows/{workflow}", scorecard, methods=["GET"], name="scorecard"),
        Route("/workflows/{workflow}/trend.png", trend_png, methods=["GET"], name="trend"),
        Route("/workflows/{workflow}/map", escalation_map, methods=["GET"], name="map"),
        Route("/findings", findings, methods=["GET"], name="findings"),
        Route("/findings/{key:path}", finding, methods=["GET"], name="finding"),
        Route("/reviews", reviews, methods=["GET"], name="reviews"),
        Route("/digests", digests, methods=["GET"], name="digests"),
        Route("/digests/{week}", digest, methods=["GET"], name="digest"),
        Route("/reset", reset, methods=["GET"], name="reset"),
    ]
