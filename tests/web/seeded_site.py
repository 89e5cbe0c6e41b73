"""The read pages of the web app on a seeded database, as `accountability.web.app` mounts them.

The database is seeded row by row (findings, scorecards, reviews, decisions, a digest send),
so a test asserts against the rows it knows, not against what the code under test returns.
Some of the text is hostile (markup, an attribute break-out, bidi overrides, a 100,000-character
summary), as Jira and PagerDuty may send it; the registry names a person with markup too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from accountability.web import pages
from accountability.web.context import WebContext
from storage.engine import make_engine, session_factory, session_scope
from storage.migrate import upgrade
from storage.models import Decision, DigestSend, Finding, Ratification, RiskReview, Scorecard
from tests.conftest import create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 Berlin: 2026-W47 just ended
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(2)>'
BIDI = "\u202egnp.exe"
HOSTILE = f"{SCRIPT}{BREAKOUT}{BIDI}"
LONG = "A" * 100_000
HOSTILE_NAME = f"Maria {SCRIPT}"
WEEKS = [f"2026-W{n}" for n in range(40, 48)]


@dataclass
class Seeded:
    findings: list[dict[str, object]] = field(default_factory=list)
    reviews: list[dict[str, object]] = field(default_factory=list)


def _finding(n: int) -> dict[str, object]:
    """Finding n: a spread of workflows, types, statuses, sources and people, one hour apart."""
    workflow = ("support", "renewals", "onboarding")[n % 3]
    kind = ("unauthorized_change", "unauthorized_change", "ownership_churn", "unowned_item")[n % 4]
    status = "ratified" if n % 5 == 0 and kind == "unauthorized_change" else "open"
    source = ("jira", "pagerduty")[n % 2] if kind == "unauthorized_change" else None
    at = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n * 3)
    actor = ("sam", "alex", "kim", None)[n % 4]
    details: dict[str, object] = {"url": f"https://acme.atlassian.net/browse/SUP-{n}",
                                  "title": f"Printer {n} on fire", "stage": "resolution",
                                  "decision": "reassignment"}
    if source:
        details["source"] = source
    return {"key": f"{kind}:{n:04d}", "type": kind, "workflow": workflow, "item": f"SUP-{n}",
            "at": at, "actor": actor, "from_ids": ["dev"] if n % 2 else [],
            "to_ids": ["lee"] if n % 3 == 0 else ["maria"], "rule": None,
            "reason": f"Reason number {n}.", "status": status, "details": details,
            "first_seen_at": at, "updated_at": at}


def seed(url: str) -> Seeded:
    seeded = Seeded()
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            for n in range(120):
                row = _finding(n)
                seeded.findings.append(row)
                session.add(Finding(**row))
            at = datetime(2026, 11, 20, 9, tzinfo=UTC)
            hostile = {"key": "unauthorized_change:hostile", "type": "unauthorized_change",
                       "workflow": "support", "item": f"SUP-666{HOSTILE}", "at": at,
                       "actor": HOSTILE, "from_ids": [HOSTILE], "to_ids": ["maria"],
                       "rule": None, "reason": f"Moved {HOSTILE} {LONG}", "status": "open",
                       "details": {"url": f"javascript:alert(3)//{BREAKOUT}",
                                   "title": f"{HOSTILE}{LONG}", "source": "jira",
                                   "decision": "reassignment", "stage": HOSTILE},
                       "first_seen_at": at, "updated_at": at}
            seeded.findings.append(hostile)
            session.add(Finding(**hostile))
            session.flush()
            session.add(Ratification(finding_key="unauthorized_change:0000", by="maria",
                                     note=f"fine {HOSTILE}", at=at))
            for index, week in enumerate(WEEKS):
                session.add(Scorecard(
                    workflow="support", week=week, throughput=10 + index, quality_trend=0.01,
                    exception_rate=0.1 + index / 100, rework_volume=index,
                    decision_latency_hours=5.5, decision_latency_p90_hours=12.0,
                    unauthorized_changes=index % 3, reopened=0,
                    breaches=["throughput"] + (["unauthorized_changes"] if index % 3 else []),
                    recommendation="stabilize", recommendation_rule=f"breach {HOSTILE}",
                    computed_at=NOW))
            session.add(Scorecard(
                workflow="renewals", week="2026-W47", throughput=20, quality_trend=None,
                exception_rate=0.0, rework_volume=0, decision_latency_hours=None,
                decision_latency_p90_hours=None, unauthorized_changes=0, reopened=0,
                breaches=[], recommendation="continue", recommendation_rule="no breach",
                computed_at=NOW))
            for n, (workflow, week, status) in enumerate((
                    ("support", "2026-W45", "closed"), ("support", "2026-W46", "acknowledged"),
                    ("support", "2026-W47", "open"), ("renewals", "2026-W46", "open"))):
                row = {"id": f"{workflow}-{week}", "workflow": workflow, "week": week,
                       "owner": "lee", "status": status,
                       "opened_at": datetime(2026, 11, 3 + 7 * n, 7, tzinfo=UTC),
                       "due": date(2026, 11, 6 + 7 * n), "breaches": ["throughput"],
                       "acknowledged_by": "lee" if status != "open" else None,
                       "closed_by": "maria" if status == "closed" else None,
                       "close_note": f"done {HOSTILE}" if status == "closed" else None}
                seeded.reviews.append(row)
                session.add(RiskReview(**row))
            session.add(Decision(workflow="support", week="2026-W46", decision="stabilize",
                                 by="dana", note=f"note {HOSTILE}", recorded_at=NOW))
            session.add(DigestSend(week="2026-W46", sent_at=datetime(2026, 11, 16, 7, tzinfo=UTC),
                                   recipients=["dana@acme.example"], message_id="<m@x>"))
    finally:
        engine.dispose()
    return seeded


def hostile_registry(folder: Path, with_reset: bool = True) -> Path:
    """The example registry, Maria's name made hostile, with a reset of `support`."""
    text = EXAMPLE.read_text().replace("Maria Chen", json.dumps(HOSTILE_NAME)[1:-1])
    if with_reset:
        text += "\nreset: {workflow: support, started: 2026-11-02}\n"
    path = folder / "registry.yaml"
    path.write_text(text)
    return path


