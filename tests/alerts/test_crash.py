"""A dispatcher killed (SIGKILL) between a send and its mark: at most one duplicate email,
never a loss; PagerDuty and Jira stay single thanks to their dedup keys.

The killed process is real (`tests/alerts/crash_dispatcher.py`, a subprocess): the SMTP server,
the sandbox's Events API and Jira receive the send, then the process dies before it records
it. The next dispatcher takes the claim back once it is stale and sends again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.settings import load_settings
from accountability.usecases.dispatch import Channels, dispatch
from rules.routing import risk_review_alerts, unauthorized_change_alerts
from sandbox import ROUTING_KEY, SandboxConfig, serve_sandbox
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from tests.alerts.conftest import (
    ROOT,
    SmtpServer,
    enqueue,
    load,
    outbox,
    registry_text,
    review,
    verdict,
)


def _run_and_die(channel: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.alerts.crash_dispatcher", channel],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize("channel", ["email", "pagerduty", "jira"])
def test_killed_between_send_and_mark_duplicates_at_most_one_email_and_loses_nothing(
    channel: str, tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    upgrade(url)
    registry_file = tmp_path / "registry.yaml"
    registry_file.write_text(registry_text(without_slack=True), encoding="utf-8")
    registry = load(registry_file.read_text(encoding="utf-8")).registry
    engine = make_engine(url)
    factory: sessionmaker[Session] = session_factory(engine)
    try:
        enqueue(factory, unauthorized_change_alerts(registry, verdict(1))
                + risk_review_alerts(registry, review()))
        with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "JIRA_"))}
            env |= {key: value for key, value in sb.credentials.items() if key != "JIRA_PAT"}
            env |= {"ACCOUNTABILITY_DATABASE_URL": url,
                    "ACCOUNTABILITY_REGISTRY": str(registry_file),
                    "SMTP_HOST": smtp_server.host, "SMTP_PORT": str(smtp_server.port),
                    "SMTP_FROM": "Accountability <alerts@acme.example>",
                    "PD_ROUTING_KEY_SUPPORT": ROUTING_KEY, "PYTHONPATH": str(ROOT)}
            died = _run_and_die(channel, env)
            assert died.returncode == -9, died.stdout + died.stderr
            assert "dying" in died.stdout
            # the sent message's rows, and the rest of the claimed batch, wait as `sending`
            stuck = [r for r in outbox(factory) if r.status == "sending"]
            assert channel in {r.channel for r in stuck}

            for key, value in env.items():
                monkeypatch.setenv(key, value)
            later = datetime.now(UTC) + timedelta(minutes=31)  # the dead claim is stale
            report = dispatch(factory, registry, Channels.from_settings(load_settings()),
                              clock=lambda: later)
            assert report.failed == report.dead == 0
            events = list(sb.events)
            tickets = list(sb.created_issues)

        rows = outbox(factory)
        assert {r.status for r in rows} == {"sent"}, [(r.id, r.status, r.last_error)
                                                      for r in rows]
        mails = smtp_server.mailroom.received
        copies = Counter((tuple(sorted(m.rcpt_tos)), tuple(m.refs())) for m in mails)
        duplicated = [k for k, n in copies.items() if n > 1]
        assert set(copies.values()) <= {1, 2} and len(duplicated) == (channel == "email")
        assert len(copies) == 2  # the support unauthorized change, the risk review
        assert Counter(e["dedup_key"] for e in events) == Counter(
            {"unauthorized_change:0000000000000001": 2 if channel == "pagerduty" else 1,
             "support-2026-W46": 1})  # a repeated trigger appends to the same alert
        assert len(tickets) == 1  # the retried send found RISK-n by its label
        jira_row = next(r for r in rows if r.channel == "jira")
        assert jira_row.provider_id == tickets[0]["key"]
    finally:
        engine.dispose()
