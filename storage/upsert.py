"""Idempotent writes: INSERT … ON CONFLICT on SQLite and PostgreSQL.

Syncs overlap on purpose (a closed lower bound, retries, several workers), so every
write of source data must be safe to repeat: the same batch twice leaves the same
rows, and an overlapping batch updates what exists and inserts what does not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Column, ColumnElement, Dialect, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from storage.types import sqlite_column_values

# Rows per executemany call: large enough that the driver's loop dominates, small enough that a
# batch's parameters stay small in memory (a measured sync at 100k issues peaked higher with
# whole groups at once).
BATCH_ROWS = 1_000

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

    One ``INSERT … ON CONFLICT`` statement per key set, compiled once (SQLAlchemy caches it)
    and executed over the rows as executemany parameters, ``BATCH_ROWS`` at a time: a
    multi-row ``VALUES`` list would be a new statement, compiled again, for every chunk.

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
    rows = _dedupe(rows, conflict, keep="last")
    if session.get_bind().dialect.name == "postgresql":
        # Rows locked in one order by every writer: two processes upserting overlapping rows
        # in different orders deadlock (seen: two `accountability run` at once, pd_incidents).
        rows = sorted(rows, key=lambda row: tuple(str(row[c]) for c in conflict))
    for keys, group in _groups(table, rows):
        targets = (
            [c for c in update if c in keys]
            if update is not None
            else [c for c in keys if c not in conflict and not table.c[c].primary_key]
        )
        stmt = dialect_insert(session, table)
        if not targets:
            stmt = stmt.on_conflict_do_nothing()  # every unique index an arbiter: see below
        else:
            excluded = stmt.excluded
            where: ColumnElement[bool] | None = None
            if skip_unchanged:
                where = or_(*(table.c[c].is_distinct_from(excluded[c]) for c in targets))
            stmt = stmt.on_conflict_do_update(
                index_elements=conflict, set_={c: excluded[c] for c in targets}, where=where
            )
        shape = ("upsert", tuple(conflict), tuple(targets), skip_unchanged)
        execute_rows(session, table, stmt, group, shape=shape)


def insert_ignore(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Row],
    conflict: Sequence[str] | None = None,
) -> int:
    """Insert rows, silently skipping those that clash on ``conflict``; return how many went in.

    For append-only rows whose first version wins: outbox entries (at most one per
    dedup key, whatever the dispatcher did to it since), ownership events. Executed like
    `upsert`: one compiled statement per key set, rows as batch parameters.

    `conflict` only dedupes the batch: the statement is `ON CONFLICT DO NOTHING` without a
    target, so every unique index is an arbiter. With a target, PostgreSQL checks the other
    unique indexes (a risk review's primary key beside its workflow and week) the ordinary
    way, and a concurrent process inserting the same row between the check and the insert
    makes it fail with a unique violation instead of skipping the row.
    """
    table = _table(model)
    conflict = _conflict_columns(table, conflict)
    inserted = 0
    for _, group in _groups(table, _dedupe(rows, conflict, keep="first")):
        stmt = dialect_insert(session, table).on_conflict_do_nothing()
        inserted += execute_rows(session, table, stmt, group, count=True, shape=("ignore",))
    return inserted


def execute_rows(
    session: Session,
    table: Table,
    stmt: Any,
    rows: list[Row],
    *,
    count: bool = False,
    shape: tuple[Hashable, ...] | None = None,
) -> int:
    """Run the INSERT `stmt` over `rows` (one key set), `BATCH_ROWS` at a time; with `count`,
    return how many rows it inserted or updated. `shape`, when given, says everything about
    `stmt` but its table and columns: on SQLite its compiled SQL is then kept for the next
    batch of the same shape.

    PostgreSQL: through the session, counted from RETURNING (rowcount is unreliable when
    SQLAlchemy batches the rows itself). SQLite: see `_sqlite_rows`.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    if dialect.name == "sqlite" and _python_defaults_only(table):
        return _sqlite_rows(session, table, stmt, rows, shape)
    total = 0
    if count:
        stmt = stmt.returning(*table.primary_key.columns)
    for batch in _batches(rows):
        result = session.execute(stmt, batch)
        if count:
            total += len(result.all())
    return total


def _sqlite_rows(
    session: Session, table: Table, stmt: Any, rows: list[Row], shape: tuple[Hashable, ...] | None
) -> int:
    """SQLite: the statement compiled once, each row turned into the driver's tuple by the
    columns' own bind processors, and the batch handed to `sqlite3`'s executemany.

    Same SQL and stored values as `session.execute(stmt, rows)`, without SQLAlchemy's
    per-row parameter handling, which costs several times the insert itself (an evaluation
    writes hundreds of thousands of rows). Python-side column defaults are applied as
    SQLAlchemy would. Counted from `rowcount`, which sqlite3 sums over executemany (rows
    skipped by ON CONFLICT DO NOTHING, or by an update's WHERE, count zero). Compiling the
    statement cost a sync as much as binding a batch's rows, so a statement of a known `shape`
    is compiled once per process.
    """
    dialect = session.get_bind().dialect
    key = None if shape is None else (table.name, shape, tuple(rows[0]), dialect.paramstyle)
    known = None if key is None else _COMPILED.get(key)
    if known is None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(rows[0]))
        known = (str(compiled), tuple(compiled.positiontup or ()))
        if key is not None and len(_COMPILED) < _COMPILED_MAX:
            _COMPILED[key] = known
    sql, names = known
    session.flush()  # what session.execute would have done first (autoflush)
    connection = session.connection()
    total = 0
    given = all(name in rows[0] for name in names)
    for batch in _batches(rows):
        if given:
            params = _driver_tuples(table, names, batch, dialect)
        else:
            # Per batch: a callable default is evaluated once for the batch's rows.
            values = [_column_value(table, name, name in rows[0], dialect) for name in names]
            params = [tuple([value(row) for value in values]) for row in batch]
        total += connection.exec_driver_sql(sql, params).rowcount
    return total


