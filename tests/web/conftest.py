"""The web app on a real migrated database (SQLite, and PostgreSQL where reachable), the example
registry in a file the test may edit, and a clock the test moves.

Requests go through httpx on its ASGI transport (`Client` below): the whole app, middleware
and forms included, without a socket. `tests/app/test_serve.py` covers the same app behind
uvicorn on a loopback port.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from accountability.links import LinkMaker, Signer
from accountability.web.app import create_app
from accountability.web.auth import WebSettings
from accountability.web.context import WebContext
from storage import evaluations
from storage.engine import session_factory, session_scope
from storage.models import WebAudit
from tests.alerts.conftest import (
    NOW,
    Clock,
    registry_text,
    review,
    smtp_server,  # noqa: F401  (a running aiosmtpd server)
    store_review,
    verdict,
)
from tests.web.seeded_site import site  # noqa: F401  (the read pages' seeded site fixture)

KEY = "test-signing-key-0123456789abcdef"
OTHER_KEY = "another-key-entirely-9876543210zyx"
BASE = "http://testserver"
HEADER = "X-Forwarded-Email"
FINDING = verdict(1).key  # support, decision reassignment: maria (outcome owner), dev, priya
REVIEW = "support-2026-W46"  # risk owner lee, outcome owner maria
REMOTE = "203.0.113.7"


class Client:
    """A synchronous face on `httpx.AsyncClient` + `httpx.ASGITransport` that keeps cookies
    between requests like a browser (Starlette's own TestClient is deprecated on httpx)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(REMOTE, 41000))
            async with httpx.AsyncClient(transport=transport, base_url=BASE,
                                         cookies=self.cookies) as client:
                response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
                self.cookies = client.cookies
                return response

        return asyncio.run(send())

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@dataclass
class Web:
    client: Client
    factory: sessionmaker[Session]
    clock: Clock
    registry_path: Path
    links: LinkMaker

    def link(self, person: str, action: str, target: str, **kw: str) -> str:
        """The path of a fresh signed link (as the e-mail would carry it)."""
        url = self.links.action(person, action, target, now=self.clock(), **kw)  # type: ignore[arg-type]
        return urlsplit(url).path

    def csrf(self, path: str, **headers: str) -> str:
        response = self.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        found = re.search(r'name="csrf" value="([^"]+)"', response.text)
        assert found, response.text
        return found.group(1)

    def audit(self) -> list[WebAudit]:
        with self.factory() as session:
            return list(session.scalars(select(WebAudit).order_by(WebAudit.id)))


def seed(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        evaluations.save_findings(session, [evaluations.verdict_row(verdict(1), NOW)])
    store_review(factory, review())


def make_web(engine: Engine, registry_path: Path, *, header: str | None = HEADER,
             key: str = KEY) -> Web:
    factory = session_factory(engine)
    clock = Clock(NOW)
    ctx = WebContext(sessions=factory, registry_path=registry_path, clock=clock)
    settings = WebSettings(signing_key=SecretStr(key), public_url=BASE, trusted_user_header=header)
    client = Client(create_app(ctx, settings))
    return Web(client, factory, clock, registry_path, LinkMaker(Signer(key), BASE))


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    path = tmp_path / "registry.yaml"
    text = registry_text(without_alerts=True).replace(
        "leadership: [dana, omar]", "leadership: [dana, omar, zoe]").replace(
        "  dana:   {name: Dana Ruiz,",
        "  zoe:    {name: Zoe Park, email: zoe@acme.example}\n  dana:   {name: Dana Ruiz,")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def web(engine: Engine, registry_path: Path) -> Web:
    web = make_web(engine, registry_path)
    seed(web.factory)
    return web
