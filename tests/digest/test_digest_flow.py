"""The digest flow run by Prefect's engine: the file, the send, and the markdown artifact."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.digest.conftest import CONFIG_PREFIXES, SmtpServer, Workspace


def configure(monkeypatch: pytest.MonkeyPatch, workspace: Workspace, **extra: str) -> None:
    for name in list(os.environ):
        if name.startswith(CONFIG_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in (workspace.env | extra).items():
        if name.startswith(CONFIG_PREFIXES):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(workspace.folder)


def artifact(key: str) -> str:
    from prefect.artifacts import Artifact

    found = asyncio.run(Artifact.aget(key))  # type: ignore[attr-defined]
    assert found is not None, f"no artifact {key!r}"
    return str(found.data)


def test_the_flow_writes_sends_once_and_publishes_the_artifact(
    prefect_api: None, workspace: Workspace, smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.digest import ARTIFACT_KEY, digest_flow

    configure(monkeypatch, workspace, **smtp_server.env())
    target = workspace.folder / "out" / "digest.html"
    result = digest_flow(week="2026-W46", send=True, out=str(target))
    assert result["subject"] == (
        "Accountability digest 2026-W46: 1 workflow to pause, 1 risk review open")
    assert Path(result["out"]) == target and target.read_text().startswith("<!DOCTYPE html>")
    assert sorted(result["sent_to"]) == ["dana@acme.example", "omar@acme.example"]
    markdown = artifact(ARTIFACT_KEY)
    assert markdown.startswith("# Accountability digest 2026-W46")
    assert "| Throughput | 13 | min 15 | -21 | **breach** |" in markdown
    assert "`support-2026-W46`" in markdown
    assert "[SUP-210](https://acme.atlassian.net/browse/SUP-210)" in markdown
    assert "sent to dana@acme.example, omar@acme.example" in markdown
    # a scheduled re-run of a week already sent: no failure, no second e-mail, it says why
    again = digest_flow(week="2026-W46", send=True)
    assert again["sent_to"] == [] and "already sent" in again["skipped"]
    assert len(smtp_server.mailroom.received) == 1
    assert "not sent: the digest of 2026-W46 was already sent" in artifact(ARTIFACT_KEY)


def test_the_flow_defaults_to_the_week_just_ended(
    prefect_api: None, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from flows.digest import digest_flow
    from rules.weeks import shift_week, week_of

    configure(monkeypatch, workspace)
    result = digest_flow()
    assert result["week"] == shift_week(week_of(datetime.now(UTC), ZoneInfo("Europe/Berlin")), -1)
    assert result["out"] is None and result["sent_to"] == []
