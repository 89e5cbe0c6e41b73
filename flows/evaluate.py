"""The evaluate flow: rules over what changed since the last evaluation (or everything).

One task, one transaction: findings, scorecards, risk reviews and their outbox rows are
committed together or not at all, so a retried task never half-writes.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from accountability import pipeline
from accountability.config.registry_file import load_registry_file
from accountability.usecases.databases import open_database
from flows.secrets import flow_settings


@task(retries=1, retry_delay_seconds=30)
def run_evaluation(full: bool) -> dict[str, Any]:
    settings = flow_settings()
    loaded = load_registry_file(settings.registry)
    with open_database(settings.database_url) as factory:
        return pipeline.evaluate_stage(settings, loaded, factory, full=full).as_dict()


@flow(name="evaluate")
def evaluate_flow(full: bool = False) -> dict[str, Any]:
    result = run_evaluation(full)
    get_run_logger().info(result["line"])
    create_markdown_artifact(f"# Evaluation\n\n{result['line']}", key="evaluation")
    return result
