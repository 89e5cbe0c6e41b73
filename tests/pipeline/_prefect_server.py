"""Child processes for the deployed-run test: a real `prefect server`, the Prefect CLI, a worker.

Why a helper module: the test must leave nothing running even when it fails half-way, and a
Prefect process worker starts each flow run in a *new session* (`prefect.runner._starter_engine`,
`start_new_session=True`), so killing the worker's process group does not reach a flow run it
started. `Child.stop` therefore snapshots the whole descendant tree from /proc first, then
terminates every process group in it, and kills whatever outlives the grace period.

Every child writes stdout and stderr to a log file under the test's tmp_path; `tail` reads it
back with the known secret values masked, for assertion messages that CI can print safely.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

# Prefect's terminal state types (prefect.client.schemas.objects.TERMINAL_STATES), by name, so
# this module need not import prefect into the test process.
FINAL_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})

# Variables of the project and of Prefect that must not leak from the developer's shell (or CI)
# into the children: every child gets exactly the configuration the test gives it.
_OWN_PREFIXES = ("PREFECT_", "ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_", "SLACK_", "PD_")


def clean_environment(**values: str) -> dict[str, str]:
    """`os.environ` without project or Prefect settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(values)
    return env


def _descendants(root: int) -> list[int]:
    """Every live descendant of `root` (Linux /proc); empty where /proc is unavailable."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces and parentheses; split after the last ")"
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); it is dead for our purpose
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text()
        if state[state.rfind(")") + 2:].startswith("Z"):
            return False
    return True


def _signal_groups(groups: Iterable[int], sig: signal.Signals) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)


@dataclass
class Child:
    """A long-running CLI process in its own session, logging to `log`."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the child's group and every descendant's group, SIGKILL after `grace`."""
        # a reaped leader's pid may be reused: look at it only while it is still our child
        leader = [self.popen.pid] if self.running() else []
        pids = [*leader, *_descendants(self.popen.pid)]
        groups = {self.popen.pid}  # its session's group; a pgid is not reused while it exists
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                groups.add(os.getpgid(pid))
        groups.discard(os.getpgrp())  # never our own (pytest's) group
        _signal_groups(groups, signal.SIGTERM)
        deadline = time.monotonic() + grace
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        others = [p for p in pids if p != self.popen.pid]
        while time.monotonic() < deadline and any(_alive(p) for p in others):
            time.sleep(0.1)
        if self.running() or any(_alive(p) for p in others):
            _signal_groups(groups, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


@dataclass
class Children:
    """The processes a test started, stopped in reverse order of start (worker before server)."""

    log_dir: Path
    started: list[Child] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path) -> Child:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(args, env=dict(env), cwd=cwd, stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        child = Child(name, popen, log)
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.started):
            child.stop()

    def leftovers(self) -> list[int]:
        """Processes started by the test that are still alive (should be none after stop_all)."""
        return [pid for child in self.started
                for pid in [child.popen.pid, *_descendants(child.popen.pid)] if _alive(pid)]


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path, log: Path,
            timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    """A short CLI command; its output is appended to `log` as well as returned."""
    result = subprocess.run(args, env=dict(env), cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(args[1:])}  (exit {result.returncode})\n")
        out.write(result.stdout + result.stderr + "\n")
    return result


def wait_healthy(api_url: str, server: Child, timeout: float) -> None:
    """Until `/api/health` answers 200; raises early if the server process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise RuntimeError(f"prefect server exited with {server.popen.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"prefect server did not answer {api_url}/health in {timeout:.0f} s")


def tail(path: Path, secrets: Iterable[str], lines: int = 60) -> str:
    """The last `lines` of a log, each known secret value replaced by `***`."""
    if not path.exists():
        return f"({path.name}: no log)"
    text = "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    return mask(text, secrets)


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# --- a Slack incoming webhook stand-in ------------------------------------------------------


class _Slack(BaseHTTPRequestHandler):
    """Slack's incoming-webhook answer: 200 "ok"; the posts are kept on the server."""

    server: SlackStub

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        self.server.posts.append(self.rfile.read(length))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


class SlackStub(ThreadingHTTPServer):
    """So support's Slack alerts (examples/registry.yaml) can be sent, and the outbox drains."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Slack)
        self.posts: list[bytes] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/services/T000/B000/XXXX"


@contextlib.contextmanager
def slack_stub() -> Iterator[SlackStub]:
    server = SlackStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
