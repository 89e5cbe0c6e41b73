"""Outbound email over SMTP (stdlib `smtplib` and `email`): compose, then send.

`compose` builds a `multipart/alternative` message (plain text first, HTML last: clients show
the last part they can render) whose headers cannot be injected: every header value goes
through `connectors.text.one_line` (no CR/LF), addresses through `email.headerregistry.Address`
(names with commas, quotes, emoji or right-to-left text are quoted and RFC 2047 encoded, never
parsed as more addresses), and Python's `email.policy.default` refuses a line break in a header
anyway. The `Message-ID` is ours (`make_msgid`), so it is known before the send and is what the
outbox records as the provider id.

`SmtpSender` keeps one connection per dispatch, opened lazily (STARTTLS or, with
`SMTP_SECURITY=tls`, implicit TLS on port 465; login when configured) and closed at the end;
SMTP failures become `ChannelError`s classified for the dispatcher. SMTP has no idempotency
key: a crash between the server's `250` and the outbox update sends that email again on the
next dispatch (docs/alerts.md).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Self

from pydantic import SecretStr

from connectors.channel_errors import ChannelConfigError, ChannelError
from connectors.errors import ConnectorError
from connectors.http import build_ssl_context
from connectors.smtp_security import SmtpSecurity
from connectors.text import one_line

log = logging.getLogger(__name__)

SUBJECT_LIMIT = 200
"""RFC 5322 allows 998 characters per line; mail clients show far fewer."""
HEADER_LIMIT = 900
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")



@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send (SPEC §9 `SMTP_*`); `password` stays a `SecretStr`."""

    host: str = "localhost"
    port: int = 25
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    from_addr: str = "accountability@localhost"
    timeout: float = 30.0
    ca_bundle: Path | None = None
    security: SmtpSecurity | None = None
    """`starttls` (upgrade a plain connection, port 587/25), `tls` (implicit TLS from the
    first byte, port 465: `smtplib.SMTP_SSL`) or `none`; None falls back to `starttls`."""

    @property
    def mode(self) -> SmtpSecurity:
        """The effective security: `security`, else what the `starttls` alias says."""
        if self.security is not None:
            return self.security
        return "starttls" if self.starttls else "none"


@dataclass(frozen=True)
class Mailbox:
    """A display name and an address. The name is untrusted text (it may come from anywhere)."""

    name: str
    address: str

    def header(self) -> Address:
        try:
            return Address(display_name=one_line(self.name, 120), addr_spec=self.address)
        except (ValueError, IndexError, HeaderParseError) as exc:
            raise ChannelError(
                f"email: {self.address!r} is not a usable address ({exc})", retriable=False
            ) from None


@dataclass(frozen=True)
class SendResult:
    """`refused`: envelope recipients the server refused while accepting the others."""

    message_id: str
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)


