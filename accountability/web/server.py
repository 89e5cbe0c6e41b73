"""Running the web app with uvicorn: in the foreground (`accountability serve`) or in a thread
(`accountability demo --serve`, tests).

The socket is bound here, before uvicorn starts, so an address in use or a bad host is a clear
`UsageError` (exit 2) instead of uvicorn's own exit; uvicorn then serves on that socket.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette

from accountability.config.errors import UsageError


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free one."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host}: {exc.strerror}") from None
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(info[4])
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror} (another process "
                         "uses it? choose another --port)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _config(app: Starlette) -> uvicorn.Config:
    # No access log: a signed link's URL holds its token, a credential until it is used.
    return uvicorn.Config(app, access_log=False, log_level="warning", server_header=False,
                          proxy_headers=False, lifespan="off")


def serve_forever(app: Starlette, sock: socket.socket) -> None:
    """Serve until Ctrl-C / SIGTERM (uvicorn's own handlers: in-flight requests finish).

    uvicorn raises the signal again once it has shut down; Ctrl-C is the normal way to stop
    `serve`, so its KeyboardInterrupt ends here and the command exits 0."""
    server = uvicorn.Server(_config(app))
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


@dataclass
class RunningServer:
    """A server in a background thread; `stop()` ends it and waits."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket = field(repr=False)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def start_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    server = uvicorn.Server(_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="accountability-web")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    return RunningServer(f"http://{bound_host}:{bound_port}", server, thread, sock)
