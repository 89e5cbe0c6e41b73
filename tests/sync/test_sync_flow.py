"""The Prefect sync flow, run for real by Prefect's engine against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sandbox import Sandbox, SandboxConfig, serve_sandbox
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import JiraIssue, PdIncident

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def test_sync_flow_runs_one_task_per_partition_and_stores_everything(
    prefect_api: None, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.sync import sync_flow

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    upgrade(url)
    for key, value in sandbox.credentials.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("JIRA_PAT")
    monkeypatch.setenv("ACCOUNTABILITY_DATABASE_URL", url)
    monkeypatch.setenv("ACCOUNTABILITY_REGISTRY", str(ROOT / "examples" / "registry.yaml"))
    monkeypatch.setenv("ACCOUNTABILITY_SYNC_START", "2026-09-01")
    result = sync_flow()
    assert result["failures"] == []
    rows = result["partitions"]
    partitions = sorted(row["partition"] for row in rows)
    assert partitions == ["incidents", "log_entries", "onboarding/ONB", "renewals/REN",
                          "support/SUP"]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            issues = connection.scalar(select(func.count()).select_from(JiraIssue))
            incidents = connection.scalar(select(func.count()).select_from(PdIncident))
    finally:
        engine.dispose()
    assert issues == sum(row["items"] for row in rows if "/" in row["partition"])
    incident_rows = next(r["items"] for r in rows if r["partition"] == "incidents")
    assert incidents and incidents >= incident_rows
