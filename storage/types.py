"""Column types shared by every model: UTC-aware datetimes and portable JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter, itemgetter, methodcaller
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from storage import jsoncodec

_ISO_TEXT = methodcaller("isoformat", " ", "microseconds")
_WITHOUT_OFFSET = itemgetter(slice(None, -len("+00:00")))
_TZINFO = attrgetter("tzinfo")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores it as ``timestamptz``. SQLite has no timestamp type: the value
    is converted to UTC and stored without an offset, so stored strings sort in time
    order, and it comes back with ``tzinfo=UTC``. Naive datetimes are refused rather
    than guessed at: a naive value is almost always local time read by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: pass an aware UTC value")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the stored text straight from the value: the same string SQLAlchemy's
        SQLite `DATETIME` writes (`YYYY-MM-DD HH:MM:SS.ffffff`), made by `isoformat` in C
        instead of two Python processors, which were a twelfth of a sync's CPU."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        check = self.process_bind_param

        def process(value: datetime | None) -> str | None:
            if type(value) is datetime and value.tzinfo is UTC:  # what the rules produce
                return value.replace(tzinfo=None).isoformat(" ", "microseconds")
            utc = check(value, dialect)
            return None if utc is None else utc.isoformat(" ", "microseconds")

        return process

    @staticmethod
    def sqlite_texts(values: Sequence[Any]) -> list[str] | None:
        """`bind_processor`'s SQLite text for a whole column of aware UTC datetimes (what the
        rules produce), made in C: `isoformat` with the `+00:00` cut off, once per distinct
        value. None when a value is anything else; the caller then converts value by value,
        with every check."""
        if set(map(type, values)) != {datetime} or set(map(_TZINFO, values)) != {UTC}:
            return None
        distinct = set(values)  # a batch's rows share timestamps: its `now`, a history's time
        texts = dict(zip(distinct, map(_WITHOUT_OFFSET, map(_ISO_TEXT, distinct)), strict=True))
        return list(map(texts.__getitem__, values))

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON everywhere, JSONB on PostgreSQL (indexable, comparable with ``IS DISTINCT FROM``).

    Python ``None`` is stored as SQL NULL, not as the JSON literal ``null``.
    """
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def sqlite_column_values(
    column_type: TypeEngine[Any], dialect: Dialect, values: Sequence[Any]
) -> list[Any] | None:
    """A whole column's driver values on SQLite in one pass, for the two types a sync writes
    by the ten thousand (timestamps and raw JSON), or None: the caller converts value by value
    through the type's bind processor. Same values as that processor gives."""
    if dialect.name != "sqlite":
        return None
    impl = column_type.dialect_impl(dialect)
    if isinstance(impl, UTCDateTime):
        return UTCDateTime.sqlite_texts(values)
    if (
        isinstance(impl, JSON)
        and getattr(dialect, "_json_serializer", None) is jsoncodec.dumps
        and String().bind_processor(dialect) is None  # JSON text goes to the driver as is
    ):
        return jsoncodec.dumps_all(values)
    return None
