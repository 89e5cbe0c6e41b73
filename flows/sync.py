"""The sync flow: the pipeline's partition plan, one task per partition (`flows.run` fans the
same plan out to deployments instead when asked to).

Retries here are the coarse outer layer (a partition re-run after the connector's own bounded
retries gave up); the cursor makes a retried partition resume rather than start over. Every
request waits on its API's Prefect global rate limit when one is configured (`flows.limits`,
named by the source: `jira-api`, `pagerduty-api`), so all workers together stay under each
vendor's rate limit; a partition's task carries the same name as a tag for tag-based
concurrency limits.

A partition that fails for good does not stop the others: the flow waits for all of them,
then ends Failed naming the partitions that failed, with the rest committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from accountability import pipeline
from accountability.sources import BY_NAME, Partition, Source, Window
from accountability.sources.base import RateLimited
from accountability.usecases.databases import open_database
from flows.limits import api_throttle
from flows.secrets import flow_settings


@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=10),
      retry_jitter_factor=0.5)
def sync_partition(partition: Partition, window: Window) -> pipeline.PartitionResult:
    settings = flow_settings()
    source = BY_NAME[partition.source]
    per_minute = source.requests_per_minute(settings) if isinstance(source, RateLimited) else None
    throttle = api_throttle(source.rate_limit, per_minute)
    with open_database(settings.database_url) as factory:
        return pipeline.sync_partition(settings, factory, partition, window, throttle=throttle)


def partition_task(source: Source) -> Task[..., pipeline.PartitionResult]:
    """The partition task as a source runs it: tagged with its rate limit's name."""
    return sync_partition.with_options(name=f"sync-{source.name}", tags=[source.rate_limit])


def in_tasks(plan: Sequence[Partition], window: Window) -> list[pipeline.Outcome]:
    """The pipeline's executor on Prefect: every partition a task of this flow run."""
    futures = [partition_task(BY_NAME[p.source]).submit(p, window) for p in plan]
    return [future.result(raise_on_failure=False) for future in futures]


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
    loaded = pipeline.preflight(settings, source)
    report = pipeline.run_sync(settings, loaded.registry, in_tasks, source=source,
                               group=project, full=full, raise_on_failure=False)
    result = report.as_dict()
    create_table_artifact(
        [{k: str(v) for k, v in asdict(s).items() if k != "notes"} for s in report.summaries],
        key="sync-summary",
        description="Records synced per partition",
    )
    line = (f"synced {report.items} items, {report.changes} new ownership changes in "
            f"{len(report.summaries)} partitions, {report.quarantined} quarantined")
    if report.failures:
        get_run_logger().error(f"{line}; failed: " + "; ".join(result["failures"]))
        return Failed(message=report.failure_line(), data=result)
    get_run_logger().info(line)
    return result
