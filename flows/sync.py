"""The sync flow: one task per source partition (Jira project of a workflow; PagerDuty).

Retries here are the coarse outer layer (a partition re-run after the connector's own bounded
retries gave up); the cursor makes a retried partition resume rather than start over. Task
tags name the API, so Prefect tag concurrency limits (`jira-api`, `pagerduty-api`) can hold
every worker together under each vendor's rate limit.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from accountability import app_services, sync
from accountability.registry_file import load_registry_file
from accountability.settings import load_settings

JIRA_TAG = "jira-api"
PAGERDUTY_TAG = "pagerduty-api"


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=10),
      retry_jitter_factor=0.5, tags=[JIRA_TAG])
def sync_jira_partition(
    partition: sync.JiraPartition, start: datetime, now: datetime, full: bool
) -> list[dict[str, Any]]:
    settings = load_settings()
    with app_services.database(settings.database_url) as factory, sync.open_jira(settings) as jira:
        summary = sync.sync_jira_partition(factory, jira, partition, start=start, now=now,
                                           full=full)
    return [asdict(summary)]


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=10),
      retry_jitter_factor=0.5, tags=[PAGERDUTY_TAG])
def sync_pagerduty(
    services: tuple[str, ...], start: datetime, now: datetime, full: bool
) -> list[dict[str, Any]]:
    settings = load_settings()
    with (
        app_services.database(settings.database_url) as factory,
        sync.open_pagerduty(settings) as pagerduty,
    ):
        summaries = sync.sync_pagerduty(factory, pagerduty, services, start=start, now=now,
                                        full=full)
    return [asdict(s) for s in summaries]


@flow(name="sync", task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def sync_flow(source: str | None = None, full: bool = False) -> list[dict[str, Any]]:
    """Sync every partition of the registry; the run's start is the frozen upper bound."""
    settings = load_settings()
    loaded = load_registry_file(settings.registry)
    targets = sync.sync_targets(loaded.registry, source)
    now = sync.utc_now()
    start = sync.first_sync_start(now, sync.sync_start_of(settings))
    futures = [sync_jira_partition.submit(p, start, now, full) for p in targets.jira]
    if targets.pagerduty_services:
        futures.append(sync_pagerduty.submit(targets.pagerduty_services, start, now, full))
    rows = [row for future in futures for row in future.result()]
    create_table_artifact(
        [{k: str(v) for k, v in row.items() if k != "notes"} for row in rows],
        key="sync-summary",
        description="Records synced per partition",
    )
    return rows
