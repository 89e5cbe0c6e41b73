"""The scheduled job: sync → evaluate → alert, one flow run per interval.

Each stage is its own subflow with its own retry policy (sync partitions retry, the evaluation
transaction retries once, alerts rely on the outbox). A failing sync stops the run before the
evaluation, so nothing is judged on half-synced data; the next run resumes from the cursors.
Overlap is prevented by the deployment's concurrency limit (prefect.yaml: limit 1, CANCEL_NEW).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.alert import alert_flow
from flows.evaluate import evaluate_flow
from flows.sync import sync_flow


@flow(name="accountability-run")
def run_flow(full: bool = False) -> dict[str, Any]:
    synced = sync_flow(full=full)
    evaluated = evaluate_flow(full=full)
    alerts = alert_flow()
    return {"sync": synced, "evaluate": evaluated, "alert": alerts}
