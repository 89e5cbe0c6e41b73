"""ISO weeks in the registry time zone (SPEC §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.weeks import (
    parse_week,
    previous_weeks,
    shift_week,
    week_bounds,
    week_of,
    weeks_between,
    weeks_in_year,
)

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)


def berlin(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-W48", (2026, 48)), ("2026-W01", (2026, 1)), ("2026-W53", (2026, 53))],
)
def test_parse_week(text: str, expected: tuple[int, int]) -> None:
    assert parse_week(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-48", "not an ISO week: write YYYY-Www"),
        ("2026-W4", "not an ISO week"),
        ("2026-w48", "not an ISO week"),
        ("26-W48", "not an ISO week"),
        (" 2026-W48", "not an ISO week"),
        ("2026-W48\n", "not an ISO week"),
        ("2026-W048", "not an ISO week"),
        ("2026W48", "not an ISO week"),
        ("", "not an ISO week"),
        ("0000-W01", "year must be 0001 or later"),
        ("2026-W00", "does not exist: ISO year 2026 has weeks W01 to W53"),
        ("2026-W54", "does not exist: ISO year 2026 has weeks W01 to W53"),
        ("2027-W53", "does not exist: ISO year 2027 has weeks W01 to W52"),
    ],
)
def test_parse_week_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_week(text)


def test_53_week_years() -> None:
    # A year has 53 ISO weeks when it starts on a Thursday (or a leap year on a Wednesday).
    assert [y for y in range(2015, 2033) if weeks_in_year(y) == 53] == [2015, 2020, 2026, 2032]


def test_year_boundary() -> None:
    assert week_of(berlin("2026-12-28 00:00"), BERLIN) == "2026-W53"
    assert week_of(berlin("2027-01-03 23:59"), BERLIN) == "2026-W53"  # Sunday of W53
    assert week_of(berlin("2027-01-04 00:00"), BERLIN) == "2027-W01"
    assert week_of(berlin("2025-12-29 00:00"), BERLIN) == "2026-W01"  # a Monday in December
    assert weeks_between("2026-W52", "2027-W02") == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    assert previous_weeks("2027-W01", 2) == ["2026-W52", "2026-W53"]


def test_week_of_reads_the_local_wall_clock() -> None:
    assert week_of(berlin("2026-11-29 23:30"), BERLIN) == "2026-W48"
    # Monday 00:10 in Berlin is still Sunday 23:10 in UTC.
    monday = berlin("2026-11-30 00:10")
    assert monday.astimezone(UTC).day == 29
    assert week_of(monday, BERLIN) == "2026-W49"
    assert week_of(monday, UTC) == "2026-W48"


def test_week_of_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        week_of(datetime(2026, 11, 30, 10), BERLIN)


def test_week_bounds_are_local_midnights() -> None:
    start, end = week_bounds("2026-W48", BERLIN)
    assert start == datetime(2026, 11, 22, 23, tzinfo=UTC)  # Monday 23 Nov 00:00 CET
    assert end == datetime(2026, 11, 29, 23, tzinfo=UTC)
    assert end - start == 168 * HOUR


@pytest.mark.parametrize(
    ("week", "hours"),
    [("2026-W43", 169), ("2026-W13", 167), ("2026-W44", 168), ("2026-W14", 168)],
    ids=["October change: 169 h", "March change: 167 h", "after October", "after March"],
)
def test_week_length_across_dst(week: str, hours: int) -> None:
    start, end = week_bounds(week, BERLIN)
    assert end - start == hours * HOUR


def test_previous_weeks_and_weeks_between() -> None:
    assert previous_weeks("2026-W48", 4) == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert previous_weeks("2026-W48", 0) == []
    with pytest.raises(ValueError, match="n must be 0 or more"):
        previous_weeks("2026-W48", -1)
    assert weeks_between("2026-W48", "2026-W48") == ["2026-W48"]
    assert weeks_between("2026-W48", "2026-W46") == []
    assert shift_week("2026-W48", -48) == "2025-W52"
    with pytest.raises(ValueError, match="not an ISO week"):
        weeks_between("2026-W48", "next week")


ZONES = st.sampled_from(
    ["Europe/Berlin", "UTC", "America/Sao_Paulo", "Australia/Lord_Howe", "Asia/Kolkata"]
)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200)
@given(at=INSTANTS, zone=ZONES)
def test_an_instant_lies_within_the_bounds_of_its_week(at: datetime, zone: str) -> None:
    tz = ZoneInfo(zone)
    week = week_of(at, tz)
    start, end = week_bounds(week, tz)
    assert start <= at < end
    assert week_of(start, tz) == week
    assert week_of(end - timedelta(microseconds=1), tz) == week
    assert week_bounds(shift_week(week, 1), tz)[0] == end  # weeks tile time without gaps
    assert parse_week(week)
