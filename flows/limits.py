"""Prefect global concurrency limits, one per API, shared by every worker.

Jira Cloud limits API-token traffic per tenant and PagerDuty allows 960 REST requests a minute
per key; several workers each syncing a partition would together exceed either. An operator
creates a global concurrency limit per API with a slot decay (a rate limit), and every request
the flows make waits for a slot first (docs/operations.md, "Rate limits across workers"):

    prefect gcl create jira-api --limit 10 --slot-decay-per-second 10
    prefect gcl create pagerduty-api --limit 96 --slot-decay-per-second 14.4

A limit of L slots that decay at D a second lets through at most L + 60·D requests in any
minute: the PagerDuty one matches `ACCOUNTABILITY_PAGERDUTY_RATE_LIMIT` (960) when L is its
burst (a tenth) and D the rest spread over the minute (`matching_limit`); one that allows more
is used, with a warning naming the command that fixes it. Each process also keeps its own
limit at that rate (`connectors.ratelimit`), so one worker is safe without Prefect.

Without such a limit the flows run unthrottled across workers (one machine needs none); the
connectors' own 429 handling (`Retry-After`) remains the backstop either way. `accountability
sync` / `run` outside Prefect never consult these limits: they would need a Prefect server.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from accountability.sources import SOURCES
from connectors.ratelimit import default_burst

API_LIMITS = tuple(source.rate_limit for source in SOURCES)  # ("jira-api", "pagerduty-api")

log = logging.getLogger(__name__)


def matching_limit(per_minute: int) -> tuple[int, float]:
    """The `--limit` and `--slot-decay-per-second` of a global concurrency limit that lets
    through at most `per_minute` requests in any minute: the client-side limiter's burst
    and rate (`connectors.ratelimit`), the decay rounded down to hundredths."""
    burst = default_burst(per_minute)
    return burst, math.floor((per_minute - burst) / 60 * 100) / 100


def api_throttle(name: str, per_minute: int | None = None) -> Callable[[], None] | None:
    """A function that takes one slot of the rate limit `name` (blocking while none is free), or
    None when the limit is not configured.

    Looked up once per task, not per request, so an unconfigured limit costs no API round trip
    per request and logs no warning per request. A limit without slot decay would hand out
    slots that are never returned (a deadlock after `limit` requests): it is ignored, loudly.
    With `per_minute` (the source's configured rate), a limit that would let more through in
    a minute is used but named in a warning, with the command that makes it match.
    """
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import rate_limit
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        return None
    if not limit.active:
        return None
    if not limit.slot_decay_per_second:
        log.warning(
            "global concurrency limit %r has no slot decay, so it cannot act as a rate limit "
            "and is ignored: recreate it with --slot-decay-per-second (docs/operations.md)",
            name,
        )
        return None
    allowed = limit.limit + 60 * limit.slot_decay_per_second
    if per_minute is not None and allowed > per_minute:
        slots, decay = matching_limit(per_minute)
        log.warning(
            "global concurrency limit %r lets up to %g requests a minute through (limit %d + "
            "%g/s slot decay x 60), more than the configured %d: each worker keeps its own "
            "rate, but workers together may exceed it; make it match with: prefect gcl update "
            "%s --limit %d --slot-decay-per-second %g (docs/operations.md)",
            name, allowed, limit.limit, limit.slot_decay_per_second, per_minute, name, slots,
            decay,
        )

    def throttle() -> None:
        rate_limit(name, occupy=1, strict=True)

    return throttle
