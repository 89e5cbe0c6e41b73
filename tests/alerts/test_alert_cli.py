"""`accountability alert` end to end, as a user runs it: the demo company synced from the
sandbox and evaluated, then alerts sent through a real SMTP server, the sandbox's PagerDuty
Events API and its Jira (a ticket per risk review); `alert --status` shows what is stuck."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from accountability.cli.commands import app
from accountability.config.registry_file import load_registry_file
from accountability.sources import jira as jira_sync
from accountability.sources import pagerduty as pd_sync
from accountability.usecases import evaluate
from sandbox import ROUTING_KEY, Sandbox, SandboxConfig, serve_sandbox
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import AlertOutbox
from tests.alerts.conftest import EXAMPLE, SmtpServer
from tests.clock import pinned_env
from tests.sync.conftest import clients

SCRIPT = str(Path(sys.executable).with_name("accountability"))
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
START = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def demo(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    loaded = load_registry_file(EXAMPLE)
    engine = make_engine(url)
    factory = session_factory(engine)
    try:
        with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
            with clients(sb) as (jira, pd):
                for partition in jira_sync.jira_partitions(loaded.registry):
                    jira_sync.sync_jira_partition(factory, jira, partition, start=START, now=NOW)
                pd_sync.sync_pagerduty(factory, pd, pd_sync.pagerduty_services(loaded.registry),
                                    start=START, now=NOW)
            evaluate.evaluate(factory, loaded, now=NOW, jira_browse_base=sb.base_url)
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_",
                                        "SLACK_", "PD_"))}
            env |= {k: v for k, v in sb.credentials.items() if k != "JIRA_PAT"}
            env |= {"ACCOUNTABILITY_DATABASE_URL": url, "ACCOUNTABILITY_REGISTRY": str(EXAMPLE),
                    "SMTP_HOST": smtp_server.host, "SMTP_PORT": str(smtp_server.port),
                    "SMTP_FROM": "Acme Accountability <accountability@acme.example>",
                    "PD_ROUTING_KEY_SUPPORT": ROUTING_KEY,
                    # no SLACK_WEBHOOK_SUPPORT: Slack alerts fail, and with one attempt allowed
                    # they are dead at once, for `alert --status` to show
                    "ACCOUNTABILITY_ALERT_MAX_ATTEMPTS": "1", "_CWD": str(tmp_path)}
            yield sb, env
    finally:
        engine.dispose()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it, with its clock at the evaluation's
    `NOW` (a dispatch a few days later would rightly send reminders too)."""
    clean = {k: v for k, v in env.items() if k != "_CWD"} | pinned_env(NOW)
    return subprocess.run([SCRIPT, *args], env=clean, cwd=env["_CWD"], capture_output=True,
                          text=True, timeout=120)


def quick(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """The same command in-process (Typer's runner): a second faster than a subprocess."""
    monkeypatch.chdir(env["_CWD"])
    clean = {k: v for k, v in env.items() if k != "_CWD"}
    return CliRunner().invoke(app, list(args), env=clean)


def test_alert_sends_every_channel_and_status_shows_the_dead_ones(
    demo: tuple[Sandbox, dict[str, str]], smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sb, env = demo
    result = cli(env, "alert")
    assert result.returncode == 1, result.stderr  # some alerts could not be sent
    # rows: 16 emails (3 messages), 7 PagerDuty triggers, 1 Jira ticket; 7 Slack rows dead
    assert result.stdout.startswith("alerts: 24 sent (3 email, 1 jira, 7 pagerduty), ")
    assert "0 failed (will be retried), 7 dead, 0 pending" in result.stdout
    assert "environment variable SLACK_WEBHOOK_SUPPORT is not set" in result.stderr
    assert "Traceback" not in result.stderr

    subjects = sorted(m.message["Subject"].strip() for m in smtp_server.mailroom.received)
    assert subjects == [
        "[Accountability] Renewal-risk reduction: 1 unauthorized ownership change",
        "[Accountability] Support resolution time: 6 unauthorized ownership changes",
        "[Accountability] Support resolution time: risk review 2026-W46 opened "
        "(6 thresholds breached)",
    ]
    assert {m.message["From"] for m in smtp_server.mailroom.received} == {
        "Acme Accountability <accountability@acme.example>"}
    triggers = [e for e in sb.events if e["event_action"] == "trigger"]
    assert len(triggers) == 7 and len({e["dedup_key"] for e in triggers}) == 7
    assert "support-2026-W46" in {e["dedup_key"] for e in triggers}
    (ticket,) = sb.created_issues
    assert ticket["fields"]["labels"] == ["accountability", "accountability-support-2026-W46"]
    assert ticket["fields"]["assignee"] == {"accountId": "5b10a2844c20165700ede23b"}  # lee

    status = quick(env, monkeypatch, "alert", "--status")
    assert status.exit_code == 0, status.output
    assert "Dead alerts (7)" in status.stdout and "SLACK_WEBHOOK_SUPPORT" in status.stdout
    machine = json.loads(quick(env, monkeypatch, "alert", "--status", "--json").stdout)
    assert machine["counts"] == {"dead": {"slack": 7}, "sent": {"email": 16, "jira": 1,
                                                                 "pagerduty": 7}}
    assert {d["channel"] for d in machine["dead"]} == {"slack"}

    closed = quick(env, monkeypatch, "close", "support-2026-W46", "--by", "lee", "--note",
                   "Staffing fixed")
    assert closed.exit_code == 0, closed.output
    again = quick(env, monkeypatch, "alert")
    assert again.exit_code == 1  # the closed review's Slack row is dead too
    assert again.stdout.startswith("alerts: 3 sent (1 email, 1 pagerduty)"), again.stdout
    assert sb.events[-1]["event_action"] == "resolve"
    assert sb.events[-1]["dedup_key"] == "support-2026-W46"
    assert smtp_server.mailroom.received[-1].message["Subject"].strip().endswith(
        "risk review 2026-W46 closed")
    engine = make_engine(env["ACCOUNTABILITY_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            jira_key = connection.scalar(select(AlertOutbox.provider_id).where(
                AlertOutbox.channel == "jira"))
    finally:
        engine.dispose()
    assert jira_key == ticket["key"]
