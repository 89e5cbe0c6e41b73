"""Secrets of the outbound channels: resolved at send time, kept out of every log line.

The registry names a channel's secret as `env:NAME` (SPEC §3); the value is read from the
environment (or `.env`) only when a message goes out, so it is never in the registry snapshot,
the outbox payload or an error message. A Slack webhook URL *is* a credential, and httpx logs
every request URL at INFO level ("HTTP Request: POST https://hooks.slack.com/services/…"):
each resolved secret is registered with a logging filter on httpx's loggers that blanks it.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import httpx
from dotenv import dotenv_values
from pydantic import SecretStr

from connectors.channel_errors import ChannelConfigError

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 6  # shorter strings would blank ordinary words in log lines
# Logger filters apply only to records created on that very logger, not on its children: name
# each logger the HTTP stack writes to.
_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2",
            "httpcore.proxy", "pagerduty.api_client", "pagerduty")


class _SecretFilter(logging.Filter):
    """Replaces every registered secret in a record's message before any handler sees it."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        with self._lock:
            self._secrets.update(v for v in values if len(v) >= _MIN_SECRET_LENGTH)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text


_FILTER = _SecretFilter()
for _name in _LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


def register_secret(value: str) -> None:
    """Keep `value` out of httpx's logs (for a URL: its path and query, the host stays)."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is not None and url.host and len(url.raw_path) >= _MIN_SECRET_LENGTH:
        # A webhook's secret is its path: blank that, keep the host for the operator.
        path = url.raw_path.decode("ascii", "replace")
        _FILTER.add(path, value.split(url.host, 1)[-1])
    else:
        _FILTER.add(value)


def redact(text: str) -> str:
    """`text` with every secret resolved so far blanked (defence in depth for stored errors)."""
    return _FILTER.redact(text)


def resolve_secret(reference: str, what: str, env_file: Path | None = Path(".env")) -> SecretStr:
    """The value behind an `env:NAME` reference, or `ChannelConfigError` naming the variable.

    Args:
        reference: `env:NAME` as written in the registry.
        what: what the secret is for, for the error ("Slack webhook of workflow 'support'").
        env_file: a dotenv file read when the variable is not in the environment (SPEC §9).
    """
    if not reference.startswith("env:") or not reference[4:]:
        raise ChannelConfigError(f"{what}: the registry must name it as env:NAME")
    name = reference[4:]
    value = os.environ.get(name)
    if not value and env_file is not None and env_file.is_file():
        value = dotenv_values(env_file).get(name)
    if not value:
        raise ChannelConfigError(
            f"{what}: environment variable {name} is not set (the registry says {reference})"
        )
    register_secret(value)
    return SecretStr(value)
