"""The scheduled job: sync → evaluate → alert, one flow run per interval.

Each stage is its own subflow with its own retry policy (sync partitions retry, the evaluation
transaction retries once, alerts rely on the outbox). Bad configuration (no or an invalid
registry, missing credentials for a source the registry uses, an unmigrated database) fails
the run at once, before any API call. Past that, a failing source does not stop the rest: the
other partitions commit, the evaluation judges what is stored (a failed partition's cursor did
not move, so it is consistent, only older), alerts go out, and the run then ends Failed naming
what failed. Overlap is prevented by the deployment's concurrency limit (prefect.yaml: limit 1,
CANCEL_NEW).

The run logs one summary line, returns the summary as its result, and publishes each
workflow's latest scorecard as the table artifact `scorecard`.

With `partitioned=True` the sync fans out: one flow run of the `sync-partition` deployment per
source and Jira project, so the workers of the pool share the partitions (docs/operations.md);
the run waits for all of them before it evaluates.
"""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.states import Failed

from accountability.usecases import databases, run_report, sync
from flows.alert import alert_flow
from flows.evaluate import evaluate_flow
from flows.secrets import flow_settings
from flows.sync import sync_flow

SYNC_PARTITION_DEPLOYMENT = "sync/sync-partition"
PARTITION_TIMEOUT_S = 3 * 3600  # a first sync of a large project can take hours


@flow(name="accountability-run")
def run_flow(full: bool = False, partitioned: bool = False) -> dict[str, Any] | State:
    began = time.monotonic()
    settings = flow_settings()
    loaded = run_report.preflight(settings)
    summary = run_report.RunSummary()

    synced: dict[str, Any] | None
    error: str | None = None
    if partitioned:
        synced = _sync_partitioned(sync.sync_targets(loaded.registry, None), full)
    else:
        synced, error = _outcome(sync_flow(full=full, return_state=True))
    for row in (synced or {}).get("partitions", []):
        summary.items_synced += int(row.get("items", 0))
        summary.changes_synced += int(row.get("changes", 0))
        summary.quarantined += int(row.get("quarantined", 0))
    summary.failed += (synced or {}).get("failures", []) or ([f"sync: {error}"] if error else [])

    evaluated, error = _outcome(evaluate_flow(full=full, return_state=True))
    if evaluated:
        summary.new_findings = dict(evaluated.get("new_findings", {}))
    if error:
        summary.failed.append(f"evaluate: {error}")

    alerts, error = _outcome(alert_flow(return_state=True))
    if alerts:
        summary.alerts_sent = int(alerts.get("sent", 0))
        summary.alerts_failed = int(alerts.get("failed", 0))
    if error:
        summary.failed.append(f"alert: {error}")

    with databases.open_database(settings.database_url) as factory:
        summary.totals = run_report.totals(factory)
        scorecard = run_report.current_scorecard(factory)
    create_table_artifact(run_report.scorecard_artifact_rows(scorecard), key="scorecard",
                          description="Each workflow's latest scored week")
    summary.seconds = time.monotonic() - began
    logger = get_run_logger()
    if summary.failed:
        logger.error(summary.line())
        return Failed(message="failed: " + "; ".join(summary.failed) + " (the rest completed)",
                      data=summary.as_dict())
    logger.info(summary.line())
    return summary.as_dict()


def _outcome(state: State[Any]) -> tuple[dict[str, Any] | None, str | None]:
    """A subflow's result and, when it failed, why (its message, or its exception)."""
    result = state.result(raise_on_failure=False)
    data = result if isinstance(result, dict) else None
    if not state.is_failed() and not state.is_crashed():
        return data, None
    if data is not None:  # failed with a result: the failures are named inside it
        return data, None if data.get("failures") else state.message
    return None, str(result) if isinstance(result, BaseException) else state.message


def _sync_partitioned(targets: sync.SyncTargets, full: bool) -> dict[str, Any]:
    """Start a `sync-partition` flow run per source and Jira project, wait for all, and gather
    what each synced from its `sync-summary` artifact (results stay on the worker that made
    them; artifacts are on the server)."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    started = []
    for parameters in sync.fan_out(targets):
        flow_run: Any = run_deployment(SYNC_PARTITION_DEPLOYMENT, timeout=0,
                                       parameters={**parameters, "full": full})
        started.append((" ".join(parameters.values()), flow_run.id))
    partitions: list[dict[str, Any]] = []
    failures: list[str] = []
    with get_client(sync_client=True) as client:
        for label, flow_run_id in started:
            state = _wait(client, flow_run_id)
            partitions += _summary_rows(client, flow_run_id)
            if state is None or not state.is_completed():
                why = "did not finish in time" if state is None else state.message or state.name
                failures.append(f"{label}: {why}")
    return {"partitions": partitions, "failures": failures}


def _wait(client: Any, flow_run_id: UUID) -> State | None:
    deadline = time.monotonic() + PARTITION_TIMEOUT_S
    while time.monotonic() < deadline:
        state = client.read_flow_run(flow_run_id).state
        if state is not None and state.is_final():
            return state  # type: ignore[no-any-return]
        time.sleep(2)
    return None


def _summary_rows(client: Any, flow_run_id: UUID) -> list[dict[str, Any]]:
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["sync-summary"])),
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
    )
    rows: list[dict[str, Any]] = []
    for artifact in artifacts:
        data = json.loads(artifact.data) if isinstance(artifact.data, str) else []
        rows += [dict(row) for row in data if isinstance(row, dict)]
    return rows
