"""Writing what the rules decided (findings, scorecards, risk reviews) and reading it.

The evaluation writes everything in one transaction: a crash leaves the previous evaluation
intact. Findings are upserted by key; their `status` (a ratification) and `first_seen_at`
survive re-evaluation, which is what "ratified findings stay ratified" means in storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, or_, select
from sqlalchemy.orm import Session

from rules.authority import judge_for
from rules.facts import Finding as FindingFact
from rules.facts import ReviewState, Verdict, WeekScore
from rules.registry import LoadedRegistry, RegistryError, parse_registry
from storage.histories import Scope, load_histories, workflow_services
from storage.models import (
    Decision,
    Finding,
    Ratification,
    RegistrySnapshot,
    RiskReview,
    Scorecard,
    SyncCursor,
)
from storage.upsert import dialect_insert, execute_rows, insert_ignore, upsert

VERDICT_TYPES = ("authorized_change", "unauthorized_change")
# Columns a re-evaluation may change; status and first_seen_at are the finding's own history.
_FINDING_CONTENT = ("type", "workflow", "item", "at", "actor", "from_ids", "to_ids", "rule",
                    "reason", "details")
EVALUATION_CURSOR = ("evaluate", "all")
REJUDGED = "authorized_rejudged"
"""Set in the evaluation cursor's details when authorized changes are not stored as findings
but re-judged at read time from stored history and the registry snapshot it names."""


def verdict_row(verdict: Verdict, now: datetime) -> dict[str, Any]:
    return {
        "key": verdict.key,
        "type": "authorized_change" if verdict.authorized else "unauthorized_change",
        "workflow": verdict.workflow,
        "item": verdict.item,
        "at": verdict.at,
        "actor": verdict.actor,
        "from_ids": list(verdict.from_ids),
        "to_ids": list(verdict.to_ids),
        "rule": verdict.rule,
        "reason": verdict.reason,
        "status": "open" if not verdict.authorized else "resolved",
        "details": {"event": verdict.event_ref, "decision": verdict.decision,
                    "stage": verdict.stage, "source": verdict.source, "url": verdict.url,
                    "title": verdict.title},
        "first_seen_at": now,
        "updated_at": now,
    }


def finding_row(finding: FindingFact, now: datetime) -> dict[str, Any]:
    return {
        "key": finding.key,
        "type": finding.type,
        "workflow": finding.workflow,
        "item": finding.item,
        "at": finding.at,
        "actor": finding.actor,
        "from_ids": list(finding.from_ids),
        "to_ids": list(finding.to_ids),
        "rule": finding.rule,
        "reason": finding.reason,
        "status": "open",
        "details": dict(finding.details),
        "first_seen_at": now,
        "updated_at": now,
    }


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 900):
        found.update(session.scalars(select(Finding.key).where(
            Finding.key.in_(keys[start:start + 900]))))
    return found


def save_findings(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Upsert by key; a ratified finding keeps status `ratified`, a new one starts `open`.

    A row whose content is unchanged is left alone (`updated_at` included), so evaluating
    again writes nothing; a key repeated in `rows` ends as its last row. One compiled
    statement per column set, rows as batch parameters (see `storage.upsert`).
    """
    by_columns: dict[frozenset[str], dict[Any, Mapping[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(frozenset(row), {})[row["key"]] = row
    table = cast(Table, Finding.__table__)
    for columns, by_key in by_columns.items():
        stmt = dialect_insert(session, table)
        content = [c for c in _FINDING_CONTENT if c in columns]
        changed: ColumnElement[bool] | None = (
            or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in content))
            if content else None
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={c: stmt.excluded[c] for c in (*content, "updated_at") if c in columns},
            where=changed,
        )
        execute_rows(session, table, stmt, list(by_key.values()))


def stored_unauthorized(session: Session, items: Sequence[str] | None) -> dict[str, str]:
    """Key → item of the stored unauthorized-change findings (of `items`, or all)."""
    # One pass over the type index, filtered here: `item` has no index, so each `IN (…)` chunk
    # of a few thousand items would scan the same rows again (6 passes for 5,000 items).
    # The driver's own tuples (two plain strings a row): no SQLAlchemy row per finding.
    query = select(Finding.key, Finding.item).where(Finding.type == "unauthorized_change")
    result = session.connection().execute(query)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    if items is None:
        return {key: str(item) for key, item in rows}
    wanted = set(items)
    return {key: str(item) for key, item in rows if item in wanted}


def stored_verdicts(session: Session, since: datetime, *, exclude: set[str]) -> list[Verdict]:
    """The stored unauthorized changes at or after `since`, as the verdicts they were written
    from (`verdict_row` keeps every field), except those of the items in `exclude`."""
    query = select(
        Finding.key, Finding.workflow, Finding.item, Finding.at, Finding.actor, Finding.from_ids,
        Finding.to_ids, Finding.reason, Finding.details,
    ).where(Finding.type == "unauthorized_change", Finding.at >= since)
    verdicts = []
    for key, workflow, item, at, actor, old, new, reason, details in session.execute(query):
        if item in exclude:
            continue
        details = details or {}
        verdicts.append(Verdict(
            key, str(details.get("event", "")), str(workflow), str(item),
            str(details.get("source", "")), at, str(actor), tuple(old), tuple(new),
            str(details.get("decision", "")), str(details.get("stage", "")), False, None, reason,
            details.get("url"), details.get("title"),
        ))
    return verdicts


def delete_findings(session: Session, keys: Sequence[str]) -> None:
    """Drop findings by key: a change re-judged as authorized loses its unauthorized row."""
    for start in range(0, len(keys), 900):
        session.execute(delete(Finding).where(Finding.key.in_(keys[start:start + 900])))


def drop_stored_authorized(session: Session) -> None:
    """Authorized changes are re-judged when listed, no longer stored: drop rows an earlier
    version wrote (none after the first evaluation, found through the type index)."""
    session.execute(delete(Finding).where(Finding.type == "authorized_change"))


def remember_registry(session: Session, loaded: LoadedRegistry, now: datetime) -> None:
    """Keep the registry text the evaluation used, so `findings --all` can re-judge with it."""
    insert_ignore(session, RegistrySnapshot, [{
        "content_hash": loaded.content_hash, "organization": loaded.registry.organization,
        "source": loaded.source, "content": loaded.text, "loaded_at": now,
    }], conflict=["content_hash"])


def ratified_keys(session: Session) -> set[str]:
    return set(session.scalars(select(Finding.key).where(Finding.status == "ratified")))


def save_scorecards(session: Session, scores: Sequence[WeekScore], now: datetime) -> None:
    rows = []
    for score in scores:
        row = asdict(score)
        row.pop("has_data")
        row["breaches"] = list(score.breaches)
        row["computed_at"] = now
        rows.append(row)
    upsert(session, Scorecard, rows)


def stored_scores(session: Session, before: str) -> list[WeekScore]:
    """The stored scorecards of the weeks before `before` (ISO week names sort in time)."""
    query = select(Scorecard).where(Scorecard.week < before).order_by(Scorecard.workflow,
                                                                     Scorecard.week)
    return [week_score(r) for r in session.scalars(query)]


_STORED_FIELDS = tuple(f.name for f in fields(WeekScore) if f.name in Scorecard.__table__.c)
"""The `WeekScore` fields a `scorecards` row stores, each in the column of its name."""


def week_score(row: Scorecard) -> WeekScore:
    """A stored scorecard as the rules read it: the inverse of `save_scorecards`.

    Every field is copied from the column of the same name, so a metric added to `WeekScore`
    and to `Scorecard` (with its migration) needs no line here. A row of a week without data
    is recognised by its null exception rate: the scorecard rule gives every measured week
    one (0.0 included) and a week without any event none, so such a row is "no data", never
    measured zeros.
    """
    stored: dict[str, Any] = {name: getattr(row, name) for name in _STORED_FIELDS}
    stored.update(breaches=tuple(row.breaches), recommendation_rule=row.recommendation_rule or "",
                  has_data=row.exception_rate is not None)
    return WeekScore(**stored)


def review_states(session: Session, workflow: str | None = None) -> list[ReviewState]:
    query = select(RiskReview).order_by(RiskReview.workflow, RiskReview.week)
    if workflow is not None:
        query = query.where(RiskReview.workflow == workflow)
    return [
        ReviewState(id=r.id, workflow=r.workflow, week=r.week, owner=r.owner, status=r.status,
                    opened_at=r.opened_at, due=r.due, breaches=tuple(r.breaches),
                    acknowledged_at=r.acknowledged_at)
        for r in session.scalars(query)
    ]


def open_reviews(session: Session, reviews: Sequence[ReviewState]) -> list[str]:
    """Insert new risk reviews (one per workflow and week); return the ids really inserted."""
    rows = [
        {"id": r.id, "workflow": r.workflow, "week": r.week, "owner": r.owner,
         "status": r.status, "opened_at": r.opened_at, "due": r.due,
         "breaches": list(r.breaches)}
        for r in reviews
    ]
    if not rows:
        return []
    ids: list[str] = [str(row["id"]) for row in rows]
    before = set(session.scalars(select(RiskReview.id).where(RiskReview.id.in_(ids))))
    insert_ignore(session, RiskReview, rows, conflict=["workflow", "week"])
    return [review_id for review_id in ids if review_id not in before]


# --- governance -----------------------------------------------------------------------------


def get_finding(session: Session, key: str) -> Finding | None:
    return session.get(Finding, key)


def ratify(
    session: Session, finding: Finding, by: str, note: str, now: datetime,
    origin: Mapping[str, str | None] | None = None,
) -> None:
    """Mark the finding ratified and record by whom: the `--by` person, and in `origin` the
    process that recorded it (`os_user`, `host`, `flow_run_id`)."""
    finding.status = "ratified"
    finding.updated_at = now
    upsert(session, Ratification, [{"finding_key": finding.key, "by": by, "note": note,
                                     "at": now, **_origin_columns(origin)}])


def get_review(session: Session, review_id: str) -> RiskReview | None:
    return session.get(RiskReview, review_id)


def record_decision(
    session: Session, workflow: str, week: str, decision: str, by: str, note: str | None,
    now: datetime, origin: Mapping[str, str | None] | None = None,
) -> None:
    """Append a decision: the `--by` person, and in `origin` the process that recorded it."""
    session.add(Decision(workflow=workflow, week=week, decision=decision, by=by, note=note,
                         recorded_at=now, **_origin_columns(origin)))


_ORIGIN_COLUMNS = ("os_user", "host", "flow_run_id")


def _origin_columns(origin: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """The origin's three columns, each None when not given (storage knows no `Origin` type:
    it must not import the shell)."""
    origin = origin or {}
    return {column: origin.get(column) for column in _ORIGIN_COLUMNS}


def decisions(session: Session, workflow: str | None = None) -> list[Decision]:
    query = select(Decision).order_by(Decision.recorded_at)
    if workflow is not None:
        query = query.where(Decision.workflow == workflow)
    return list(session.scalars(query))


def list_findings(
    session: Session,
    *,
    workflow: str | None = None,
    since: datetime | None = None,
    include_authorized: bool = False,
) -> list[Finding]:
    """Stored findings by time; with `include_authorized`, the authorized changes too.

    Authorized changes are re-judged from stored history with the registry of the last
    evaluation (`authorized_changes`), unless the database was last evaluated by a version
    that still stored them as rows.
    """
    query = select(Finding).order_by(Finding.at, Finding.key)
    if not include_authorized:
        query = query.where(Finding.type != "authorized_change")
    if workflow is not None:
        query = query.where(Finding.workflow == workflow)
    if since is not None:
        query = query.where(Finding.at >= since)
    rows = list(session.scalars(query))
    if include_authorized:
        rows += authorized_changes(session, workflow=workflow, since=since)
        rows.sort(key=lambda r: (r.at, r.key))
    return rows


def authorized_changes(
    session: Session, *, workflow: str | None = None, since: datetime | None = None
) -> list[Finding]:
    """The authorized changes as (unsaved) `Finding` rows, re-judged as the last evaluation
    judged them: same registry (its stored snapshot), same history, same keys.

    Rules are pure, so re-judging gives what storing every verdict would have given,
    without the evaluation writing a row per authorized change (a million at scale).
    """
    row = session.execute(select(SyncCursor.cursor, SyncCursor.details).where(
        SyncCursor.source == EVALUATION_CURSOR[0],
        SyncCursor.partition == EVALUATION_CURSOR[1])).first()
    details = dict(row[1] or {}) if row is not None else {}
    if row is None or not details.get(REJUDGED):
        return []
    text = session.scalar(select(RegistrySnapshot.content).where(
        RegistrySnapshot.content_hash == details.get("registry")))
    try:
        registry = parse_registry(text or "").registry
    except RegistryError:
        return []  # the registry that was used is unknown: nothing to re-judge with
    scope = Scope(active_since=since, jira_browse_base=details.get("jira_browse_base"))
    judge = judge_for(registry)
    # An issue claimed by two workflows is judged twice under one key: the last one stands,
    # as it did when verdicts were upserted by key.
    found: dict[str, Verdict] = {}
    for history in load_histories(session, workflow_services(registry), scope):
        for verdict in judge.authorized_items([history]):
            if since is None or verdict.at >= since:
                found[verdict.key] = verdict
    return [Finding(**verdict_row(verdict, row[0])) for verdict in found.values()
            if workflow is None or verdict.workflow == workflow]


def list_scorecards(session: Session, week: str | None = None) -> list[Scorecard]:
    query = select(Scorecard).order_by(Scorecard.workflow, Scorecard.week)
    if week is not None:
        query = query.where(Scorecard.week == week)
    return list(session.scalars(query))


def workflow_scores(session: Session, workflow: str, weeks: Sequence[str]) -> list[WeekScore]:
    """The stored scorecards of `workflow` in `weeks`, oldest first (the baseline's input)."""
    query = (select(Scorecard).where(Scorecard.workflow == workflow, Scorecard.week.in_(weeks))
             .order_by(Scorecard.week))
    return [week_score(r) for r in session.scalars(query)]


def list_reviews(
    session: Session, workflow: str | None = None, status: str | None = None
) -> list[RiskReview]:
    query = select(RiskReview).order_by(RiskReview.opened_at, RiskReview.id)
    if workflow is not None:
        query = query.where(RiskReview.workflow == workflow)
    if status is not None:
        query = query.where(RiskReview.status == status)
    return list(session.scalars(query))


def due_date(value: date) -> str:
    return value.isoformat()
