"""SMTP email against a real server on loopback (aiosmtpd): what arrives, and how it fails."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr

from accountability.config.errors import ConfigError
from accountability.config.settings import load_settings
from connectors.channel_errors import ChannelConfigError, ChannelError
from connectors.email import Mailbox, SmtpConfig, SmtpSender, compose
from tests.alerts.conftest import Mailroom, SmtpServer, free_port

SENDER = Mailbox("Accountability", "alerts@acme.example")
MARIA = Mailbox("Maria Chen", "maria@acme.example")
DEV = Mailbox("Dev Patel", "dev@acme.example")


def message(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "subject": "[Accountability] Support resolution time: 2 unauthorized ownership changes",
        "sender": SENDER, "to": [MARIA], "cc": [DEV], "text": "plain body\n",
        "html": "<p>html body</p>", "date": datetime(2026, 11, 28, 9, tzinfo=UTC),
        "headers": {"X-Accountability-Kind": "unauthorized_change"},
    }
    return compose(**(values | overrides))


def test_compose_builds_multipart_alternative_with_both_parts() -> None:
    msg = message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert {p["Content-Transfer-Encoding"] for p in msg.iter_parts()} == {"quoted-printable"}
    assert msg["Message-ID"].endswith("@acme.example>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert str(msg["To"]) == "Maria Chen <maria@acme.example>"


def test_header_injection_is_flattened_and_names_are_encoded_not_parsed() -> None:
    evil = Mailbox('Eve, "x" <eve@evil.example>\r\nBcc: attacker@evil.example 😀 שלום',
                   "maria@acme.example")
    msg = message(subject="Alert\r\nBcc: attacker@evil.example", to=[evil], cc=[])
    wire = msg.as_bytes(policy=policy.SMTP)
    parsed = message_from_bytes(wire, policy=policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Alert Bcc: attacker@evil.example"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["maria@acme.example"]
    assert "😀" in parsed["To"].addresses[0].display_name


def test_a_bad_address_is_a_fatal_error() -> None:
    with pytest.raises(ChannelError, match="not a usable address") as caught:
        message(to=[Mailbox("X", "x,y@acme.example")])
    assert not caught.value.retriable


def test_the_message_arrives_once_with_recipients_headers_and_both_parts(
    smtp_server: SmtpServer,
) -> None:
    msg = message()
    with SmtpSender(smtp_server.config()) as smtp:
        result = smtp.send(msg)
    (got,) = smtp_server.mailroom.received
    assert got.rcpt_tos == ["maria@acme.example", "dev@acme.example"]
    assert got.mail_from == "alerts@acme.example"
    assert got.message["Message-ID"] == result.message_id == msg["Message-ID"]
    # a long subject is folded after "Subject:"; unfolding (RFC 5322 §2.2.3) restores it
    assert got.message["Subject"].strip() == msg["Subject"]
    assert (str(got.message["To"]), str(got.message["Cc"])) == (
        "Maria Chen <maria@acme.example>", "Dev Patel <dev@acme.example>")
    assert got.text == "plain body\n" and "<p>html body</p>" in got.html
    assert result.refused == {}


def test_smtp_down_is_unreachable_and_names_the_settings() -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), timeout=2)
    with SmtpSender(config) as smtp, pytest.raises(ChannelError) as caught:
        smtp.send(message())
    assert caught.value.unreachable and caught.value.retriable
    assert "SMTP_HOST" in str(caught.value)


def test_password_is_never_sent_in_clear_to_a_remote_host() -> None:
    config = SmtpConfig(host="mail.acme.example", username="alerts",
                        password=SecretStr("hunter2-secret"))
    with SmtpSender(config) as smtp, pytest.raises(ChannelConfigError,
                                                   match="SMTP_STARTTLS") as caught:
        smtp.send(message())
    assert "hunter2" not in str(caught.value)


class _Refusing(Mailroom):
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("dev@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_is_reported_while_the_others_get_it() -> None:
    server = SmtpServer("127.0.0.1", free_port(), _Refusing())
    server.start()
    try:
        with SmtpSender(server.config()) as smtp:
            result = smtp.send(message())
    finally:
        server.stop()
    assert list(result.refused) == ["dev@acme.example"]
    assert result.refused["dev@acme.example"][0] == 550
    assert server.mailroom.received[0].rcpt_tos == ["maria@acme.example"]


# --- STARTTLS and AUTH --------------------------------------------------------------------


def test_starttls_and_login_when_configured(tls_server: tuple[SmtpServer, Path]) -> None:
    server, bundle = tls_server
    config = server.config(starttls=True, username="alerts",
                           password=SecretStr("s3cret-pass"), ca_bundle=bundle)
    with SmtpSender(config) as smtp:
        smtp.send(message())
    assert len(server.mailroom.received) == 1


def test_refused_login_names_the_variables_not_the_password(
    tls_server: tuple[SmtpServer, Path],
) -> None:
    server, bundle = tls_server
    config = server.config(starttls=True, username="alerts",
                           password=SecretStr("wrong-pass-XYZ"), ca_bundle=bundle)
    with SmtpSender(config) as smtp, pytest.raises(ChannelError) as caught:
        smtp.send(message())
    text = str(caught.value)
    assert "SMTP_USERNAME" in text and "SMTP_PASSWORD" in text
    assert "wrong-pass-XYZ" not in text and caught.value.unreachable
    assert server.mailroom.received == []


def test_an_untrusted_certificate_points_at_the_ca_bundle(
    tls_server: tuple[SmtpServer, Path],
) -> None:
    server, _ = tls_server
    with SmtpSender(server.config(starttls=True)) as smtp, pytest.raises(ChannelError) as caught:
        smtp.send(message())
    assert "ACCOUNTABILITY_CA_BUNDLE" in str(caught.value)


def test_implicit_tls_on_port_465_style_servers(tmp_path: Path) -> None:
    """`SMTP_SECURITY=tls`: TLS from the first byte (`smtplib.SMTP_SSL`); a plain `SMTP` +
    STARTTLS client would wait for a greeting that never comes in clear text."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    mailroom = Mailroom()
    port = free_port()
    controller = Controller(mailroom, hostname="127.0.0.1", port=port,
                            ssl_context=server_context)
    controller.start()
    try:
        config = SmtpConfig(host="127.0.0.1", port=port, timeout=5.0, security="tls",
                            username=None, ca_bundle=ca_file, from_addr="alerts@acme.example")
        assert config.mode == "tls"
        with SmtpSender(config) as smtp:
            smtp.send(message())
    finally:
        controller.stop()
    assert len(mailroom.received) == 1


def test_smtp_security_setting_and_its_starttls_alias() -> None:
    assert load_settings(SMTP_SECURITY="tls").smtp_security == "tls"
    alias = load_settings(SMTP_STARTTLS="true")
    assert SmtpConfig(starttls=alias.smtp_starttls, security=alias.smtp_security).mode == "starttls"
    assert SmtpConfig().mode == "none"
    with pytest.raises(ConfigError):
        load_settings(SMTP_SECURITY="ssl-please")
