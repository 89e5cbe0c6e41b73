"""Column types and constraints behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from storage import jsoncodec
from storage.models import (
    Decision,
    Finding,
    JiraChangelogItem,
    JiraIssue,
    Quarantine,
    RiskReview,
)
from storage.types import UTCDateTime, sqlite_column_values

BERLIN_WINTER = timezone(timedelta(hours=1))
KOLKATA = timezone(timedelta(hours=5, minutes=30))


SEEN = datetime(2026, 11, 30, 7, 0, tzinfo=KOLKATA)


def _finding(key: str, at: datetime, **extra: object) -> Finding:
    return Finding(
        key=key, type="unauthorized_change", workflow="support", at=at, reason="test",
        first_seen_at=SEEN, updated_at=SEEN, **extra
    )


def test_aware_datetimes_come_back_as_utc(session: Session) -> None:
    at = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=KOLKATA)
    session.add(_finding("k1", at))
    session.commit()
    session.expunge_all()

    stored = session.get_one(Finding, "k1")
    assert stored.at == at
    assert stored.at.tzinfo is UTC
    assert stored.at == datetime(2026, 11, 2, 4, 0, 15, 123456, tzinfo=UTC)
    assert stored.first_seen_at == SEEN and stored.first_seen_at.tzinfo is UTC  # every column


def test_datetime_filters_and_order_use_the_instant(session: Session) -> None:
    # 10:00 in Berlin is before 10:00 UTC, though its wall clock is the same.
    session.add(_finding("late", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)))
    session.add(_finding("early", datetime(2026, 11, 2, 10, 0, tzinfo=BERLIN_WINTER)))
    session.commit()

    ordered = session.scalars(select(Finding.key).order_by(Finding.at)).all()
    assert ordered == ["early", "late"]
    cutoff = datetime(2026, 11, 2, 10, 30, tzinfo=BERLIN_WINTER)  # 09:30 UTC
    assert session.scalars(select(Finding.key).where(Finding.at < cutoff)).all() == ["early"]


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(_finding("naive", datetime(2026, 11, 2, 10, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_json_round_trips(session: Session) -> None:
    details = {
        "reasons": ["approver: no", "délégation: non ✓"],
        "n": 3,
        "ok": True,
        "nested": {"x": None, "y": [1.5, {"z": "w"}]},
    }
    session.add(
        _finding(
            "j", datetime(2026, 11, 2, tzinfo=UTC), details=details, from_ids=["maria"], to_ids=[]
        )
    )
    session.add(Quarantine(source="jira", ref="SUP-1", reason="bad", raw="not json {", at=SEEN))
    session.add(Quarantine(source="jira", ref="SUP-2", reason="bad", raw=None, at=SEEN))
    session.commit()
    session.expunge_all()

    stored = session.get_one(Finding, "j")
    assert stored.details == details
    assert stored.from_ids == ["maria"]
    assert stored.to_ids == []
    raws = session.scalars(select(Quarantine.raw).order_by(Quarantine.ref)).all()
    assert raws == ["not json {", None]
    # None is SQL NULL, not the JSON literal null
    assert session.scalar(select(Quarantine.ref).where(Quarantine.raw.is_(None))) == "SUP-2"


def test_dates_round_trip(session: Session) -> None:
    session.add(
        RiskReview(
            id="support-2026-W48",
            workflow="support",
            week="2026-W48",
            owner="lee",
            opened_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
            due=date(2026, 11, 26),
        )
    )
    session.commit()
    session.expunge_all()
    review = session.get_one(RiskReview, "support-2026-W48")
    assert review.due == date(2026, 11, 26)
    assert review.status == "open"
    assert review.breaches == []


def test_decision_must_be_one_of_the_four(session: Session) -> None:
    session.add(Decision(workflow="support", week="2026-W48", decision="stabilize", by="dana",
                         recorded_at=SEEN))
    session.commit()
    session.add(Decision(workflow="support", week="2026-W48", decision="escalate", by="dana",
                         recorded_at=SEEN))
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(
        JiraChangelogItem(
            history_id="1",
            item_index=0,
            issue_id="404",
            issue_key="SUP-404",
            created=datetime(2026, 1, 1, tzinfo=UTC),
            field="assignee",
            raw={},
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


@settings(max_examples=300, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, KOLKATA, BERLIN_WINTER, timezone(timedelta(hours=-7))]),
    )
)
def test_sqlite_stores_the_text_sqlalchemys_datetime_would(at: datetime) -> None:
    # storage.types writes SQLite's text itself (speed); what it writes must stay what
    # SQLAlchemy's own SQLite DATETIME writes, or stored rows would stop sorting and comparing
    # with rows written before.
    dialect = sqlite_dialect.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = sqlite_dialect.DATETIME().bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(at) == theirs(at.astimezone(UTC).replace(tzinfo=None))


def test_sqlite_bind_still_refuses_naive_and_non_datetime_values() -> None:
    dialect = sqlite_dialect.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert process(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        process(datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="expected a datetime"):
        process("2026-01-01T00:00:00Z")


def test_raw_json_keeps_what_the_fast_codec_refuses(session: Session) -> None:
    # Raw records go through orjson (storage.jsoncodec); an integer beyond 64 bits, which
    # orjson refuses, and non-ASCII text must come back as they went in.
    raw = {"id": 2**70 + 1, "name": "Zoë 東京", "nested": [{"n": -(2**65) - 3}, None, 1.5, True]}
    at = datetime(2026, 1, 1, tzinfo=UTC)
    session.add(
        JiraIssue(id="1", key="SUP-1", project="SUP", created=at, updated=at, raw=raw,
                  synced_at=at)
    )
    session.flush()
    session.add(
        JiraChangelogItem(
            history_id="9", item_index=0, issue_id="1", issue_key="SUP-1", created=at,
            field="assignee", raw={"plain": "ascii", "n": 1},
        )
    )
    session.commit()
    session.expunge_all()
    assert session.scalars(select(JiraIssue.raw)).one() == raw
    assert session.scalars(select(JiraChangelogItem.raw)).one() == {"plain": "ascii", "n": 1}


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
            timezones=st.sampled_from([UTC, KOLKATA]),
        ).map(lambda at: at.astimezone(UTC)),
        min_size=1, max_size=20,
    )
)
def test_a_column_of_utc_times_at_once_is_what_the_processor_writes(
    values: list[datetime],
) -> None:
    # The sync converts whole columns at once (storage.upsert); each value must be the text
    # the per-value processor writes, repeated values included.
    dialect = sqlite_dialect.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    column = values + values[:3]
    assert sqlite_column_values(UTCDateTime(), dialect, column) == [process(v) for v in column]


@pytest.mark.parametrize(
    "odd",
    [None, datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=KOLKATA), "2026-01-01T00:00:00Z"],
    ids=["null", "naive", "other-zone", "text"],
)
def test_a_column_with_anything_but_utc_times_is_left_to_the_processor(odd: object) -> None:
    # The processor's checks (naive refused, other zones converted, None as NULL) still apply:
    # the column-at-once path declines, and the caller converts value by value.
    dialect = sqlite_dialect.dialect()
    column = [datetime(2026, 1, 1, tzinfo=UTC), odd]
    assert sqlite_column_values(UTCDateTime(), dialect, column) is None


def test_a_column_of_raw_json_at_once_is_what_the_processor_writes() -> None:
    dialect = sqlite_dialect.dialect(json_serializer=jsoncodec.dumps)
    json_column = JiraIssue.__table__.c.raw.type
    process = json_column.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    column = [{"id": "1", "name": "Zoë"}, [1, 2.5, None, {"k": True}], {}, {"n": {"1": []}}]
    assert sqlite_column_values(json_column, dialect, column) == [process(v) for v in column]
    # None is SQL NULL (none_as_null), an integer beyond 64 bits needs the slow codec: both
    # are left to the processor, value by value.
    assert sqlite_column_values(json_column, dialect, [{"a": 1}, None]) is None
    assert sqlite_column_values(json_column, dialect, [{"a": 2**70}]) is None
    assert jsoncodec.dumps_all([{"a": 2**70}]) is None
    # Another serializer than ours, or PostgreSQL: the processor's business.
    assert sqlite_column_values(json_column, sqlite_dialect.dialect(), column) is None
    assert sqlite_column_values(json_column, postgresql_dialect.dialect(), column) is None
