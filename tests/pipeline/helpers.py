"""What the pipeline tests share besides fixtures: the environment `accountability run` is given
(the sandbox's credentials, a database, SMTP, Slack) and the console script run in a
subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sandbox import ROUTING_KEY, Sandbox
from tests.alerts.conftest import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(Path(sys.executable).with_name("accountability"))


def environment(sb: Sandbox, smtp: SmtpServer, slack: str, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_", "SLACK_",
                                "PD_"))}
    env.update(sb.credentials)
    env.pop("JIRA_PAT")
    env.update(
        ACCOUNTABILITY_DATABASE_URL=url,
        ACCOUNTABILITY_REGISTRY=str(ROOT / "examples" / "registry.yaml"),
        ACCOUNTABILITY_SYNC_START="2026-09-01",
        SMTP_HOST=smtp.host, SMTP_PORT=str(smtp.port), SMTP_FROM="accountability@acme.example",
        SLACK_WEBHOOK_SUPPORT=slack, PD_ROUTING_KEY_SUPPORT=ROUTING_KEY,
        ACCOUNTABILITY_SLACK_HOSTS="hooks.slack.com,127.0.0.1",  # the fake Slack is local
    )
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True, timeout=300)
