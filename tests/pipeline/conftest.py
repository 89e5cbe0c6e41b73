"""Pipeline fixtures: an SMTP server on loopback and a Slack incoming-webhook stand-in (a module
overrides `slack` with its own where it needs more than a 200 "ok")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.alerts.conftest import Mailroom, SmtpServer, free_port


class _Slack(BaseHTTPRequestHandler):
    """Slack's incoming-webhook answer: 200 "ok"."""

    posts: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        _Slack.posts.append(self.rfile.read(length))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer("127.0.0.1", free_port(), Mailroom())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slack() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slack)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    server.shutdown()
    server.server_close()
    thread.join()
