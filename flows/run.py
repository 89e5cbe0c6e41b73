"""The scheduled job on Prefect: `accountability.pipeline.run`, one flow run per interval.

The pipeline says the order and the failure policy; here each stage is its own subflow with its
own retry policy (sync partitions retry, the evaluation transaction retries once, alerts rely on
the outbox). Bad configuration (no or an invalid registry, missing credentials for a source the
registry uses, an unmigrated database) fails the run at once, before any API call. Past that, a
failing source does not stop the rest: the other partitions commit, the evaluation judges what
is stored (a failed partition's cursor did not move, so it is consistent, only older), alerts
go out, and the run then ends Failed naming what failed. Overlap is prevented by the
deployment's concurrency limit (prefect.yaml: limit 1, CANCEL_NEW).

The run logs one summary line, returns the summary as its result, and publishes each
workflow's latest scorecard as the table artifact `scorecard`.

With `partitioned=True` the sync fans out: one flow run of the `sync-partition` deployment per
source and Jira project, so the workers of the pool share the partitions (docs/operations.md);
the run waits for all of them before it evaluates.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.states import Failed
from sqlalchemy.orm import Session, sessionmaker

from accountability import pipeline
from accountability.sources import Partition, SyncSummary
from accountability.usecases.databases import open_database
from accountability.usecases.dispatch import DispatchReport
from accountability.usecases.evaluate import EvaluationReport
from accountability.usecases.records import scorecard_json
from flows.alert import alert_flow
from flows.evaluate import evaluate_flow
from flows.secrets import flow_settings
from flows.sync import sync_flow
from rules.registry import Registry
from storage.evaluations import list_scorecards

SYNC_PARTITION_DEPLOYMENT = "sync/sync-partition"
PARTITION_TIMEOUT_S = 3 * 3600  # a first sync of a large project can take hours


@flow(name="accountability-run")
def run_flow(full: bool = False, partitioned: bool = False) -> dict[str, Any] | State:
    settings = flow_settings()
    loaded = pipeline.preflight(settings)
    summary = pipeline.run(_Subflows(loaded.registry, full, partitioned), settings.database_url)
    with open_database(settings.database_url) as factory:
        scorecard = current_scorecard(factory)
    create_table_artifact(scorecard_artifact_rows(scorecard), key="scorecard",
                          description="Each workflow's latest scored week")
    logger = get_run_logger()
    if summary.failed:
        logger.error(summary.line())
        return Failed(message="failed: " + "; ".join(summary.failed) + " (the rest completed)",
                      data=summary.as_dict())
    logger.info(summary.line())
    return summary.as_dict()


@dataclass(frozen=True)
class _Subflows:
    """The pipeline's stages as subflows of this run, each with its own retry policy."""

    registry: Registry
    full: bool
    partitioned: bool

    def sync(self) -> pipeline.SyncReport:
        if self.partitioned:
            return _sync_partitioned(pipeline.plan_sync(self.registry), self.full)
        return pipeline.SyncReport.from_dict(_outcome(sync_flow(full=self.full,
                                                                return_state=True)))

    def evaluate(self) -> EvaluationReport:
        return EvaluationReport.from_dict(_outcome(evaluate_flow(full=self.full,
                                                                 return_state=True)))

    def alert(self) -> DispatchReport:
        return DispatchReport.from_dict(_outcome(alert_flow(return_state=True)))


class StageFailed(Exception):
    """A subflow that failed without a result naming what failed."""


def _outcome(state: State[Any]) -> dict[str, Any]:
    """A subflow's result; when it failed without naming its failures inside, why."""
    result = state.result(raise_on_failure=False)
    data = result if isinstance(result, dict) else None
    if not state.is_failed() and not state.is_crashed() and data is not None:
        return data
    if data is not None and data.get("failures"):  # failed with a result naming the failures
        return data
    raise StageFailed(str(result) if isinstance(result, BaseException) else state.message)


def _sync_partitioned(plan: list[Partition], full: bool) -> pipeline.SyncReport:
    """Start a `sync-partition` flow run per source and Jira project, wait for all, and gather
    what each synced from its `sync-summary` artifact (results stay on the worker that made
    them; artifacts are on the server)."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    began = time.monotonic()
    started = []
    for parameters in pipeline.fan_out(plan):
        flow_run: Any = run_deployment(SYNC_PARTITION_DEPLOYMENT, timeout=0,
                                       parameters={**parameters, "full": full})
        started.append((parameters, flow_run.id))
    summaries: list[SyncSummary] = []
    failures: list[pipeline.SourceFailure] = []
    with get_client(sync_client=True) as client:
        for parameters, flow_run_id in started:
            state = _wait(client, flow_run_id)
            summaries += _summaries(client, flow_run_id)
            if state is None or not state.is_completed():
                why = ("did not finish in time" if state is None
                       else str(state.message or state.name))
                failures.append(pipeline.SourceFailure(parameters["source"],
                                                       parameters.get("project", ""), why))
    return pipeline.SyncReport(summaries, 0, 0, time.monotonic() - began, failures)


def _wait(client: Any, flow_run_id: UUID) -> State | None:
    deadline = time.monotonic() + PARTITION_TIMEOUT_S
    while time.monotonic() < deadline:
        state = client.read_flow_run(flow_run_id).state
        if state is not None and state.is_final():
            return state  # type: ignore[no-any-return]
        time.sleep(2)
    return None


def _summaries(client: Any, flow_run_id: UUID) -> list[SyncSummary]:
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
    summaries: list[SyncSummary] = []
    for artifact in artifacts:
        data = json.loads(artifact.data) if isinstance(artifact.data, str) else []
        summaries += [SyncSummary(str(row.get("source")), str(row.get("partition")),
                                  items=int(row.get("items", 0)),
                                  changes=int(row.get("changes", 0)),
                                  quarantined=int(row.get("quarantined", 0)),
                                  skipped=int(row.get("skipped", 0)))
                      for row in data if isinstance(row, dict)]
    return summaries


def current_scorecard(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Each workflow's latest scored week, as `scorecard --json` prints it."""
    with factory() as session:
        latest: dict[str, Any] = {}
        for row in list_scorecards(session):  # ordered by workflow, week
            latest[row.workflow] = row
        return [scorecard_json(row) for row in latest.values()]


def scorecard_artifact_rows(scorecard: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The scorecard as table rows: every value a short string, lists joined."""
    return [
        {key: ", ".join(value) if isinstance(value, list) else _text(value)
         for key, value in row.items()}
        for row in scorecard
    ]


def _text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
