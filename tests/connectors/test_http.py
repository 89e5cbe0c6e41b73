"""Shared plumbing: redaction, Retry-After parsing, the retry policy, and TLS with an extra CA.

The TLS tests run a real HTTPS server with its own CA (trustme), as the sandbox does, to show
that `ca_bundle` reaches both the Jira client and the vendor PagerDuty client.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import trustme
from pydantic import SecretStr

from connectors.errors import (
    ConnectorError,
    FatalAPIError,
    MalformedResponseError,
    RetriableAPIError,
)
from connectors.http import (
    _ssl_context,
    build_ssl_context,
    parse_json,
    redact_url,
    retry_after_seconds,
    warm_ssl_context,
)
from connectors.jira import CLOUD, JIRA, JiraClient
from connectors.pagerduty import PagerDutyClient
from connectors.retry import RetryPolicy, call_with_retry
from connectors.stats import RequestStats

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_redact_url_removes_userinfo_and_secret_query_values() -> None:
    url = "https://me%40acme.example:s3cret@jira.example/x?api_key=K1&token=T2&jql=a&startAt=5"
    redacted = redact_url(url)
    assert "s3cret" not in redacted and "K1" not in redacted and "T2" not in redacted
    assert redacted == ("https://jira.example/x?api_key=REDACTED&token=REDACTED&jql=a&startAt=5")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Mon, 02 Mar 2026 12:00:30 GMT"}, 30.0),
        ({"ratelimit-reset": "12"}, 12.0),
        ({"X-RateLimit-Reset": "2026-03-02T12:02Z"}, 120.0),
        # Minute precision: a reset already past (the request came in the same minute) is no
        # advice, not "retry now" (issue 14 item 4).
        ({"X-RateLimit-Reset": "2026-03-02T11:59Z"}, None),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 5)}, 5.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
    ids=["seconds", "http-date", "pagerduty-reset", "jira-reset-iso", "jira-reset-past", "epoch",
         "junk", "none"],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    response = httpx.Response(429, headers=headers)
    assert retry_after_seconds(response, now=NOW) == expected


def test_call_with_retry_only_retries_retriable_errors() -> None:
    sleeps: list[float] = []
    stats = RequestStats()
    attempts: list[int] = []

    def fatal() -> None:
        attempts.append(1)
        raise FatalAPIError("no", status=400)

    with pytest.raises(FatalAPIError):
        call_with_retry(fatal, RetryPolicy(sleep=sleeps.append), stats=stats, endpoint="GET /x")
    assert attempts == [1] and sleeps == [] and stats.retries == 0


def test_call_with_retry_backs_off_with_capped_jitter() -> None:
    sleeps: list[float] = []

    def busy() -> None:
        raise RetriableAPIError("busy", status=503)

    policy = RetryPolicy(max_attempts=10, backoff_base=1.0, backoff_max=4.0, sleep=sleeps.append)
    with pytest.raises(RetriableAPIError):
        call_with_retry(busy, policy)
    assert len(sleeps) == 9 and all(0 <= s <= 4.0 for s in sleeps)


def test_a_missing_ca_bundle_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="ACCOUNTABILITY_CA_BUNDLE"):
        build_ssl_context(tmp_path / "nope.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConnectorError, match="ACCOUNTABILITY_CA_BUNDLE"):
        build_ssl_context(garbage)


def _warmed() -> None:
    for thread in threading.enumerate():
        if thread.name == "tls-context":
            thread.join(timeout=30)


def test_a_warmed_context_is_the_one_the_first_client_gets(tmp_path: Path) -> None:
    """`accountability sync` builds its TLS context while it reads the registry: the client
    made later takes that one instead of reading the CA stores again."""
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(trustme.CA().cert_pem.bytes())
    before = _ssl_context.cache_info()
    warm_ssl_context(bundle)
    _warmed()
    assert _ssl_context.cache_info().misses == before.misses + 1
    context = build_ssl_context(bundle)
    assert _ssl_context.cache_info().hits == before.hits + 1
    assert isinstance(context, ssl.SSLContext)


def test_warming_with_a_bad_bundle_says_nothing_and_the_client_still_reports_it(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nope.pem"
    warm_ssl_context(missing)
    _warmed()
    with pytest.raises(ConnectorError, match="ACCOUNTABILITY_CA_BUNDLE"):
        build_ssl_context(missing)


# ------------------------------------------------------------------------------ real TLS server


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/rest/api/3/myself"):
            body: dict[str, object] = {"accountId": "x", "timeZone": "Europe/Berlin"}
        else:
            body = {"users": [{"id": "PU1"}], "more": False, "limit": 100, "offset": 0}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server whose certificate only a private CA vouches for: (base URL, CA file)."""
    ca = trustme.CA()
    certificate = ca.issue_cert("localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    server = ThreadingHTTPServer(("localhost", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    ca_file = tmp_path_factory.mktemp("ca") / "sandbox-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    try:
        yield f"https://localhost:{server.server_address[1]}", ca_file
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_jira_trusts_the_extra_ca_bundle(tls_server: tuple[str, Path]) -> None:
    url, ca_file = tls_server
    with JiraClient(url, pat=SecretStr("pat"), ca_bundle=ca_file, deployment=CLOUD) as client:
        assert str(client.account_timezone()) == "Europe/Berlin"


def test_pagerduty_client_trusts_the_extra_ca_bundle(tls_server: tuple[str, Path]) -> None:
    url, ca_file = tls_server
    with PagerDutyClient(SecretStr("token"), base_url=url, ca_bundle=ca_file) as client:
        assert [u["id"] for u in client.users()] == ["PU1"]


def test_an_untrusted_certificate_fails_fast_and_points_to_the_ca_bundle(
    tls_server: tuple[str, Path],
) -> None:
    url, _ = tls_server
    sleeps: list[float] = []
    with (
        JiraClient(url, pat=SecretStr("pat"), sleep=sleeps.append) as client,
        pytest.raises(FatalAPIError, match="ACCOUNTABILITY_CA_BUNDLE"),
    ):
        client.account_timezone()
    assert sleeps == []


def _response(content: bytes, content_type: str) -> httpx.Response:
    request = httpx.Request("GET", "https://example.atlassian.net/rest/api/3/myself")
    return httpx.Response(200, content=content, headers={"content-type": content_type},
                          request=request)


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        ('{"name": "Zoë", "n": 1}'.encode(), "application/json", {"name": "Zoë", "n": 1}),
        (b'{"id": 9223372036854775807, "x": 0.1}', "application/json",
         {"id": 2**63 - 1, "x": 0.1}),
        # not UTF-8: read in the charset the response declares
        ('{"name": "Zoë"}'.encode("latin-1"), "application/json; charset=iso-8859-1",
         {"name": "Zoë"}),
    ],
)
def test_parse_json_reads_every_json_body(
    content: bytes, content_type: str, expected: object
) -> None:
    assert parse_json(_response(content, content_type), JIRA) == expected


def test_a_parsed_response_is_freed_with_its_last_reference() -> None:
    """httpx's response and its stream refer to each other: without `release_stream` a read
    response (and its body, a megabyte for a Jira changelog page) waited for the cycle
    collector; after `parse_json` it goes when the caller drops it, body still readable."""
    import gc
    import weakref

    client = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json={"values": list(range(1000))})))
    was_enabled = gc.isenabled()
    gc.disable()  # only reference counting may free it
    try:
        response = client.get("https://example.atlassian.net/rest/api/3/search/jql")
        assert parse_json(response, JIRA) == {"values": list(range(1000))}
        assert response.json() == {"values": list(range(1000))}  # the body is still there
        gone = weakref.ref(response)
        del response
        assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
        client.close()


def test_parse_json_calls_a_body_that_is_not_json_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="not JSON"):
        parse_json(_response(b"{'id': 1", "application/json"), JIRA)
