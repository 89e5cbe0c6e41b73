"""What every source is to the rest of the product, and the sync mechanics they share.

A source (Jira, PagerDuty, a third one later) is one object that knows its partitions (the
units of cursors and parallelism, derived from the registry), its credentials, how to open and
check its client, and how to sync one partition into storage. The pipeline
(`accountability.pipeline`) plans, runs and reports partitions without knowing which source
they belong to; the rules receive normalized ownership events and never see a vendor's name.

The shared mechanics: the run's start is frozen as the upper bound of every query, a
partition's cursor moves only in the transaction that commits the batch before it (a crash
resumes from the last committed batch; the overlap window plus idempotent upserts make the
re-read harmless), and records that cannot be understood are quarantined with their reason.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock
from accountability.config.settings import Settings
from connectors.stats import RequestStats
from rules.ownership import MalformedRecordError
from rules.registry import Registry

DEFAULT_OVERLAP = timedelta(minutes=10)
DEFAULT_LOOKBACK = timedelta(days=90)

Progress = Callable[[str, int], None]  # (partition, records just handled)
Throttle = Callable[[], None]  # takes one slot of a rate limit shared by every worker


@dataclass
class SyncSummary:
    """What one partition's sync did; summed for the CLI's one-line report."""

    source: str
    partition: str
    items: int = 0
    changes: int = 0
    quarantined: int = 0
    skipped: int = 0
    seconds: float = 0.0
    cursor: datetime | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """The time span one run reads: from each cursor (minus `overlap`), or from `start` on a
    first or `full` sync, up to `now`, the run's frozen start."""

    start: datetime
    now: datetime
    full: bool = False
    overlap: timedelta = DEFAULT_OVERLAP

    def lower_bound(self, cursor: datetime | None, full: bool | None = None) -> datetime:
        """The closed lower bound: the cursor minus the overlap (late-indexed updates), or
        the start when there is no cursor or the sync is full."""
        if (self.full if full is None else full) or cursor is None:
            return self.start
        return cursor - self.overlap


@dataclass(frozen=True)
class Partition:
    """One unit of a sync: its own cursor(s), run in parallel with the others.

    `group` is what a fanned-out deployment hands one worker (a Jira project; None when the
    source is a single unit); `spec` is the source's own description of the partition.
    """

    source: str
    name: str
    group: str | None
    spec: Any

    @property
    def label(self) -> str:
        """`jira support/SUP`, `pagerduty services PSUP001`: how failures name it."""
        return f"{self.source} {self.name}"


class Client(Protocol):
    """What the pipeline needs of a source's API client: its counters, and closing it."""

    stats: RequestStats

    def close(self) -> None: ...


class Source(Protocol):
    """Everything the product knows about one source, behind one seam."""

    name: str  # "jira": stored in events and cursors, the registry's `sources:` key
    label: str  # "Jira", for messages
    group_label: str | None  # "Jira project": what a fan-out `group` is, for messages
    rate_limit: str  # the Prefect global concurrency limit its requests take slots of
    secret_variables: tuple[str, ...]  # may come from Prefect Secret blocks

    def partitions(self, registry: Registry) -> list[Partition]:
        """What the registry asks of this source, as partitions (none: not used)."""
        ...

    def check_credentials(self, settings: Settings) -> None:
        """Raise ConfigError naming the missing variable; no network call."""
        ...

    def connect(self, settings: Settings, throttle: Throttle | None = None) -> Client: ...

    def preflight(self, client: Any) -> None:
        """One cheap call: wrong credentials or a URL that is not this API fail before any
        write (ConfigError / AuthError)."""
        ...

    def sync(
        self,
        factory: sessionmaker[Session],
        client: Any,
        partition: Partition,
        window: Window,
        *,
        progress: Progress | None,
        clock: Clock,
        fetched: Callable[[], None] | None = None,
    ) -> list[SyncSummary]:
        """Read the partition into storage. `fetched`, when the source can tell, is called
        once nothing of the partition is in flight any more and only writing is left."""
        ...


@runtime_checkable
class RateLimited(Protocol):
    """A source whose vendor documents a request rate, configured in the settings: the flows
    check the source's Prefect rate limit against it (`flows.limits.api_throttle`)."""

    def requests_per_minute(self, settings: Settings) -> int: ...


def first_sync_start(now: datetime, sync_start: datetime | None) -> datetime:
    return sync_start if sync_start is not None else now - DEFAULT_LOOKBACK


def sync_start_of(settings: Settings) -> datetime | None:
    if settings.sync_start is None:
        return None
    return datetime.combine(settings.sync_start, datetime.min.time(), tzinfo=UTC)


