"""`accountability serve` and `accountability demo --serve` over real loopback HTTP (issue #18
item 4): Maria ratifies from her alert e-mail in two clicks and the CLI shows it; the server
stops cleanly; configuration errors exit 2."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from accountability.usecases.databases import upgrade_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"
SCRIPT = Path(sys.executable).with_name("accountability")
KEY = "serve-test-key-0123456789abcdefgh"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_"))}
    return env | extra


def _csrf(body: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


def test_demo_serve_lets_maria_ratify_from_her_email_in_two_clicks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from accountability.cli.demo import run_demo

    clicked: dict[str, object] = {}

    def maria_clicks(*_: object) -> str:
        """While the demo waits for Enter: Maria opens her link and presses the button."""
        link = clicked["link"] = re.search(r"Ratify link \(from her alert e-mail\): (\S+)",
                                           console.file.getvalue())[1]  # type: ignore[index,attr-defined]
        with httpx.Client(timeout=10) as client:
            page = client.get(str(link))
            clicked["get"] = page.status_code
            done = client.post(str(link), data={"csrf": _csrf(page.text),
                                                "note": "Ratified from the alert e-mail link"})
            clicked["post"] = (done.status_code, "is ratified" in done.text)
        return ""

    monkeypatch.setattr("builtins.input", maria_clicks)
    console = Console(file=io.StringIO(), width=200)
    threads = set(threading.enumerate())
    result = run_demo(tmp_path / "demo", console, serve=True, interactive=True)
    assert clicked["get"] == 200 and clicked["post"] == (200, True)
    assert result.signed_link == clicked["link"] and result.web_url
    # the server is gone, its thread too
    host, port = result.servers[-1]
    with pytest.raises(OSError), socket.create_connection((host, port), timeout=2):
        pass
    assert [t for t in threading.enumerate() if t not in threads and t.is_alive()] == []
    # the CLI shows the finding ratified by Maria
    env = _clean_env(ACCOUNTABILITY_DATABASE_URL=result.database_url,
                     ACCOUNTABILITY_REGISTRY=str(EXAMPLE))
    listed = subprocess.run([str(SCRIPT), "findings", "--json"], env=env, capture_output=True,
                            text=True, check=True, timeout=60)
    token_finding = [f for f in json.loads(listed.stdout) if f["status"] == "ratified"]
    assert len(token_finding) == 1


def test_demo_serve_without_a_terminal_stops_at_once(tmp_path: Path) -> None:
    result = subprocess.run([str(SCRIPT), "demo", "--serve", "--out", str(tmp_path / "d")],
                            cwd=tmp_path, env=_clean_env(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "web app listening on http://127.0.0.1:" in result.stdout
    assert re.search(r"Ratify link \(from her alert e-mail\): http://127\.0\.0\.1:\d+/l/\S+",
                     result.stdout)
    assert "stopping the web app now" in result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_over_http_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade_database(url)
    port = _free_port()
    env = _clean_env(ACCOUNTABILITY_DATABASE_URL=url, ACCOUNTABILITY_REGISTRY=str(EXAMPLE),
                     ACCOUNTABILITY_SIGNING_KEY=KEY)
    process = subprocess.Popen([str(SCRIPT), "serve", "--port", str(port)], env=env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 401 and "Sign in" in response.text
        assert "server" not in response.headers  # no uvicorn banner either
        assert httpx.get(f"http://127.0.0.1:{port}/signin", timeout=2).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and KEY not in stderr + stdout
    assert f"serving on http://127.0.0.1:{port}" in stderr


@pytest.mark.parametrize("case", ["no key", "short key", "port in use"])
def test_serve_refuses_bad_configuration_with_exit_2(tmp_path: Path, case: str) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade_database(url)
    env = _clean_env(ACCOUNTABILITY_DATABASE_URL=url, ACCOUNTABILITY_REGISTRY=str(EXAMPLE))
    if case != "no key":
        env["ACCOUNTABILITY_SIGNING_KEY"] = "short" if case == "short key" else KEY
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([str(SCRIPT), "serve", "--port", str(port)], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    expected = {"no key": "ACCOUNTABILITY_SIGNING_KEY is not set", "short key": "too short",
                "port in use": f"cannot listen on 127.0.0.1:{port}"}[case]
    assert expected in result.stderr
    if case != "port in use":
        assert "secrets.token_urlsafe(32)" in result.stderr
