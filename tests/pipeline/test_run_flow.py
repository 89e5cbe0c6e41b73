"""The `accountability-run` flow under Prefect's engine, and `accountability run` by hand:
the summary they report, the scorecard artifact, a failing source that does not stop the rest,
and bad configuration that stops the run before any API call."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rules.registry import parse_registry
from sandbox import Sandbox, SandboxConfig, serve_sandbox
from sandbox.faults import FaultConfig
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import AlertOutbox, Finding, JiraIssue, PdIncident
from tests.alerts.conftest import SmtpServer
from tests.pipeline.helpers import environment, run

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "examples" / "registry.yaml"
# PagerDuty's incident listing answers with an HTML page: a malformed page, which the sync
# does not retry; the preflight call (escalation policies) still succeeds.
PAGERDUTY_BROKEN = FaultConfig.parse("html200=1,paths=/incidents")
EVERY_REQUEST_FAILS = FaultConfig.parse("500=1")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    upgrade(url)
    return url


def _use(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in list(os.environ) if k.startswith(
            ("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_", "SLACK_", "PD_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _count(url: str, model: Any, *where: Any) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model).where(*where)) or 0
    finally:
        engine.dispose()


def _workflows() -> set[str]:
    return set(parse_registry(REGISTRY.read_text(encoding="utf-8")).registry.workflows)


def test_run_flow_reports_its_summary_and_publishes_the_scorecard(
    prefect_api: None, sandbox: Sandbox, smtp: SmtpServer, slack: str, database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.run import run_flow

    _use(environment(sandbox, smtp, slack, database), monkeypatch)
    state = run_flow(return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["failed"] == []
    stored_items = _count(database, JiraIssue) + _count(database, PdIncident)
    assert 0 < stored_items <= summary["items_synced"]
    problems = _count(database, Finding, Finding.type != "authorized_change")
    assert sum(summary["findings"]["total"].values()) == problems > 0
    assert sum(summary["findings"]["new"].values()) == problems  # first run: all new
    sent = _count(database, AlertOutbox, AlertOutbox.status == "sent")
    assert summary["alerts"]["sent"] == sent > 0 and summary["alerts"]["failed"] == 0
    assert summary["alerts"]["pending"] == _count(database, AlertOutbox,
                                                  AlertOutbox.status == "pending") == 0
    emails = len(smtp.mailroom.received)
    assert emails > 0
    assert f"findings {problems} new / {problems} total" in summary["line"]

    artifact = _artifact(state.state_details.flow_run_id, "scorecard")
    assert {row["workflow"] for row in json.loads(artifact)} == _workflows()

    again = run_flow(return_state=True).result()  # nothing new: no finding, no alert twice
    assert sum(again["findings"]["new"].values()) == 0
    assert again["alerts"]["sent"] == 0 and len(smtp.mailroom.received) == emails


def test_a_failing_source_does_not_stop_the_others_and_the_run_fails_naming_it(
    prefect_api: None, sandbox: Sandbox, smtp: SmtpServer, slack: str, database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flows.sync
    from flows.run import run_flow

    # The task's own retries (10 s, 20 s) would only repeat the same failure here.
    monkeypatch.setattr(flows.sync, "sync_partition",
                        flows.sync.sync_partition.with_options(retries=0))
    sandbox.set_faults(PAGERDUTY_BROKEN)
    _use(environment(sandbox, smtp, slack, database), monkeypatch)
    state = run_flow(return_state=True)
    assert state.is_failed()
    assert "pagerduty" in (state.message or "") and "the rest completed" in (state.message or "")
    summary = state.result(raise_on_failure=False)
    assert [line.split(":")[0] for line in summary["failed"]] == ["pagerduty services "
                                                                  + _services()]
    assert _count(database, PdIncident) == 0
    assert _count(database, JiraIssue) > 0  # Jira synced
    assert _count(database, Finding, Finding.type == "unauthorized_change") > 0  # evaluated
    assert len(smtp.mailroom.received) > 0  # alerted


def test_missing_credentials_stop_the_run_before_any_api_call(
    prefect_api: None, sandbox: Sandbox, smtp: SmtpServer, slack: str, database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.run import run_flow

    env = environment(sandbox, smtp, slack, database)
    env.pop("PAGERDUTY_API_TOKEN")
    _use(env, monkeypatch)
    sandbox.set_faults(EVERY_REQUEST_FAILS)  # so any request that reached it is counted
    state = run_flow(return_state=True)
    assert state.is_failed()
    assert "PAGERDUTY_API_TOKEN is not set" in (state.message or "")
    assert sum(sandbox.faults_injected.values()) == 0
    assert _count(database, JiraIssue) == 0


def test_a_deployed_run_reads_a_missing_token_from_a_prefect_secret_block(
    prefect_api: None, sandbox: Sandbox, smtp: SmtpServer, slack: str, database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.blocks.system import Secret

    import flows.secrets
    from flows.run import run_flow

    env = environment(sandbox, smtp, slack, database)
    token = env.pop("PAGERDUTY_API_TOKEN")
    _use(env, monkeypatch)
    monkeypatch.setattr(flows.secrets, "_looked_up", set())
    monkeypatch.delenv("PAGERDUTY_API_TOKEN", raising=False)  # restored after the test
    block_id = Secret(value=token).save(flows.secrets.block_name("PAGERDUTY_API_TOKEN"),
                                         overwrite=True)
    try:
        state = run_flow(return_state=True)
    finally:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.delete_block_document(block_id)
    assert state.is_completed(), state.message
    assert _count(database, PdIncident) > 0
    assert os.environ["PAGERDUTY_API_TOKEN"] == token  # in this process only, not logged


def test_run_command_names_the_failed_source_and_finishes_the_rest(
    sandbox: Sandbox, smtp: SmtpServer, slack: str, database: str
) -> None:
    sandbox.set_faults(PAGERDUTY_BROKEN)
    result = run(environment(sandbox, smtp, slack, database), "run")
    assert result.returncode == 1
    assert "sync failed for pagerduty services" in result.stderr
    assert "Traceback" not in result.stderr
    assert _count(database, JiraIssue) > 0 and _count(database, PdIncident) == 0
    assert _count(database, Finding, Finding.type == "unauthorized_change") > 0
    assert len(smtp.mailroom.received) > 0
    assert "findings " in result.stdout and " total " in result.stdout


def test_run_command_with_an_unmigrated_database_fails_before_any_call(
    sandbox: Sandbox, smtp: SmtpServer, slack: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    sandbox.set_faults(EVERY_REQUEST_FAILS)
    result = run(environment(sandbox, smtp, slack, url), "run")
    assert result.returncode == 2
    assert "accountability db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert sum(sandbox.faults_injected.values()) == 0


def _services() -> str:
    registry = parse_registry(REGISTRY.read_text(encoding="utf-8")).registry
    services = sorted({
        service for workflow in registry.workflows.values() if workflow.sources.pagerduty
        for service in workflow.sources.pagerduty.services
    })
    return ", ".join(services)


def _artifact(flow_run_id: Any, key: str) -> str:
    """The data of the flow run's artifact `key` (read through a client that is closed after,
    unlike `Artifact.get`, which leaves a socket open)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        )
    assert len(found) == 1, f"{len(found)} artifacts {key!r} for the run"
    assert isinstance(found[0].data, str)
    return found[0].data


