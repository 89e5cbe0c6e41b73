"""The scheduled run's checks before it starts and its summary after it ends (SPEC §8, §10).

Shared by `accountability run` and the `accountability-run` flow, so both fail the same way
on bad configuration (before any API call) and report the same figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accountability.cli.tables import scorecard_json
from accountability.config.registry_file import load_registry_file
from accountability.config.settings import Settings
from accountability.usecases import databases, sync
from rules.registry import LoadedRegistry
from storage import outbox
from storage.evaluations import list_scorecards
from storage.models import Finding

# Findings that are not problems: listed by `findings --all`, never counted as findings here.
_NOT_A_PROBLEM = "authorized_change"


def preflight(settings: Settings, source: str | None = None) -> LoadedRegistry:
    """The registry, the database schema and the credentials of every source the registry
    uses, checked without a network call: a run that cannot succeed fails here, not halfway.

    Raises the project's usage errors (exit 2 in the CLI; the flow run fails at once).
    """
    loaded = load_registry_file(settings.registry)
    sync.check_credentials(settings, sync.sync_targets(loaded.registry, source))
    with databases.open_database(settings.database_url):
        pass  # opening checks the schema: unmigrated or newer → StorageError naming the fix
    return loaded


@dataclass
class Totals:
    """What the database holds after a run: findings by type, the outbox by status."""

    findings: dict[str, int] = field(default_factory=dict)
    open_findings: int = 0
    alerts: dict[str, int] = field(default_factory=dict)


def totals(factory: sessionmaker[Session]) -> Totals:
    with factory() as session:
        by_type = Counter[str]()
        open_findings = 0
        rows = session.execute(
            select(Finding.type, Finding.status, func.count())
            .where(Finding.type != _NOT_A_PROBLEM)
            .group_by(Finding.type, Finding.status)
        )
        for kind, status, number in rows:
            by_type[str(kind)] += int(number)
            open_findings += int(number) if status == "open" else 0
        alerts = outbox.counts_by_status(session)
    return Totals(dict(sorted(by_type.items())), open_findings, alerts)


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


@dataclass
class RunSummary:
    """One run of the scheduled job, as logged, returned and shown (SPEC §8 `run`)."""

    items_synced: int = 0
    changes_synced: int = 0
    quarantined: int = 0
    new_findings: dict[str, int] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    alerts_sent: int = 0
    alerts_failed: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)  # "jira support/SUP: …", "evaluate: …"

    def line(self) -> str:
        new = sum(self.new_findings.values())
        total = sum(self.totals.findings.values())
        outbox = self.totals.alerts
        text = (
            f"run: {self.items_synced} items synced ({self.changes_synced} ownership changes, "
            f"{self.quarantined} quarantined); findings {new} new / {total} total "
            f"({self.totals.open_findings} open); alerts {self.alerts_sent} sent, "
            f"{outbox.get('pending', 0)} pending, {outbox.get('dead', 0)} dead; "
            f"{self.seconds:.1f} s"
        )
        if self.failed:
            text += "; FAILED: " + "; ".join(self.failed)
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "items_synced": self.items_synced,
            "changes_synced": self.changes_synced,
            "quarantined": self.quarantined,
            "findings": {"new": dict(self.new_findings), "total": dict(self.totals.findings),
                         "open": self.totals.open_findings},
            "alerts": {"sent": self.alerts_sent, "failed": self.alerts_failed,
                       "pending": self.totals.alerts.get("pending", 0),
                       "dead": self.totals.alerts.get("dead", 0)},
            "duration_seconds": round(self.seconds, 1),
            "failed": list(self.failed),
            "line": self.line(),
        }