def windows(
    lower: datetime, upper: datetime, step: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """[lower, upper] cut into spans of at most `step`."""
    while lower < upper:
        end = min(lower + step, upper)
        yield lower, end
        lower = end


def batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """`records` in lists of at most `size`, read lazily (itertools.batched is Python 3.12+)."""
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


T = TypeVar("T")


class Stopped(Exception):
    """A prefetched job gave up because the consumer stopped (`prefetch_in_order`)."""


def until_stopped(records: Iterable[T], stop: threading.Event) -> Iterator[T]:
    """`records`, raising `Stopped` as soon as `stop` is set: a prefetch whose result will never
    be used stops reading at the next record instead of finishing its window."""
    for record in records:
        if stop.is_set():
            raise Stopped
        yield record


PREFETCH_START = 2
"""Jobs in flight before the first result says how large results are (`prefetch_in_order`)."""


def prefetch_in_order(
    pool: Executor,
    jobs: Iterable[Callable[[threading.Event], T]],
    depth: int,
    *,
    size: Callable[[T], int] | None = None,
    budget: int | None = None,
) -> Generator[T, None, None]:
    """The results of `jobs`, run on `pool` at most `depth` at a time, yielded in job order.

    Why in order: a sync writes on one thread and moves a cursor to the end of each window it
    commits; were windows written as they arrive, a cursor could pass a window still in
    flight, and a failure there would leave data behind the cursor that was never written.
    Free slots are filled before a result is handed over, so jobs stay in flight while the
    consumer writes.

    Memory: every job in flight or done but not yet consumed holds its result. With `size`
    (records in a result) and `budget` (records), the jobs in flight start at
    `PREFETCH_START` and then follow the results: `budget // ` the largest of the last three,
    between 1 and `depth`. Small windows go `depth` at a time; a busy account's big windows
    one or two at a time, so what waits in memory stays near `budget` records.

    When a job fails its error is raised here, after every earlier result was yielded; when
    the consumer stops (an error of its own, or `close()`), `stop` is set for the jobs still
    running (they end at their next record, see `until_stopped`) and queued ones are
    cancelled. Nothing after a failure reaches the consumer.
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    adaptive = size is not None and budget is not None
    allowed = min(depth, PREFETCH_START) if adaptive else depth
    recent: deque[int] = deque(maxlen=3)
    stop = threading.Event()
    pending: deque[Future[T]] = deque()
    remaining = iter(jobs)

    def top_up() -> None:
        while len(pending) < allowed:
            job = next(remaining, None)
            if job is None:
                return
            pending.append(pool.submit(job, stop))

    try:
        top_up()
        while pending:
            result = pending.popleft().result()
            if size is not None and budget is not None:
                recent.append(max(1, size(result)))
                allowed = max(1, min(depth, budget // max(recent)))
            top_up()
            yield result
    finally:
        stop.set()
        for future in pending:
            future.cancel()


Quarantined = tuple[str, str, object]  # (record reference, reason, raw record)

RECORD_ERRORS: tuple[type[Exception], ...] = (
    MalformedRecordError, TypeError, ValueError, AttributeError, KeyError, IndexError,
)
"""What failing to understand ONE record looks like. The row mappers raise
`MalformedRecordError` with a reason; the rest is caught too, so that a shape nobody foresaw
(`"assignee": null`, a number that is text) quarantines that record instead of failing every
run on it. Only pure mapping code runs under this catch, never a database call, so a
database error is never mistaken for a bad record."""


def reason_of(exc: Exception) -> str:
    """The quarantine reason: the mapper's own words, or what Python tripped on."""
    if isinstance(exc, MalformedRecordError):
        return str(exc)
    return f"could not be read: {type(exc).__name__}: {exc}"


def record_ref(record: object, *keys: str) -> str:
    """How the quarantine names a record: its first usable key (`key`, `id`), else `?`."""
    if isinstance(record, Mapping):
        for key in keys or ("id",):
            value = record.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return "?"


def convert(
    records: Iterable[Any],
    to_row: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[Quarantined]]:
    """Rows of the records that convert, and the others to quarantine with their reason."""
    rows, bad = [], []
    for record in records:
        try:
            rows.append(to_row(record))
        except RECORD_ERRORS as exc:
            bad.append((record_ref(record), reason_of(exc), jsonable(record)))
    return rows, bad


def jsonable(value: object) -> object:
    """Quarantined payloads go into a JSON column; anything odd is kept as its repr."""
    if isinstance(value, Mapping | list | str | int | float | bool) or value is None:
        return value
    return repr(value)
