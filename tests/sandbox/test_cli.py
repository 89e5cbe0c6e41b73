"""`python -m sandbox`, as benchmarks and the demo start it."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_planted_listing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--planted"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = {line.split("\t")[0] for line in result.stdout.splitlines()}
    assert {"delegation-expired", "not-eligible", "pd-undeclared-policy-timeout"} <= names


def test_bad_fault_syntax_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--faults", "418=0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "unknown fault" in result.stderr


def test_serves_in_the_foreground_and_prints_its_environment() -> None:
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--scale",
        "--issues",
        "300",
        "--incidents",
        "200",
        "--faults",
        "latency_ms=1",
    ]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        env: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("# Ctrl+C"):
                break
            if "=" in line and not line.startswith("#"):
                key, value = line.strip().split("=", 1)
                env[key] = value
        try:
            context = ssl.create_default_context(cafile=env["ACCOUNTABILITY_CA_BUNDLE"])
            auth = (env["JIRA_EMAIL"], env["JIRA_API_TOKEN"])
            with httpx.Client(base_url=env["JIRA_URL"], verify=context, auth=auth) as client:
                page = client.get(
                    "/rest/api/3/search/jql", params={"jql": "project = SUP AND updated >= 0"}
                ).json()
            assert page["issues"]
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
        assert process.returncode == 0