def compose(
    *,
    subject: str,
    sender: Mailbox,
    to: Sequence[Mailbox],
    cc: Sequence[Mailbox] = (),
    text: str,
    html: str,
    date: datetime,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A `multipart/alternative` message (text + HTML) with safe headers and its own Message-ID.

    Example:
        >>> msg = compose(subject="[Accountability] Support: 1 unauthorized ownership change",
        ...               sender=Mailbox("Accountability", "accountability@acme.example"),
        ...               to=[Mailbox("Maria Chen", "maria@acme.example")], text="…",
        ...               html="<p>…</p>", date=datetime.now(UTC))   # doctest: +SKIP
    """
    if not to:
        raise ChannelError("email: no recipient", retriable=False)
    message = EmailMessage()
    message["Subject"] = one_line(subject, SUBJECT_LIMIT)
    message["From"] = sender.header()
    message["To"] = [m.header() for m in to]
    if cc:
        message["Cc"] = [m.header() for m in cc]
    message["Date"] = format_datetime(date)
    message["Message-ID"] = make_msgid(domain=sender.address.rpartition("@")[2] or None)
    # Automated mail: no vacation replies or read receipts back (RFC 3834, Exchange).
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    for name, value in (headers or {}).items():
        message[one_line(name, 60)] = one_line(value, HEADER_LIMIT)
    # Quoted-printable: 7-bit clean for any relay, still readable in the raw message.
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def envelope_recipients(message: EmailMessage) -> list[str]:
    """The addresses of To and Cc (no Bcc: alerts never hide a recipient), each once."""
    found: list[str] = []
    for name in ("To", "Cc"):
        header = message[name]
        for address in getattr(header, "addresses", ()):
            if address.addr_spec not in found:
                found.append(address.addr_spec)
    return found


class SmtpSender:
    """One SMTP session for a dispatch. Use as a context manager; `send` connects on first use.

    Example:
        >>> with SmtpSender(SmtpConfig(host="mail.acme.example", starttls=True,
        ...                            username="alerts", password=SecretStr("…"))) as smtp:
        ...     result = smtp.send(message)   # doctest: +SKIP
    """

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def send(self, message: EmailMessage) -> SendResult:
        """Send `message` to its To and Cc; raise `ChannelError` unless some recipient got it."""
        recipients = envelope_recipients(message)
        smtp = self._connection()
        try:
            refused = smtp.send_message(message, self.config.from_addr, recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            raise _refused_error(exc.recipients) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise self._unreachable(exc) from None
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _response_error(exc, "refused the message") from None
        except smtplib.SMTPException as exc:
            self._drop()
            raise ChannelError(f"email: SMTP error: {type(exc).__name__}: {exc}") from None
        return SendResult(
            message_id=str(message["Message-ID"]),
            refused={
                address: (code, _text(reply)) for address, (code, reply) in refused.items()
            },
        )

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        mode = config.mode
        if config.username and mode == "none" and config.host not in _LOOPBACK_HOSTS:
            raise ChannelConfigError(
                f"email: SMTP_USERNAME is set but SMTP_SECURITY is none (SMTP_STARTTLS false): "
                f"refusing to send the password in clear text to {config.host} (set "
                "SMTP_SECURITY=starttls, or tls for port 465)"
            )
        try:
            context = build_ssl_context(config.ca_bundle) if mode != "none" else None
        except ConnectorError as exc:
            raise ChannelConfigError(f"email: {exc}") from None
        smtp: smtplib.SMTP | None = None
        try:
            if mode == "tls":
                # Implicit TLS (port 465): the server expects a TLS handshake first, a plain
                # EHLO would hang or be dropped; STARTTLS is not spoken there.
                smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                        context=context)
                smtp.ehlo()
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
                smtp.ehlo()
                if context is not None:
                    smtp.starttls(context=context)
                    smtp.ehlo()
            if config.username:
                password = config.password.get_secret_value() if config.password else ""
                smtp.login(config.username, password)
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(smtp)
            raise ChannelError(
                f"email: the SMTP server {config.host}:{config.port} refused the login of "
                f"SMTP_USERNAME (check SMTP_USERNAME and SMTP_PASSWORD): {exc.smtp_code} "
                f"{_text(exc.smtp_error)}",
                unreachable=True,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _close_quietly(smtp)
            raise ChannelError(
                f"email: the SMTP server {config.host}:{config.port} does not support what "
                f"the settings ask (SMTP_STARTTLS / SMTP_USERNAME): {exc}",
                unreachable=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            _close_quietly(smtp)
            raise _response_error(exc, "refused the session", unreachable=True) from None
        except ssl.SSLError as exc:
            _close_quietly(smtp)
            raise ChannelError(
                f"email: TLS with {config.host}:{config.port} failed ({exc}); a private CA "
                "belongs in ACCOUNTABILITY_CA_BUNDLE",
                unreachable=True,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close_quietly(smtp)
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: BaseException) -> ChannelError:
        config = self.config
        return ChannelError(
            f"email: the SMTP server {config.host}:{config.port} (SMTP_HOST, SMTP_PORT) is "
            f"unreachable: {type(exc).__name__}: {exc}",
            unreachable=True,
        )

    def _reset(self) -> None:
        """After a refused message the session goes on; if even RSET fails, reconnect later."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        _close_quietly(smtp)


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()


def _text(reply: bytes | str) -> str:
    value = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return one_line(value, 300)


def _response_error(
    exc: smtplib.SMTPResponseException, what: str, *, unreachable: bool = False
) -> ChannelError:
    """5xx is permanent (the same message is refused again), 4xx temporary (RFC 5321 §4.2.1)."""
    permanent = 500 <= exc.smtp_code < 600
    return ChannelError(
        f"email: the SMTP server {what}: {exc.smtp_code} {_text(exc.smtp_error)}",
        retriable=not permanent or unreachable,
        unreachable=unreachable,
    )


def _refused_error(recipients: dict[str, tuple[int, bytes]]) -> ChannelError:
    listed = "; ".join(f"{address}: {code} {_text(reply)}"
                       for address, (code, reply) in recipients.items())
    permanent = all(500 <= code < 600 for code, _ in recipients.values())
    return ChannelError(f"email: every recipient was refused: {listed}", retriable=not permanent)
