"""The sandbox as a running service: one Starlette app serving both APIs at root paths behind the
fault middleware, on uvicorn with TLS, bound to loopback.

`serve_sandbox(config)` runs it in a background thread for tests and in-process use; `python -m
sandbox` runs the same server in the foreground (benchmarks start that as a subprocess).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from . import catalog
from .data import World
from .faults import FaultConfig, FaultInjector
from .generate import Mutation, demo_world, mutate, scale_world
from .jira_api import JiraApi
from .pagerduty_api import PagerDutyApi
from .responses import json_response
from .timefmt import to_ms
from .tls import TlsFiles


@dataclass(frozen=True)
class SandboxConfig:
    """What to serve and how.

    Attributes:
        seed: seeds the generator (and nothing else; faults have their own seed).
        mode: "demo" (Acme, from examples/registry.yaml) or "scale" (`issues`/`incidents`).
        faults: faults to inject from the first request; `Sandbox.set_faults` changes them later.
        data_center: be Jira Data Center 9.12: `serverInfo` says `"Server"`, REST v2 with Data
            Center shapes (users by `name`/`key`, whole histories embedded by
            `expand=changelog`, `startAt` search), and every `/rest/api/3` path is a 404
            (sandbox/jira_dc.py).
        changelog_limit: histories embedded by `expand=changelog` on search (`total` stays true).
    """

    seed: int = 7
    mode: Literal["demo", "scale"] = "demo"
    issues: int = 100_000
    incidents: int = 50_000
    faults: FaultConfig | None = None
    data_center: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    registry_path: Path | None = None
    changelog_limit: int = 20
    tls_dir: Path | None = None


def build_world(config: SandboxConfig) -> World:
    if config.mode == "scale":
        return scale_world(config.seed, config.issues, config.incidents)
    return demo_world(config.seed, config.registry_path)


@dataclass
class SandboxApp:
    """The ASGI app plus handles on its parts."""

    asgi: FaultInjector
    jira: JiraApi
    pagerduty: PagerDutyApi


def create_app(world: World, config: SandboxConfig) -> SandboxApp:
    jira = JiraApi(world, data_center=config.data_center, changelog_limit=config.changelog_limit)
    pagerduty = PagerDutyApi(world)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/rest/"):
            return json_response(
                {"errorMessages": ["No endpoint for this path."], "errors": {}}, 404
            )
        return json_response({"error": {"message": "Not Found", "code": 2100}}, 404)

    app = Starlette(
        routes=[*jira.routes(), *pagerduty.routes()], exception_handlers={404: not_found}
    )
    return SandboxApp(FaultInjector(app, config.faults), jira, pagerduty)


@dataclass
class Sandbox:
    """A running sandbox. See docs/sandbox.md for the API each URL serves."""

    config: SandboxConfig
    world: World
    app: SandboxApp
    base_url: str
    ca_path: Path
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Events API v2 payloads received (`/v2/enqueue` and `/v2/change/enqueue`)."""
        return self.app.pagerduty.events

    @property
    def created_issues(self) -> list[dict[str, Any]]:
        """Issues created through `POST /rest/api/3/issue`: id, key, the request's fields."""
        return self.app.jira.created_issues

    @property
    def faults_injected(self) -> Counter[str]:
        return self.app.asgi.injected

    @property
    def requests(self) -> Counter[str]:
        """Requests served per `"METHOD /path"` since the last `set_faults` (benchmarks)."""
        return self.app.asgi.requests

    @property
    def busy_seconds(self) -> float:
        """Seconds from the first request's arrival to the last response's end since the last
        `set_faults`: a client's network phase, its start-up before and its exit after left out
        (benchmarks); 0 before any request."""
        return self.busy_seconds_without(())

    def busy_seconds_without(self, routes: Collection[str]) -> float:
        """`busy_seconds` from the first request of any other route than `routes` (e.g. a
        client's preflight calls, `"GET /rest/api/2/serverInfo"`); 0 before such a request."""
        asgi = self.app.asgi
        starts = [at for route, at in asgi.first_at.items() if route not in routes]
        if not starts or asgi.last_response_at is None:
            return 0.0
        return asgi.last_response_at - min(starts)

    @property
    def first_request_at(self) -> float | None:
        """`time.monotonic()` of the first request's arrival since the last `set_faults`."""
        return min(self.app.asgi.first_at.values(), default=None)

    @property
    def last_response_at(self) -> float | None:
        """`time.monotonic()` of the last response's end since the last `set_faults`."""
        return self.app.asgi.last_response_at

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the sandbox CA (httpx 0.28 wants a context, not a path)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def mutate(
        self, n: int, *, seed: int | None = None, at: datetime | int | None = None
    ) -> Mutation:
        """Apply `n` new changes now, timed after the latest existing timestamp (or from `at`)."""
        start = to_ms(at) if isinstance(at, datetime) else at
        return mutate(self.world, n, seed=seed, at=start)

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Switch faults while running (counters and the fault generator restart)."""
        self.app.asgi.configure(faults)


def credentials(base_url: str, ca_path: Path) -> dict[str, str]:
    return {
        "JIRA_URL": base_url,
        "JIRA_EMAIL": catalog.JIRA_EMAIL,
        "JIRA_API_TOKEN": catalog.JIRA_API_TOKEN,
        "JIRA_PAT": catalog.JIRA_PAT,
        "PAGERDUTY_API_TOKEN": catalog.PAGERDUTY_API_TOKEN,
        "PAGERDUTY_API_URL": base_url,
        "PAGERDUTY_EVENTS_URL": base_url,
        "ACCOUNTABILITY_CA_BUNDLE": str(ca_path),
    }


class Server:
    """uvicorn with TLS on a pre-bound loopback socket (port 0 picks a free one)."""

    def __init__(self, app: SandboxApp, config: SandboxConfig) -> None:
        self.tls = TlsFiles(config.tls_dir)
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        # proto must say TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto is
        # IPPROTO_TCP, and without it every response waits ~40 ms for a delayed ACK.
        self.sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((config.host, config.port))
            self.sock.listen(2048)  # connections queue from now on, even before uvicorn accepts
        except OSError:
            self.sock.close()
            self.tls.close()
            raise
        self.port: int = self.sock.getsockname()[1]
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.base_url = f"https://{host}:{self.port}"
        uv_config = uvicorn.Config(
            app.asgi,
            ssl_certfile=str(self.tls.server_path),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_keep_alive=5,
            timeout_graceful_shutdown=1,
        )
        self.uvicorn = uvicorn.Server(uv_config)
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve in the calling thread until SIGINT/SIGTERM (the CLI)."""
        try:
            self.uvicorn.run(sockets=[self.sock])
        finally:
            self.close()

    def start(self, timeout: float = 15.0) -> None:
        self.thread = threading.Thread(
            target=self.uvicorn.run,
            kwargs={"sockets": [self.sock]},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.uvicorn.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=15)
            self.thread = None
        self.close()

    def close(self) -> None:
        self.sock.close()
        self.tls.close()


@contextmanager
def serve_sandbox(
    config: SandboxConfig | None = None, *, world: World | None = None
) -> Iterator[Sandbox]:
    """Run a sandbox on a free loopback port in a background thread for the `with` block.

    Example:
        with serve_sandbox(SandboxConfig(seed=7)) as sb:
            httpx.get(sb.base_url + "/rest/api/3/myself", verify=str(sb.ca_path),
                      auth=(sb.credentials["JIRA_EMAIL"], sb.credentials["JIRA_API_TOKEN"]))

    Pass `world` to serve an already built world (several sandboxes may share one).
    """
    config = config or SandboxConfig()
    world = world or build_world(config)
    app = create_app(world, config)
    server = Server(app, config)
    server.start()
    try:
        yield Sandbox(
            config=config,
            world=world,
            app=app,
            base_url=server.base_url,
            ca_path=server.tls.ca_path,
            credentials=credentials(server.base_url, server.tls.ca_path),
        )
    finally:
        server.stop()
