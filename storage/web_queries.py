"""What the web app's read pages query (SPEC §13): one page of rows at a time, through indexes.

Every list is a page: `LIMIT size + 1 OFFSET (page - 1) * size` in an order an index serves
(findings newest first by `(at, key)`, risk reviews by `opened_at`), so a page costs the rows
before it in index order and never the whole table; the extra row says whether a next page
exists without counting every match (`COUNT(*)` over the million-event database's findings
would cost more than the page itself). Migration 0012 adds the indexes these orders need.

Nothing here writes: the pages are GET requests, and a GET never acts (SPEC §13).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import QueryableAttribute, Session

from storage.evaluations import EVALUATION_CURSOR
from storage.models import (
    AlertOutbox,
    Decision,
    DigestSend,
    Finding,
    Ratification,
    RiskReview,
    Scorecard,
    SyncCursor,
)

PAGE_SIZE = 50
MAX_PAGE = 10_000
"""Deeper pages are refused by the web layer: OFFSET costs the rows before the page."""
ACTIVE_REVIEW_STATUSES = ("open", "acknowledged")
LISTED_FINDING_TYPES = ("unauthorized_change", "unowned_item", "ownership_churn",
                        "late_risk_review", "registry_gap")
"""What `findings` lists without `--all`: authorized changes are re-judged, never stored."""

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    number: int
    size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _page(session: Session, query: Select[tuple[T]], number: int, size: int) -> Page[T]:
    rows = list(session.scalars(query.limit(size + 1).offset((number - 1) * size)))
    return Page(rows=rows[:size], number=number, size=size, has_next=len(rows) > size)


@dataclass(frozen=True)
class FindingFilter:
    """The findings page's filters; None means any. `since`/`until` bound `at` (a week)."""

    workflow: str | None = None
    status: str | None = None
    type: str | None = None
    source: str | None = None
    person: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _json_list_holds(column: QueryableAttribute[Any], value: str) -> ColumnElement[bool]:
    """The JSON list in `column` holds the string `value`, on SQLite and PostgreSQL alike: the
    list's JSON text contains the value's JSON text (`"dev"` in `["dev", "sam"]`), with LIKE's
    wildcards escaped."""
    needle = json.dumps(value)
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(column, String).like(f"%{escaped}%", escape="\\")


def _ordered(session: Session, column: QueryableAttribute[Any]) -> ColumnElement[Any]:
    """`column` as a term no index may serve, on SQLite: `+findings.type`, SQLite's documented
    way to keep its planner off an index. Without statistics it prefers any index matching an
    equality (`type = …` by `ix_findings_type_status`) and then sorts every match — 77,000
    unauthorized changes at scale, for a page of 50 —, where reading `ix_findings_at_key_cover`
    in order and testing `type`, `status` and `workflow` in the index stops after the page.
    PostgreSQL plans with its statistics and gets the column as it is."""
    if session.get_bind().dialect.name != "sqlite":
        return column.expression
    return literal_column(f"+findings.{column.key}", type_=String)


def _finding_conditions(session: Session, f: FindingFilter) -> list[ColumnElement[bool]]:
    # `!=`, not `IN (listed types)`: nothing is left to skip but the authorized changes
    # (never stored any more), and an IN would be an index lookup (see `_ordered`).
    conditions: list[ColumnElement[bool]] = [Finding.type != "authorized_change"]
    if f.workflow is not None:
        conditions.append(_ordered(session, Finding.workflow) == f.workflow)
    if f.status is not None:
        conditions.append(_ordered(session, Finding.status) == f.status)
    if f.type is not None:
        conditions.append(_ordered(session, Finding.type) == f.type)
    if f.source is not None:
        conditions.append(Finding.details["source"].as_string() == f.source)
    if f.person is not None:
        conditions.append(or_(Finding.actor == f.person,
                              _json_list_holds(Finding.from_ids, f.person),
                              _json_list_holds(Finding.to_ids, f.person)))
    if f.since is not None:
        conditions.append(Finding.at >= f.since)
    if f.until is not None:
        conditions.append(Finding.at < f.until)
    return conditions


def findings(session: Session, f: FindingFilter, number: int = 1,
             size: int = PAGE_SIZE) -> Page[Finding]:
    """Newest first (`at`, then `key`, both descending), in two steps: the page's keys, read
    from `ix_findings_at_key_cover` alone (it holds `at`, `key`, `type`, `status` and
    `workflow`, so the rows OFFSET skips are index entries, never table rows), then those
    rows by primary key. Filters on `source` and `person` read the rows they test."""
    keys_query = (select(Finding.key).where(and_(*_finding_conditions(session, f)))
                  .order_by(Finding.at.desc(), Finding.key.desc()))
    keys = list(session.scalars(keys_query.limit(size + 1).offset((number - 1) * size)))
    shown = keys[:size]
    by_key = ({row.key: row for row in session.scalars(
        select(Finding).where(Finding.key.in_(shown)))} if shown else {})
    return Page(rows=[by_key[key] for key in shown if key in by_key], number=number,
                size=size, has_next=len(keys) > size)


def finding(session: Session, key: str) -> Finding | None:
    return session.get(Finding, key)


def ratification(session: Session, key: str) -> Ratification | None:
    return session.get(Ratification, key)


def reviews(session: Session, *, workflow: str | None = None, status: str | None = None,
            number: int = 1, size: int = PAGE_SIZE) -> Page[RiskReview]:
    """Newest first by the time they opened (`ix_risk_reviews_opened_at`)."""
    query = select(RiskReview).order_by(RiskReview.opened_at.desc(), RiskReview.id.desc())
    if workflow is not None:
        query = query.where(RiskReview.workflow == workflow)
    if status is not None:
        query = query.where(RiskReview.status == status)
    return _page(session, query, number, size)


