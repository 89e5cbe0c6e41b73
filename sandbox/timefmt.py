"""Time in the sandbox: integer epoch milliseconds inside, vendor formats on the wire.

Jira renders timestamps in the *requesting account's* time zone with a numeric offset and
milliseconds (`2026-10-05T10:00:00.000-0400`); PagerDuty renders UTC with a `Z` and whole seconds
unless the request names a `time_zone`. Keeping milliseconds as ints makes the indexes cheap to
bisect and the formatting a per-response concern.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = UTC
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def to_ms(moment: datetime) -> int:
    """Exact epoch milliseconds of an aware datetime (no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return (moment - EPOCH) // MS


def from_ms(ms: int, tz: tzinfo = UTC) -> datetime:
    return (EPOCH + timedelta(milliseconds=ms)).astimezone(tz)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_ms(tz_name: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Milliseconds of a wall-clock time in a named zone."""
    return to_ms(datetime(year, month, day, hour, minute, tzinfo=zone(tz_name)))


def _offset(delta: timedelta | None, colon: bool) -> str:
    seconds = int(delta.total_seconds()) if delta is not None else 0
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hours, minutes = divmod(seconds // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" if colon else f"{sign}{hours:02d}{minutes:02d}"


class JiraClock:
    """Formats Jira timestamps in one account zone.

    The zone's offset is looked up once per hour (zoneinfo is the slow part) and the fields come
    from `time.gmtime` on the shifted instant: a page of 100 issues with their changelogs formats
    a few thousand timestamps.
    """

    __slots__ = ("_formatted", "_offsets", "tz")

    def __init__(self, tz_name: str) -> None:
        self.tz = zone(tz_name)
        self._offsets: dict[int, tuple[int, str]] = {}
        self._formatted: dict[int, str] = {}

    def _offset_of(self, hour: int) -> tuple[int, str]:
        found = self._offsets.get(hour)
        if found is None:
            delta = from_ms(hour * HOUR_MS, self.tz).utcoffset()
            seconds = int(delta.total_seconds()) if delta is not None else 0
            found = (seconds * 1000, _offset(delta, colon=False))
            if len(self._offsets) > 100_000:
                self._offsets.clear()
            self._offsets[hour] = found
        return found

    def format(self, ms: int) -> str:
        """The instant as Jira writes it, remembered: a world's timestamps are served again
        on every page and every run, and formatting them was a third of the sandbox's CPU
        under a sync (`bench/side_by_side.py`), time the client under test waited for."""
        text = self._formatted.get(ms)
        if text is None:
            if len(self._formatted) > 1_000_000:
                self._formatted.clear()
            text = self._formatted[ms] = self._format(ms)
        return text

    def _format(self, ms: int) -> str:
        shift, suffix = self._offset_of(ms // HOUR_MS)
        local = time.gmtime((ms + shift) // 1000)
        return (
            f"{local.tm_year:04d}-{local.tm_mon:02d}-{local.tm_mday:02d}T"
            f"{local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d}.{ms % 1000:03d}{suffix}"
        )


def pd_format(ms: int, tz: tzinfo | None = None) -> str:
    """PagerDuty's ISO 8601: `2015-10-06T21:30:42Z`, or with an offset when a zone is asked."""
    if tz is None:
        moment = from_ms(ms)
        return (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
        )
    moment = from_ms(ms, tz)
    return moment.replace(microsecond=0).isoformat()


_PD_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_pd_time(text: str, tz: tzinfo = UTC) -> int:
    """Parse a PagerDuty `since`/`until` value; a value without zone is read in `tz`.

    Accepts what clients send in practice: `2026-10-01T00:00:00Z`, `+00:00`, `+0000` (the
    `pagerduty` client's own `%z` format), fractional seconds and a bare date.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty time")
    if _PD_DATE_ONLY.match(value):
        day = date.fromisoformat(value)
        return to_ms(datetime(day.year, day.month, day.day, tzinfo=tz))
    moment = datetime.fromisoformat(value.replace(" ", "+") if value.count(" ") == 1 else value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return to_ms(moment)


def add_months(ms: int, months: int) -> int:
    """Calendar-month arithmetic in UTC, clamping the day (Jan 31 + 1 month = Feb 28)."""
    moment = from_ms(ms)
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return to_ms(moment.replace(year=year, month=month, day=day))
        except ValueError:
            continue
    return to_ms(moment.replace(year=year, month=month, day=min(moment.day, 28)))