class AsPerson(BaseHTTPMiddleware):
    """What the sign-in middleware does for the pages: `request.state.person` (a test header
    names the person; maria by default)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.person = request.headers.get("x-test-person", "maria")
        return await call_next(request)


@dataclass
class Site:
    client: httpx.Client
    seeded: Seeded
    statements: list[str]
    engine: Engine
    url: str


def make_app(url: str, registry: Path) -> tuple[Starlette, Engine]:
    engine = make_engine(url)
    app = Starlette(routes=pages.routes(), middleware=[Middleware(AsPerson)])
    app.state.web = WebContext(sessions=session_factory(engine), registry_path=registry,
                               clock=lambda: NOW)
    return app, engine


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The seeded site on a fresh SQLite file, and on a fresh PostgreSQL database (the JSON
    filters and the index hint are dialect-specific)."""
    folder = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'accountability.db'}"
    else:
        admin = request.getfixturevalue("pg_admin_url")
        database = create_pg_database(admin)
        request.addfinalizer(lambda: drop_pg_database(admin, database))
        url = database.render_as_string(hide_password=False)
    upgrade(url)
    seeded = seed(url)
    app, engine = make_app(url, hostile_registry(folder))
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield Site(client, seeded, statements, engine, url)
    engine.dispose()


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """The app behind uvicorn on a loopback port, as `accountability serve` runs it: real HTTP."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def get(site: Site, path: str, as_person: str = "maria", **params: str) -> httpx.Response:
    return site.client.get(path, params=params, headers={"x-test-person": as_person})