def active_review_counts(session: Session) -> dict[str, int]:
    """Workflow → risk reviews not closed (`ix_risk_reviews_status_due`)."""
    query = (select(RiskReview.workflow, func.count())
             .where(RiskReview.status.in_(ACTIVE_REVIEW_STATUSES))
             .group_by(RiskReview.workflow))
    return {str(workflow): int(count) for workflow, count in session.execute(query)}


def open_unauthorized_counts(session: Session, workflows: Sequence[str]) -> dict[str, int]:
    """Workflow → unauthorized changes still open (not ratified), all weeks
    (`ix_findings_workflow_type_status`: counted in the index, no table row read)."""
    counts: dict[str, int] = {}
    for workflow in workflows:
        counts[workflow] = int(session.scalar(
            select(func.count()).select_from(Finding).where(
                Finding.workflow == workflow, Finding.type == "unauthorized_change",
                Finding.status == "open")) or 0)
    return counts


def latest_scorecard(session: Session, workflow: str) -> Scorecard | None:
    """The newest week stored for `workflow` (the primary key `(workflow, week)` read backwards:
    ISO week names sort in time)."""
    query = (select(Scorecard).where(Scorecard.workflow == workflow)
             .order_by(Scorecard.week.desc()).limit(1))
    return session.scalars(query).first()


def scorecards(session: Session, workflow: str, weeks: Sequence[str]) -> list[Scorecard]:
    """The stored scorecards of `workflow` in `weeks`, oldest first."""
    query = (select(Scorecard)
             .where(Scorecard.workflow == workflow, Scorecard.week.in_(list(weeks)))
             .order_by(Scorecard.week))
    return list(session.scalars(query))


def decisions(session: Session, workflow: str, limit: int = 10) -> list[Decision]:
    """The workflow's last recorded decisions, newest first (`ix_decisions_workflow_week`)."""
    query = (select(Decision).where(Decision.workflow == workflow)
             .order_by(Decision.week.desc(), Decision.recorded_at.desc(), Decision.id.desc())
             .limit(limit))
    return list(session.scalars(query))


def digest_weeks(session: Session, before: str, number: int = 1,
                 size: int = PAGE_SIZE) -> Page[str]:
    """Weeks a digest can be shown for: weeks with a stored scorecard, before `before` (the
    current week, not finished), newest first. The primary key `(workflow, week)` holds them."""
    query = (select(Scorecard.week).where(Scorecard.week < before).distinct()
             .order_by(Scorecard.week.desc()))
    return _page(session, query, number, size)


def digest_sends(session: Session, weeks: Sequence[str]) -> dict[str, DigestSend]:
    query = select(DigestSend).where(DigestSend.week.in_(list(weeks)))
    return {row.week: row for row in session.scalars(query)}


def has_week(session: Session, week: str) -> bool:
    """Whether any workflow has a stored scorecard for `week` (the digest archive's weeks)."""
    query = select(Scorecard.week).where(Scorecard.week == week).limit(1)
    return session.scalar(query) is not None


def digest_fingerprint(session: Session, start: datetime, end: datetime,
                       finding_types: Sequence[str]) -> tuple[object, ...]:
    """A value that changes whenever what the digest of the week `[start, end)` reads changes:
    the evaluation's cursor (every evaluation moves it), the week's findings of
    `finding_types` and the open registry gaps counted by status (a ratification moves a
    count), the risk reviews' and decisions' latest changes, the dead alerts and the
    scorecards' last computation. Each is an aggregate over an index or a small table, so
    the web app keeps a built digest until one of them moves instead of re-reading
    thousands of findings per view."""
    cursor = session.execute(select(SyncCursor.cursor, SyncCursor.updated_at).where(
        SyncCursor.source == EVALUATION_CURSOR[0],
        SyncCursor.partition == EVALUATION_CURSOR[1])).first()
    week_findings = session.execute(
        select(Finding.status, func.count()).where(
            Finding.at >= start, Finding.at < end,
            _ordered(session, Finding.type).in_(list(finding_types)))
        .group_by(Finding.status).order_by(Finding.status)).all()
    gaps = session.scalar(select(func.count()).select_from(Finding).where(
        Finding.type == "registry_gap", Finding.status == "open"))
    reviews = session.execute(select(
        func.count(), func.max(RiskReview.opened_at), func.max(RiskReview.acknowledged_at),
        func.max(RiskReview.closed_at), func.count().filter(RiskReview.status == "closed"),
        func.max(RiskReview.due))).first()
    decisions = session.execute(select(func.count(), func.max(Decision.id))).first()
    dead = session.execute(select(func.count(), func.max(AlertOutbox.id)).where(
        AlertOutbox.status == "dead")).first()
    computed = session.scalar(select(func.max(Scorecard.computed_at)))
    return (tuple(cursor or ()), tuple(tuple(r) for r in week_findings), gaps,
            tuple(reviews or ()), tuple(decisions or ()), tuple(dead or ()), computed)


SQLITE_MMAP_BYTES = 2_000_000_000
"""SQLite's own ceiling for `mmap_size` (SQLITE_MAX_MMAP_SIZE, ~2 GB) in its default build."""


def prepare_reads(session: Session) -> None:
    """On SQLite, read this connection's database file through a memory map (`PRAGMA
    mmap_size`, per connection, kept while the pool keeps it). The pages read index entries
    and rows in index order, scattered over a file of gigabytes at scale (1.7 GB for the
    million-event database), far past SQLite's 2 MB page cache: mapped, each page is a memory
    access, not a read() call — half the time of a deep filtered findings page. A no-op on
    PostgreSQL, and it writes nothing."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}"))
