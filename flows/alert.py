"""The alert flow: send what the evaluation (and `close`) queued in the outbox.

One task, no Prefect retries: the outbox is the retry layer (a failed alert stays pending with
its next attempt time), and a Prefect retry right away would only hit the same outage.
Several runs side by side are safe: each row is claimed by one dispatcher (SPEC §10).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from accountability import pipeline
from accountability.config.registry_file import load_registry_file
from accountability.usecases.databases import open_database
from flows.secrets import flow_settings


@task
def dispatch_alerts() -> dict[str, Any]:
    settings = flow_settings()
    loaded = load_registry_file(settings.registry)
    with open_database(settings.database_url) as factory:
        report = pipeline.alert_stage(settings, loaded.registry, factory)
    return report.as_dict() | {"line": report.line()}


@flow(name="alert")
def alert_flow() -> dict[str, Any]:
    result = dispatch_alerts()
    get_run_logger().info(result["line"])
    errors = "".join(f"\n- {error}" for error in result["errors"])
    create_markdown_artifact(f"# Alerts\n\n{result['line']}\n{errors}", key="alerts")
    return result
