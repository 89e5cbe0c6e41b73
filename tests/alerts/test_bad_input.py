"""Untrusted text from Jira / PagerDuty (and the registry) in every channel: escaped in HTML,
no CR/LF in headers, cut where a channel has a limit, still readable."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session, sessionmaker

from accountability.messages.alerts import (
    TITLE_LIMIT,
    alert_view,
    jira_ticket,
    pagerduty_trigger,
    slack_message,
)
from accountability.usecases.dispatch import dispatch
from connectors.text import clean, one_line, safe_url
from rules.registry import Registry
from rules.routing import unauthorized_change_alerts
from tests.alerts.conftest import Clock, SmtpServer, channels_for, enqueue, load, registry_text
from tests.alerts.conftest import verdict as make_verdict

EVIL = ("<script>alert('x')</script>\r\nBcc: attacker@evil.example\r\n"
        "Réunion 🚨 עדכון דחוף \u202etxt.exe\u202c " + "A" * 10_000)


@pytest.fixture(scope="module")
def evil_registry() -> Registry:
    text = registry_text(without_slack=False).replace(
        "name: Support resolution time",
        'name: "Support <i>resolution</i> time\\r\\nBcc: boss@evil.example 🚀"')
    return load(text).registry


def view(registry: Registry) -> object:
    verdict = make_verdict(1, title=EVIL, url="javascript:alert(1)")
    payload = unauthorized_change_alerts(registry, verdict)[0].payload
    return alert_view(registry, "support", "unauthorized_change", [(verdict.key, payload)])


def test_email_escapes_html_flattens_headers_and_cuts_long_titles(
    factory: sessionmaker[Session], evil_registry: Registry, smtp_server: SmtpServer,
) -> None:
    email_rows = [a for a in unauthorized_change_alerts(
        evil_registry, make_verdict(1, title=EVIL, url="javascript:alert(1)"))
        if a.channel == "email"]
    enqueue(factory, email_rows)
    report = dispatch(factory, evil_registry, channels_for(smtp_server), clock=Clock())
    assert report.sent == 2
    (mail,) = smtp_server.mailroom.received
    assert sorted(mail.rcpt_tos) == ["dev@acme.example", "maria@acme.example"]
    assert mail.message["Bcc"] is None
    subject = mail.message["Subject"].strip()
    assert "\r" not in subject and "\n" not in subject
    assert subject == ("[Accountability] Support <i>resolution</i> time Bcc: boss@evil.example 🚀:"
                       " 1 unauthorized ownership change")
    html, text = mail.html, mail.text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<i>resolution</i>" not in html and "&lt;i&gt;resolution&lt;/i&gt;" in html
    assert "javascript:" not in html and 'href="javascript' not in html
    assert "\u202e" not in html + text  # bidi overrides removed; RTL letters stay
    assert "עדכון דחוף" in html and "עדכון דחוף" in text and "🚨" in text
    title_line = next(line for line in text.splitlines() if line.startswith("1. SUP-1"))
    assert "Bcc: attacker@evil.example" in title_line  # shown, on the title's own line
    assert not any(line.startswith("Bcc:") for line in text.splitlines())
    assert len(title_line) < TITLE_LIMIT + 20 and title_line.endswith("…")
    assert len(mail.message.as_bytes()) < 60_000  # 10,000 characters did not travel whole


def test_slack_escapes_mrkdwn_and_respects_block_limits(evil_registry: Registry) -> None:
    message = slack_message(view(evil_registry))  # type: ignore[arg-type]
    header = message["blocks"][0]["text"]["text"]
    section = message["blocks"][1]["text"]["text"]
    assert len(header) <= 150 and "\n" not in header
    assert len(section) <= 3000
    assert "<script>" not in section and "&lt;script&gt;" in section
    assert "<javascript" not in section  # no link for a javascript: URL
    assert "עדכון דחוף" in section
    assert len(message["text"]) <= 4000


def test_pagerduty_and_jira_fields_are_single_lines_within_limits(
    evil_registry: Registry,
) -> None:
    v = view(evil_registry)
    item = v.items[0]  # type: ignore[attr-defined]
    event = pagerduty_trigger(v, item)  # type: ignore[arg-type]
    assert "\n" not in event["summary"] and "\r" not in event["summary"]
    assert event["links"] == []  # javascript: dropped
    summary, description = jira_ticket(v, item)  # type: ignore[arg-type]
    assert len(summary) <= 255 and "\n" not in summary
    assert "\r" not in json.dumps(description)


@pytest.mark.parametrize(
    ("url", "kept"),
    [("https://acme.atlassian.net/browse/SUP-1", True), ("javascript:alert(1)", False),
     ("https://x.example/a b", False), ('https://x.example/"><script>', False),
     ("data:text/html,hi", False), (None, False)],
    ids=["https", "javascript", "space", "quote", "data", "none"],
)
def test_only_plain_http_links_are_kept(url: str | None, kept: bool) -> None:
    assert (safe_url(url) is not None) == kept


def test_text_helpers_keep_what_is_readable() -> None:
    assert one_line("a\r\nb\tc\u2028d\x00e", 100) == "a b c de"
    assert one_line("x" * 50, 10) == "x" * 9 + "…"
    assert clean("line 1\r\nline 2\x07\u202e", None) == "line 1\nline 2"


def test_slack_shows_formatting_characters_from_data_as_text(evil_registry: Registry) -> None:
    """Issue 15 item 15: a ticket titled `*URGENT* _now_ ~x~ `rm``, or a workflow name with
    `<!channel>`, formats nothing and mentions nobody, in the blocks and in the fallback;
    our own labels stay bold; every mrkdwn text object is `verbatim`."""
    text = registry_text().replace(
        "name: Support resolution time", 'name: "*Support* <!channel> & _team_"')
    registry = load(text).registry
    title = "*URGENT* _now_ ~struck~ `rm -rf` <@U0ADMIN> & co"
    verdict = make_verdict(1, title=title)
    payload = unauthorized_change_alerts(registry, verdict)[0].payload
    message = slack_message(alert_view(registry, "support", "unauthorized_change",
                                       [(verdict.key, payload)]))
    section = message["blocks"][1]["text"]
    assert section["verbatim"] is True
    assert ("∗URGENT∗ ˍnowˍ ∼struck∼ ˋrm -rfˋ &lt;@U0ADMIN&gt; &amp; co" in section["text"])
    assert "*Why unauthorized:*" in section["text"]  # our own formatting stays
    mrkdwn = [o for b in message["blocks"] for o in [b.get("text"), *b.get("elements", [])]
              if isinstance(o, dict) and o.get("type") == "mrkdwn"]
    assert mrkdwn and all(o["verbatim"] is True for o in mrkdwn)
    fallback = message["text"]
    assert fallback == ("[Accountability] ∗Support∗ &lt;!channel&gt; &amp; ˍteamˍ: "
                        "1 unauthorized ownership change")
    review_item = alert_view(registry, "support", "risk_review", [(
        "support-2026-W46", {"review": "support-2026-W46", "week": "2026-W46",
                             "owner": "lee", "breaches": ["exception_rate"]})])
    review_text = slack_message(review_item)["blocks"][1]["text"]["text"]
    assert "Breached: exceptionˍrate" in review_text
    assert "`accountability ack support-2026-W46 --by lee`" in review_text  # copyable
