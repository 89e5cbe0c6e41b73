"""Alert fixtures: a real SMTP server on loopback (aiosmtpd), the demo registry, outbox rows
built by the real routing rules, and dispatcher channels pointed at the test servers."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from accountability.usecases.dispatch import Channels, DispatchPolicy, JiraAccess
from connectors.email import Mailbox, SmtpConfig
from rules.facts import ReviewState, Verdict
from rules.registry import LoadedRegistry, Registry, parse_registry
from rules.routing import Alert, risk_review_alerts, unauthorized_change_alerts
from storage import outbox as alert_outbox
from storage.engine import session_factory, session_scope
from storage.models import AlertOutbox, RiskReview

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
FAST = DispatchPolicy(max_attempts=4, batch_size=50)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    def refs(self) -> list[str]:
        """The finding keys / review ids the email lists (its "Finding:" / review lines)."""
        found = []
        for line in self.text.splitlines():
            stripped = line.strip()
            if stripped.startswith("Finding:"):
                found.append(stripped.split(":", 1)[1].strip())
            elif stripped.startswith("Risk review ") and "(week " in stripped:
                found.append(stripped.split()[2])
        return found


@dataclass
class Mailroom:
    """What the SMTP server received; `on_data` runs before it answers 250 (a test hook)."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          message))
        return "250 Message accepted for delivery"

    def for_recipient(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@dataclass
class SmtpServer:
    host: str
    port: int
    mailroom: Mailroom
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailroom, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def config(self, **overrides: Any) -> SmtpConfig:
        values: dict[str, Any] = {"host": self.host, "port": self.port, "timeout": 5.0,
                                  "from_addr": "alerts@acme.example"}
        return SmtpConfig(**(values | overrides))


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running aiosmtpd server on a free loopback port."""
    server = SmtpServer("127.0.0.1", free_port(), Mailroom())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """A port nobody listens on yet; `start()` brings the server up there."""
    server = SmtpServer("127.0.0.1", free_port(), Mailroom())
    try:
        yield server
    finally:
        server.stop()


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"alerts"
          and auth_data.password == b"s3cret-pass")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[SmtpServer, Path]]:
    """An SMTP server that requires STARTTLS (a trustme CA, written to a bundle file) and AUTH
    PLAIN as alerts / s3cret-pass."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server = SmtpServer("127.0.0.1", free_port(), Mailroom())
    server.controller = Controller(
        server.mailroom, hostname=server.host, port=server.port, tls_context=context,
        require_starttls=True, authenticator=_authenticator, auth_require_tls=True,
        auth_exclude_mechanism=["LOGIN"],
    )
    server.controller.start()
    try:
        yield server, bundle
    finally:
        server.stop()


def channels_for(
    smtp: SmtpServer, *, pagerduty_url: str = "https://events.pagerduty.com",
    jira: JiraAccess | str | None = None, ca_bundle: Path | None = None,
    transport: Any = None,
) -> Channels:
    return Channels(smtp=smtp.config(), sender=Mailbox("Accountability", "alerts@acme.example"),
                    pagerduty_events_url=pagerduty_url, jira=jira, ca_bundle=ca_bundle,
                    env_file=None, http_transport=transport)


# --- registry and outbox rows -------------------------------------------------------------


def registry_text(
    *, without_alerts: bool = False, without_slack: bool = False, lee_email: bool = True
) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    if without_slack:
        text = text.replace("      slack_webhook: env:SLACK_WEBHOOK_SUPPORT\n", "")
    if without_alerts:
        text = text.replace(
            "    alerts:\n      slack_webhook: env:SLACK_WEBHOOK_SUPPORT\n"
            "      pagerduty_routing_key: env:PD_ROUTING_KEY_SUPPORT\n"
            "      jira_risk_review: {project: RISK, issue_type: Task}\n", "")
    if not lee_email:
        text = text.replace("email: lee@acme.example,  ", "")
    return text


def load(text: str) -> LoadedRegistry:
    return parse_registry(text, "registry.yaml")


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The demo registry with support's extra channels (Slack, PagerDuty, Jira)."""
    return load(registry_text()).registry


@pytest.fixture(scope="session")
def email_only() -> Registry:
    return load(registry_text(without_alerts=True)).registry


def verdict(
    n: int = 1, *, workflow: str = "support", title: str = "Customer cannot export invoices",
    actor: str = "sam", source: str = "jira", at: datetime | None = None,
    url: str | None = None,
) -> Verdict:
    item = f"SUP-{n}" if source == "jira" else f"Q{n:06d}"
    return Verdict(
        key=f"unauthorized_change:{n:016x}", event_ref=f"jira:{n}:0", workflow=workflow,
        item=item, source=source, at=at or datetime(2026, 11, 10, 10, 20, tzinfo=UTC),
        actor=actor, from_ids=("sam",), to_ids=("nina",), decision="reassignment",
        stage="resolution", authorized=False, rule=None,
        reason=f"sam reassigned {item} from sam to nina in stage 'resolution' without authority: "
               "sam does not approve 'reassignment' (approvers: dev, priya).",
        url=url or f"https://acme.atlassian.net/browse/{item}", title=title,
    )


def review(workflow: str = "support", week: str = "2026-W46", owner: str = "lee",
           opened_at: datetime = NOW) -> ReviewState:
    return ReviewState(id=f"{workflow}-{week}", workflow=workflow, week=week, owner=owner,
                       status="open", opened_at=opened_at, due=date(2026, 12, 1),
                       breaches=("throughput", "exception_rate"))


def enqueue(factory: sessionmaker[DbSession], alerts: list[Alert], *, due: datetime = NOW) -> int:
    """Queue `alerts` as the evaluation would at the test's clock (`NOW`)."""
    with session_scope(factory) as session:
        return alert_outbox.enqueue(session, [a.row() for a in alerts], due=due)


def store_review(factory: sessionmaker[DbSession], state: ReviewState) -> None:
    with session_scope(factory) as session:
        session.add(RiskReview(id=state.id, workflow=state.workflow, week=state.week,
                               owner=state.owner, status=state.status,
                               opened_at=state.opened_at, due=state.due,
                               breaches=list(state.breaches)))


def outbox(factory: sessionmaker[DbSession]) -> list[AlertOutbox]:
    with factory() as session:
        return list(session.scalars(select(AlertOutbox).order_by(AlertOutbox.id)))


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[DbSession]:
    return session_factory(engine)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def seeded_alerts(registry: Registry, changes: int = 2) -> list[Alert]:
    alerts = [a for n in range(1, changes + 1) for a in unauthorized_change_alerts(
        registry, verdict(n))]
    return alerts + risk_review_alerts(registry, review())