def _driver_tuples(
    table: Table, names: tuple[str, ...], batch: list[Row], dialect: Dialect
) -> list[tuple[Any, ...]]:
    """The batch's rows as driver tuples when every row carries every column: the values taken
    by one C `itemgetter` per row, and only the columns whose type converts (timestamps, JSON)
    passed through their processor, a column at a time. Calling a Python function per value
    was most of the cost of writing a row (a Jira history item has 14 columns, 3 converted);
    timestamps and raw JSON, the columns a sync writes by the ten thousand, are converted a
    whole column at once where they can be (`storage.types.sqlite_column_values`)."""
    take = itemgetter(*names)
    rows = [take(row) for row in batch] if len(names) > 1 else [(take(row),) for row in batch]
    converted = [(index, processor) for index, name in enumerate(names)
                 if (processor := _bind_processor(table, name, dialect)) is not None]
    if not converted:
        return rows
    columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
    for index, processor in converted:
        values = cast(tuple[Any, ...], columns[index])
        at_once = sqlite_column_values(table.c[names[index]].type, dialect, values)
        columns[index] = map(_once_per_object(processor), values) if at_once is None else at_once
    return list(zip(*columns, strict=True))


def _bind_processor(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    column = table.c[name]
    processor: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(
        dialect
    )
    return processor


def _once_per_object(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`processor`, remembering its last answer: rows of one batch share timestamps (`now`, a
    history's `created`), converted once for a run of rows."""
    last_in, last_out = _UNSET, None

    def convert(raw: Any) -> Any:
        nonlocal last_in, last_out
        if raw is not last_in:
            last_in, last_out = raw, processor(raw)
        return last_out

    return convert


_UNSET: Any = object()
# (table, shape, columns, paramstyle) -> (SQL, parameter order). A few dozen shapes exist; the
# bound only guards against a caller that would make a new shape per call.
_COMPILED: dict[tuple[Hashable, ...], tuple[str, tuple[str, ...]]] = {}
_COMPILED_MAX = 512


def _column_value(
    table: Table, name: str, given: bool, dialect: Dialect
) -> Callable[[Row], Any]:
    """Row → the driver value of column `name`: the row's value, or the column's Python-side
    default (evaluated now, once) when the row lacks it, through the column type's bind
    processor."""
    column = table.c[name]
    processor = _bind_processor(table, name, dialect)
    if given:
        read: Callable[[Row], Any] = itemgetter(name)
    else:
        read = _default(column)
    if processor is None:
        return read
    convert = _once_per_object(processor)
    return lambda row: convert(read(row))


def _default(column: Column[Any]) -> Callable[[Row], Any]:
    default = column.default
    if default is None:
        return lambda row: None
    if isinstance(default, ScalarElementColumnDefault):
        constant = default.arg
        return lambda row: constant
    # CallableColumnDefault (`_python_defaults_only` admits nothing else): SQLAlchemy's wrapper
    # takes the execution context, which our defaults ignore.
    made = cast(Callable[[Any], Any], cast(CallableColumnDefault, default).arg)(None)
    return lambda row: made


def _python_defaults_only(table: Table) -> bool:
    """Whether every column default is a constant or a Python callable, which `_sqlite_rows`
    can apply itself; a SQL-expression default (e.g. `func.now()`) goes the generic way."""
    return all(
        column.default is None
        or isinstance(column.default, ScalarElementColumnDefault | CallableColumnDefault)
        for column in table.c
    )


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


def dialect_insert(session: Session, table: Table) -> Any:
    """`INSERT` with the dialect's `ON CONFLICT` clauses (SQLite and PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upsert is not supported on {dialect}")


def _dedupe(rows: Sequence[Row], conflict: Sequence[str], *, keep: str) -> list[Row]:
    key_of = itemgetter(*conflict)  # a tuple for several columns, the value for one
    try:
        # In C: each key at its first row's place, holding its last row.
        by_key: dict[Any, Row] = dict(zip(map(key_of, rows), rows, strict=True))
        if keep == "first" and len(by_key) < len(rows):  # a key repeats: its first row wins
            by_key = {}
            for row in rows:
                by_key.setdefault(key_of(row), row)
    except KeyError:
        row = next(row for row in rows if any(c not in row for c in conflict))
        missing = [c for c in conflict if c not in row]
        raise ValueError(f"row lacks conflict columns {missing}: {dict(row)!r:.200}") from None
    return list(by_key.values())


def _groups(table: Table, rows: Sequence[Row]) -> Iterator[tuple[tuple[str, ...], list[Row]]]:
    """Rows grouped by key set (one statement binds the same columns for every row), each
    group in the order its rows came."""
    if not rows:
        return
    first = rows[0].keys()
    if all(row.keys() == first for row in rows):  # one shape, the usual case: a check in C
        unknown = set(first) - set(table.c.keys())
        if unknown:
            raise ValueError(f"unknown columns for {table.name}: {sorted(unknown)}")
        yield tuple(rows[0]), list(rows)
        return
    unknown = {key for row in rows for key in row} - set(table.c.keys())
    if unknown:
        raise ValueError(f"unknown columns for {table.name}: {sorted(unknown)}")
    groups: dict[frozenset[str], tuple[tuple[str, ...], list[Row]]] = {}
    for row in rows:
        keys = frozenset(row)
        group = groups.get(keys)
        if group is None:
            group = groups[keys] = (tuple(row), [])
        group[1].append(row)
    yield from groups.values()


def _batches(rows: list[Row]) -> Iterator[list[Row]]:
    for start in range(0, len(rows), BATCH_ROWS):
        yield rows[start : start + BATCH_ROWS]
