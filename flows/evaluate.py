"""The evaluate flow: rules over what changed since the last evaluation (or everything).

One task, one transaction: findings, scorecards, risk reviews and their outbox rows are
committed together or not at all, so a retried task never half-writes.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings
from accountability.usecases import databases, evaluate


@task(retries=1, retry_delay_seconds=30)
def run_evaluation(full: bool) -> dict[str, Any]:
    settings = load_settings()
    loaded = load_registry_file(settings.registry)
    with databases.open_database(settings.database_url) as factory:
        report = evaluate.evaluate(factory, loaded, full=full, jira_browse_base=settings.jira_url)
    return {"line": report.line(), "new_findings": dict(report.new_findings),
            "reviews_opened": report.reviews_opened, "alerts": report.alerts}


@flow(name="evaluate")
def evaluate_flow(full: bool = False) -> dict[str, Any]:
    result = run_evaluation(full)
    get_run_logger().info(result["line"])
    create_markdown_artifact(f"# Evaluation\n\n{result['line']}", key="evaluation")
    return result
