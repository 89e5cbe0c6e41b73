"""Prefect global concurrency limits, one per API, shared by every worker.

Jira Cloud limits API-token traffic per tenant and PagerDuty allows 960 REST requests a minute
per key; several workers each syncing a partition would together exceed either. An operator
creates a global concurrency limit per API with a slot decay (a rate limit), and every request
the flows make waits for a slot first (docs/operations.md, "Rate limits across workers"):

    prefect gcl create jira-api --limit 10 --slot-decay-per-second 10
    prefect gcl create pagerduty-api --limit 16 --slot-decay-per-second 16

Without such a limit the flows run unthrottled (one machine needs none); the connectors' own
429 handling (`Retry-After`) remains the backstop either way. `accountability sync` / `run`
outside Prefect never consult these limits: they would need a Prefect server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from accountability.sources import SOURCES

API_LIMITS = tuple(source.rate_limit for source in SOURCES)  # ("jira-api", "pagerduty-api")

log = logging.getLogger(__name__)


def api_throttle(name: str) -> Callable[[], None] | None:
    """A function that takes one slot of the rate limit `name` (blocking while none is free), or
    None when the limit is not configured.

    Looked up once per task, not per request, so an unconfigured limit costs no API round trip
    per request and logs no warning per request. A limit without slot decay would hand out
    slots that are never returned (a deadlock after `limit` requests): it is ignored, loudly.
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

    def throttle() -> None:
        rate_limit(name, occupy=1, strict=True)

    return throttle