def test_api_throttle_takes_slots_of_a_configured_rate_limit_only(
    prefect_api: None, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from flows.limits import API_LIMITS, api_throttle

    JIRA_API_LIMIT, PAGERDUTY_API_LIMIT = API_LIMITS

    assert api_throttle(JIRA_API_LIMIT) is None  # not configured: no throttle, no API calls
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
            name=JIRA_API_LIMIT, limit=5, slot_decay_per_second=0.01))
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
            name=PAGERDUTY_API_LIMIT, limit=5))  # no decay: slots would never come back
        try:
            throttle = api_throttle(JIRA_API_LIMIT)
            assert throttle is not None
            throttle()
            throttle()
            taken = client.read_global_concurrency_limit_by_name(JIRA_API_LIMIT).active_slots
            assert taken == 2
            assert api_throttle(PAGERDUTY_API_LIMIT) is None
            assert "has no slot decay" in caplog.text
        finally:
            for name in (JIRA_API_LIMIT, PAGERDUTY_API_LIMIT):
                client.delete_global_concurrency_limit_by_name(name)


def test_a_pagerduty_rate_limit_looser_than_the_setting_is_named_with_its_fix(
    prefect_api: None, caplog: pytest.LogCaptureFixture
) -> None:
    """16 slots decaying at 16/s let 976 requests a minute through, over PagerDuty's 960: the
    flows still use it (each worker keeps its own 960), and say how to make it match; the
    matching limit (`flows.limits.matching_limit`) passes quietly."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )

    from flows.limits import api_throttle, matching_limit

    name = "pagerduty-api"
    assert matching_limit(960) == (96, 14.4)  # 96 + 14.4 x 60 = 960
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
            name=name, limit=16, slot_decay_per_second=16))
        try:
            assert api_throttle(name, 960) is not None
            assert ("prefect gcl update pagerduty-api --limit 96 --slot-decay-per-second 14.4"
                    in caplog.text)
            caplog.clear()
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(
                limit=96, slot_decay_per_second=14.4))
            assert api_throttle(name, 960) is not None
            assert "lets up to" not in caplog.text
        finally:
            client.delete_global_concurrency_limit_by_name(name)
