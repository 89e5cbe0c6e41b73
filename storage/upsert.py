"""Idempotent writes: INSERT … ON CONFLICT on SQLite and PostgreSQL.

Syncs overlap on purpose (a closed lower bound, retries, several workers), so every
write of source data must be safe to repeat: the same batch twice leaves the same
rows, and an overlapping batch updates what exists and inserts what does not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

# Bound parameters per statement. SQLite before 3.32 allowed 999 (newer builds 32766),
# PostgreSQL's wire protocol 65535; stay under both with margin.
MAX_PARAMS = {"sqlite": 999, "postgresql": 30_000}

Row = Mapping[str, Any]


def upsert(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Row],
    *,
    conflict: Sequence[str] | None = None,
    update: Sequence[str] | None = None,
    skip_unchanged: bool = False,
) -> None:
    """Insert rows, updating the existing ones that clash on ``conflict``.

    Args:
        session: the session whose transaction the write joins.
        model: the mapped class; row keys are its column names.
        rows: the rows. Rows may carry different key sets; rows repeating a conflict
            key within the batch collapse to the last one (PostgreSQL refuses to update
            a row twice in one statement).
        conflict: the columns of the primary key or a unique constraint (default: the
            primary key).
        update: the columns overwritten on conflict (default: every column present in
            the row except the conflict and primary-key columns, so a column a row does
            not carry, such as ``first_seen_at``, keeps its stored value).
        skip_unchanged: update only rows whose ``update`` columns differ, so an
            unchanged row is not rewritten (no dead tuple on PostgreSQL, no WAL traffic).
    """
    table = _table(model)
    conflict = _conflict_columns(table, conflict)
    for chunk in _chunks(session, table, _dedupe(rows, conflict, keep="last")):
        columns = set(chunk[0])
        targets = (
            [c for c in update if c in columns]
            if update is not None
            else [c for c in chunk[0] if c not in conflict and not table.c[c].primary_key]
        )
        stmt = _insert(session, table).values(list(chunk))
        if not targets:
            session.execute(stmt.on_conflict_do_nothing(index_elements=conflict))
            continue
        excluded = stmt.excluded
        where: ColumnElement[bool] | None = None
        if skip_unchanged:
            where = or_(*(table.c[c].is_distinct_from(excluded[c]) for c in targets))
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=conflict,
                set_={c: excluded[c] for c in targets},
                where=where,
            )
        )


def insert_ignore(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Row],
    conflict: Sequence[str] | None = None,
) -> int:
    """Insert rows, silently skipping those that clash on ``conflict``; return how many went in.

    For append-only rows whose first version wins: outbox entries (at most one per
    dedup key, whatever the dispatcher did to it since), ownership events.
    """
    table = _table(model)
    conflict = _conflict_columns(table, conflict)
    inserted = 0
    for chunk in _chunks(session, table, _dedupe(rows, conflict, keep="first")):
        stmt = _insert(session, table).values(list(chunk))
        stmt = stmt.on_conflict_do_nothing(index_elements=conflict)
        # Counted from RETURNING: rowcount is unreliable when the driver or SQLAlchemy
        # already uses RETURNING to fetch generated keys.
        inserted += len(session.execute(stmt.returning(*table.primary_key.columns)).all())
    return inserted


def _table(model: type[DeclarativeBase]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _conflict_columns(table: Table, conflict: Sequence[str] | None) -> list[str]:
    columns = [c.name for c in table.primary_key.columns] if conflict is None else list(conflict)
    unknown = [c for c in columns if c not in table.c]
    if unknown or not columns:
        raise ValueError(f"bad conflict columns for {table.name}: {columns}")
    return columns


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upsert is not supported on {dialect}")


def _dedupe(rows: Sequence[Row], conflict: Sequence[str], *, keep: str) -> list[Row]:
    by_key: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        missing = [c for c in conflict if c not in row]
        if missing:
            raise ValueError(f"row lacks conflict columns {missing}: {dict(row)!r:.200}")
        key = tuple(row[c] for c in conflict)
        if keep == "last" or key not in by_key:
            by_key[key] = row
    return list(by_key.values())


def _chunks(session: Session, table: Table, rows: Sequence[Row]) -> Iterator[list[Row]]:
    """Rows grouped by key set (one VALUES list needs the same columns in every row), in
    chunks small enough for the dialect's bound-parameter limit."""
    unknown = {key for row in rows for key in row} - set(table.c.keys())
    if unknown:
        raise ValueError(f"unknown columns for {table.name}: {sorted(unknown)}")
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    limit = MAX_PARAMS.get(session.get_bind().dialect.name, 999)
    for keys, group in groups.items():
        # Python-side column defaults are bound per row as well: count every column.
        size = max(1, limit // max(len(table.c), len(keys)))
        for start in range(0, len(group), size):
            yield group[start : start + size]
