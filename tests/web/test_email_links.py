"""Links in alert e-mails and the digest (issue #18 item 2): only when configured, each
recipient their own, and each one working end to end in the web app."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.registry_file import load_registry_file
from accountability.config.settings import Settings
from accountability.links import LinkMaker, Signer
from accountability.usecases.digest.service import produce
from accountability.usecases.dispatch import Channels, dispatch
from connectors.email import Mailbox
from rules.registry import Registry
from rules.routing import risk_review_alerts, unauthorized_change_alerts
from storage.models import AlertOutbox, Decision
from tests.alerts.conftest import (
    NOW,
    Clock,
    SmtpServer,
    channels_for,
    enqueue,
    review,
    verdict,
)
from tests.web.conftest import BASE, FINDING, KEY, REVIEW, Web

LINK = re.compile(re.escape(BASE) + r"/(l|signin)/([A-Za-z0-9._%-]+)")


def _links(message: EmailMessage) -> list[tuple[str, str]]:
    """(kind, token) of every signed link in both parts of `message`."""
    found = []
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        assert part is not None
        found += [(m.group(1), unquote(m.group(2))) for m in LINK.finditer(part.get_content())]
    return found


def _channels(smtp: SmtpServer, links: LinkMaker | None) -> Channels:
    return Channels(smtp=smtp.config(), sender=Mailbox("Accountability", "alerts@acme.example"),
                    env_file=None, links=links)


def _registry(web: Web) -> Registry:
    return load_registry_file(web.registry_path).registry


def test_alert_emails_carry_each_recipients_own_links(
    web: Web, smtp_server: SmtpServer,
) -> None:
    registry = _registry(web)
    enqueue(web.factory, unauthorized_change_alerts(registry, verdict(1))
            + risk_review_alerts(registry, review()))
    maker = LinkMaker(Signer(KEY), BASE)
    report = dispatch(web.factory, registry, _channels(smtp_server, maker), clock=Clock())
    assert report.sent == report.claimed and report.dead == 0
    signer = Signer(KEY)
    seen: dict[tuple[str, str], set[str]] = {}
    for mail in smtp_server.mailroom.received:
        assert len(mail.rcpt_tos) == 1 and "Cc" not in mail.message  # one copy per person
        person = mail.rcpt_tos[0].split("@")[0]
        for kind, token in _links(mail.message):
            link = signer.verify(token, now=NOW)
            assert (kind, link.person) == ("l", person)  # never another person's link
            seen.setdefault((person, link.action), set()).add(link.target)
    # Maria owns the outcome: Ratify the change, Acknowledge/Close the review; Lee owns the
    # risk: Acknowledge/Close; Dev approves reassignments: Ratify. Nobody else gets a link.
    assert seen == {("maria", "ratify"): {FINDING}, ("maria", "acknowledge"): {REVIEW},
                    ("maria", "close"): {REVIEW}, ("lee", "acknowledge"): {REVIEW},
                    ("lee", "close"): {REVIEW}, ("dev", "ratify"): {FINDING}}
    with web.factory() as session:
        assert {r.status for r in session.scalars(select(AlertOutbox))} == {"sent"}


def test_without_a_public_url_and_key_alert_emails_have_no_links(
    web: Web, smtp_server: SmtpServer,
) -> None:
    registry = _registry(web)
    enqueue(web.factory, unauthorized_change_alerts(registry, verdict(1)))
    dispatch(web.factory, registry, channels_for(smtp_server), clock=Clock())
    [mail] = smtp_server.mailroom.received  # one e-mail to all its recipients, as before
    assert len(mail.rcpt_tos) > 1 and _links(mail.message) == []
    assert Settings(public_url=BASE).link_maker() is None
    assert Settings(signing_key=SecretStr(KEY)).link_maker() is None


def test_maria_ratifies_from_the_alert_email_and_the_cli_shows_it(
    web: Web, smtp_server: SmtpServer, engine: Engine,
) -> None:
    registry = _registry(web)
    enqueue(web.factory, unauthorized_change_alerts(registry, verdict(1)))
    dispatch(web.factory, registry, _channels(smtp_server, LinkMaker(Signer(KEY), BASE)),
             clock=Clock())
    [mail] = smtp_server.mailroom.for_recipient("maria@acme.example")
    url = next(m.group(0) for m in LINK.finditer(mail.text))
    path = urlsplit(url).path
    assert web.client.get(path).status_code == 200  # click 1
    done = web.client.post(path, data={"csrf": web.csrf(path),  # click 2
                                       "note": "Ratified from the alert e-mail link"})
    assert done.status_code == 200 and "is ratified" in done.text
    if engine.dialect.name != "sqlite":
        return
    env = {**os.environ, "ACCOUNTABILITY_DATABASE_URL": str(engine.url),
           "ACCOUNTABILITY_REGISTRY": str(web.registry_path)}
    listed = subprocess.run([sys.executable, "-m", "accountability.cli", "findings", "--json"],
                            env=env, capture_output=True, text=True, check=True)
    [finding] = [f for f in json.loads(listed.stdout) if f["key"] == FINDING]
    assert finding["status"] == "ratified"


@pytest.fixture
def digest_settings(smtp_server: SmtpServer, web: Web) -> Iterator[Settings]:
    yield Settings(registry=web.registry_path, smtp_host=smtp_server.host,
                   smtp_port=smtp_server.port, smtp_from="Accountability <a@acme.example>",
                   public_url=BASE, signing_key=SecretStr(KEY), jira_url=None)


def _decisions(factory: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with factory() as session:
        return [(d.workflow, d.week, d.decision, d.by) for d in session.scalars(select(Decision))]


def test_leadership_records_the_weeks_decision_from_the_digest(
    web: Web, smtp_server: SmtpServer, digest_settings: Settings,
) -> None:
    loaded = load_registry_file(web.registry_path)
    report = produce(web.factory, loaded, digest_settings, week="2026-W47", send=True,
                     clock=Clock())
    assert sorted(report.sent_to) == ["dana@acme.example", "omar@acme.example",
                                      "zoe@acme.example"]
    signer = Signer(KEY)
    mails = {m.rcpt_tos[0]: m for m in smtp_server.mailroom.received}
    assert len(mails) == 3 and all(len(m.rcpt_tos) == 1 for m in mails.values())
    for address, mail in mails.items():
        links = [signer.verify(token, now=NOW) for _, token in _links(mail.message)]
        assert {link.person for link in links} == {address.split("@")[0]}
        decide = {(x.target, x.decision, x.week) for x in links if x.action == "decide"}
        assert decide == {(w, d, "2026-W47") for w in loaded.registry.workflows
                          for d in ("continue", "stabilize", "pause", "stop")}
        assert any(x.action == "signin" for x in links)
    assert report.rendered is not None and LINK.search(report.rendered.file_html) is None
    dana = mails["dana@acme.example"]
    pause = next(m.group(0) for m in re.finditer(r"Pause:\s+(\S+)", dana.text))
    path = urlsplit(pause.split()[-1]).path
    link = signer.verify(unquote(path.rsplit("/", 1)[1]), now=NOW)
    assert web.client.post(path, data={"csrf": web.csrf(path)}).status_code == 200
    assert _decisions(web.factory) == [(link.target, "2026-W47", "pause", "dana")]
    web.clock.advance(days=7)
    after = produce(web.factory, loaded, digest_settings, week="2026-W48", clock=web.clock)
    assert "Decision for 2026-W47: PAUSE, recorded by Dana Ruiz" in after.text
