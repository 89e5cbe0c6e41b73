"""ISO weeks in the registry time zone (SPEC §5): Monday 00:00 to Sunday 24:00 local, `2026-W48`.

A week's bounds are local midnights turned into UTC instants, so a week that contains a DST
change lasts 167 or 169 hours, and an event at Sunday 23:30 local belongs to the week that is
ending even when it is already Monday in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_SEVEN_DAYS = timedelta(days=7)


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always lies in the year's last ISO week."""
    return date(year, 12, 28).isocalendar().week


def parse_week(text: str) -> tuple[int, int]:
    """`'2026-W48'` → `(2026, 48)`; ValueError for anything else, or a week that does not exist."""
    match = _WEEK.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"'{text}' is not an ISO week: write YYYY-Www, e.g. 2026-W48")
    year, week = int(match[1]), int(match[2])
    if year < 1:
        raise ValueError(f"'{text}' is not an ISO week: the year must be 0001 or later")
    last = weeks_in_year(year)
    if not 1 <= week <= last:
        raise ValueError(f"'{text}' does not exist: ISO year {year} has weeks W01 to W{last}")
    return year, week


def week_name(day: date) -> str:
    """The ISO week a calendar day lies in."""
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def monday(week: str) -> date:
    """The first day of `week`."""
    year, number = parse_week(week)
    return date.fromisocalendar(year, number, 1)


def week_of(at: datetime, tz: tzinfo) -> str:
    """The week an instant falls in, read on the wall clock of `tz`."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone: weeks need an aware datetime")
    return week_name(at.astimezone(tz).date())


def _local_midnight_utc(day: date, tz: tzinfo) -> datetime:
    # zoneinfo resolves a midnight skipped by a DST jump to the first instant of the day.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def week_bounds(week: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """`[start, end)` of `week` in UTC: local Monday 00:00 to the next local Monday 00:00."""
    first = monday(week)
    return _local_midnight_utc(first, tz), _local_midnight_utc(first + _SEVEN_DAYS, tz)


def shift_week(week: str, weeks: int) -> str:
    """The week `weeks` weeks after `week` (before it when negative)."""
    return week_name(monday(week) + timedelta(weeks=weeks))


def previous_weeks(week: str, n: int) -> list[str]:
    """The `n` weeks just before `week`, oldest first; `week` itself is not included."""
    if n < 0:
        raise ValueError(f"cannot take {n} previous weeks: n must be 0 or more")
    start = monday(week)
    return [week_name(start - timedelta(weeks=k)) for k in range(n, 0, -1)]


def weeks_between(first: str, last: str) -> list[str]:
    """Every week from `first` to `last`, both included, oldest first; empty when `last` is
    before `first`."""
    start, end = monday(first), monday(last)
    count = (end - start).days // 7 + 1
    return [week_name(start + timedelta(weeks=k)) for k in range(max(count, 0))]
