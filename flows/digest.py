"""The weekly digest flow (SPEC §7): build the digest of a week, write it, send it to
leadership, and publish it as a Prefect markdown artifact.

One task: the send and its record (`digest_sends`) belong together, so a Prefect retry could
only send twice; no retries here. A scheduled run for a week already sent does not fail and
does not send again: it says so in the artifact (`force=True` sends it again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from accountability.config.registry_file import load_registry_file
from accountability.usecases import databases
from accountability.usecases.digest import produce
from flows.secrets import flow_settings

ARTIFACT_KEY = "digest"


@task
def build_and_deliver(
    week: str | None, send: bool, out: str | None, force: bool
) -> dict[str, Any]:
    settings = flow_settings()
    loaded = load_registry_file(settings.registry)
    with databases.open_database(settings.database_url) as factory:
        report = produce(factory, loaded, settings, week=week, send=send, force=force,
                         out=Path(out) if out else None, when_sent="skip")
    logger = get_run_logger()
    for line in report.delivery():
        logger.info("%s", line)
    return {"week": report.week, "subject": report.subject, "sent_to": report.sent_to,
            "message_id": report.message_id, "out": str(report.out) if report.out else None,
            "skipped": report.skipped, "notes": report.notes, "markdown": report.markdown()}


@flow(name="digest")
def digest_flow(
    week: str | None = None, send: bool = False, out: str | None = None, force: bool = False
) -> dict[str, Any]:
    """The digest of `week` (default: the week just ended in the registry's time zone).

    Example:
        >>> digest_flow(send=True, out="digests/latest.html")   # doctest: +SKIP
    """
    result = build_and_deliver(week, send, out, force)
    create_markdown_artifact(result["markdown"], key=ARTIFACT_KEY,
                             description=result["subject"])
    return result
