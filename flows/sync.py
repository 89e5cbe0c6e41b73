"""The sync flow: one task per source partition (Jira project of a workflow; PagerDuty).

Retries here are the coarse outer layer (a partition re-run after the connector's own bounded
retries gave up); the cursor makes a retried partition resume rather than start over. Every
request waits on the API's Prefect global rate limit when one is configured (`flows.limits`:
`jira-api`, `pagerduty-api`), so all workers together stay under each vendor's rate limit;
tasks carry the same names as tags for tag-based concurrency limits.

A partition that fails for good does not stop the others: the flow waits for all of them,
then ends Failed naming the partitions that failed, with the rest committed.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from accountability.clock import system_clock
from accountability.usecases import databases, sync
from accountability.usecases.run_report import preflight
from flows.limits import JIRA_API_LIMIT, PAGERDUTY_API_LIMIT, api_throttle
from flows.secrets import flow_settings

JIRA_TAG = JIRA_API_LIMIT
PAGERDUTY_TAG = PAGERDUTY_API_LIMIT


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=10),
      retry_jitter_factor=0.5, tags=[JIRA_TAG])
def sync_jira_partition(
    partition: sync.JiraPartition, start: datetime, now: datetime, full: bool
) -> list[dict[str, Any]]:
    settings = flow_settings()
    with (
        databases.open_database(settings.database_url) as factory,
        sync.open_jira(settings, throttle=api_throttle(JIRA_API_LIMIT)) as jira,
    ):
        summary = sync.sync_jira_partition(factory, jira, partition, start=start, now=now,
                                           full=full)
    return [asdict(summary)]


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=10),
      retry_jitter_factor=0.5, tags=[PAGERDUTY_TAG])
def sync_pagerduty(
    services: tuple[str, ...], start: datetime, now: datetime, full: bool
) -> list[dict[str, Any]]:
    settings = flow_settings()
    with (
        databases.open_database(settings.database_url) as factory,
        sync.open_pagerduty(settings, throttle=api_throttle(PAGERDUTY_API_LIMIT)) as pagerduty,
    ):
        summaries = sync.sync_pagerduty(factory, pagerduty, services, start=start, now=now,
                                        full=full)
    return [asdict(s) for s in summaries]


@flow(name="sync", task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def sync_flow(
    source: str | None = None, full: bool = False, project: str | None = None
) -> dict[str, Any] | State:
    """Sync every partition of the registry (or of one source, or one Jira project); the
    run's start is the frozen upper bound.

    Returns `{"partitions": [summary per partition], "failures": ["jira support/SUP: …"]}`;
    with failures, as the data of a Failed state. The `sync-partition` deployment runs this
    flow once per source and Jira project when the run flow fans out (`partitioned=True`).
    """
    settings = flow_settings()
    loaded = preflight(settings, source)
    targets = sync.sync_targets(loaded.registry, source)
    if project is not None:
        targets = sync.only_project(targets, project)
    now = system_clock()
    start = sync.first_sync_start(now, sync.sync_start_of(settings))
    submitted: list[tuple[str, PrefectFuture[list[dict[str, Any]]]]] = [
        (f"jira {p.name}", sync_jira_partition.submit(p, start, now, full)) for p in targets.jira
    ]
    if targets.pagerduty_services:
        submitted.append((
            "pagerduty services " + ", ".join(targets.pagerduty_services),
            sync_pagerduty.submit(targets.pagerduty_services, start, now, full),
        ))
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for name, future in submitted:  # every partition runs to its end before the flow does
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            failures.append(f"{name}: {outcome}")
        else:
            rows.extend(outcome)
    create_table_artifact(
        [{k: str(v) for k, v in row.items() if k != "notes"} for row in rows],
        key="sync-summary",
        description="Records synced per partition",
    )
    result: dict[str, Any] = {"partitions": rows, "failures": failures}
    items, changes = sum(r["items"] for r in rows), sum(r["changes"] for r in rows)
    line = (f"synced {items} items, {changes} new ownership changes in {len(rows)} partitions, "
            f"{sum(r['quarantined'] for r in rows)} quarantined")
    if failures:
        get_run_logger().error(f"{line}; failed: " + "; ".join(failures))
        return Failed(message="sync failed for " + "; ".join(failures), data=result)
    get_run_logger().info(line)
    return result
