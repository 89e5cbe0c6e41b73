"""The plain data the rules take in and give back (no ORM, no I/O).

`storage` builds `ItemHistory` values from what the sync stored; `rules.authority`,
`rules.findings` and `rules.scorecard` turn them into verdicts, findings and weekly scores,
which `storage` writes back. Identities stay vendor references (`jira:<accountId>`,
`pagerduty:<id>`) in the facts; the rules map them to registry ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

UNMAPPED_STAGE = "unmapped"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A Jira status transition (status names as Jira shows them)."""

    at: datetime  # aware UTC
    from_status: str | None
    to_status: str
    ref: str = ""  # jira:<history id>:<item index>


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    """One ownership event (SPEC §4 table), as normalized at sync time."""

    ref: str  # jira:<history>:<index> | pagerduty:<log entry id>
    source: str  # a `rules.sources` name: jira | pagerduty
    at: datetime  # aware UTC
    actor: str  # jira:<accountId> | pagerduty:<id> | jira:unknown
    actor_kind: str  # user | service | escalation_policy | integration | unknown
    from_refs: tuple[str, ...]
    to_refs: tuple[str, ...]
    event_type: str  # assignee | assign_log_entry | escalate_log_entry | …
    seq: int = 0  # place among the item's events: breaks ties of the same second (PagerDuty)


@dataclass(frozen=True, slots=True)
class ItemHistory:
    """Everything the rules need about one tracked item, oldest events first.

    For a Jira issue, `initial_status` is its status at creation (the `from` of its first
    status change, or its current status when it never changed) and `initial_owners` the
    assignee it was created with; for a PagerDuty incident `status_changes` is empty and
    `triggered_at` / `acknowledged_at` / `resolved_at` come from its log entries.
    """

    source: str  # a `rules.sources` name (jira | pagerduty); the rules ask its kind
    item: str  # Jira key | incident id
    workflow: str | None  # None: matches no workflow (stored, not judged)
    created: datetime
    initial_status: str | None = None
    initial_owners: tuple[str, ...] = ()
    current_owners: tuple[str, ...] = ()
    status_changes: tuple[StatusChange, ...] = ()
    ownership_changes: tuple[OwnershipChange, ...] = ()
    url: str | None = None
    title: str | None = None
    # PagerDuty only
    service: str | None = None
    escalation_policy: str | None = None
    triggered_at: datetime | None = None
    acknowledged_at: datetime | None = None  # first acknowledgement
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement of one ownership change (SPEC §4): authorized by `rule`, or not."""

    key: str
    event_ref: str
    workflow: str
    item: str
    source: str
    at: datetime
    actor: str  # registry id when known, else the vendor reference
    from_ids: tuple[str, ...]
    to_ids: tuple[str, ...]
    decision: str
    stage: str
    authorized: bool
    rule: str | None  # approver | delegation | declared-path | automation; None when unauthorized
    reason: str  # a sentence a manager understands
    url: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A finding other than a verdict: unowned_item, ownership_churn, late_risk_review,
    registry_gap (and unauthorized_change, built from a `Verdict`)."""

    key: str
    type: str
    workflow: str | None
    item: str | None
    at: datetime
    reason: str
    actor: str | None = None
    from_ids: tuple[str, ...] = ()
    to_ids: tuple[str, ...] = ()
    rule: str | None = None
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReviewState:
    """A stored risk review, as the scorecard and findings rules need it."""

    id: str
    workflow: str
    week: str
    owner: str
    status: str  # open | acknowledged | closed
    opened_at: datetime
    due: date
    breaches: tuple[str, ...]
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WeekScore:
    """One workflow's scorecard for one ISO week (SPEC §5, §8 `scorecard --json`).

    The metric fields are named as the rows of `rules.metrics`, and as the `scorecards`
    columns: readers go through the table, storage copies by name."""

    workflow: str
    week: str  # 2026-W48
    throughput: int
    quality_trend: float | None
    exception_rate: float | None
    rework_volume: int
    decision_latency_hours: float | None
    decision_latency_p90_hours: float | None
    unauthorized_changes: int
    breaches: tuple[str, ...]
    recommendation: str  # continue | stabilize | pause | stop
    recommendation_rule: str
    has_data: bool = True
    reopened: int | None = None
    """Of `throughput`, the items reopened since (the quality rate's numerator, stored so an
    incremental evaluation need not re-read the weeks the quality trend looks back on)."""


def stable_key(*parts: str) -> str:
    """Same input → same key, in every process (no `hash()`, which is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    return f"{parts[0]}:{digest}"
