"""A client-side rate limiter shared by every thread that uses one API credential.

PagerDuty allows 960 REST requests a minute per API key (account keys) or per user across all
of that user's keys ("REST API Rate Limits", https://support.pagerduty.com/docs/rest-api-rate-limits;
https://developer.pagerduty.com/docs/rest-api-rate-limits). A sync that fetches several time
windows at once would reach that within seconds and then spend its time waiting out 429s: the
limiter keeps the product under the limit instead, so the 429 handling of `connectors.retry`
stays a backstop for traffic we do not control (another tool using the same key).

A token bucket: `burst` tokens at most, refilled at `(requests - burst) / period` tokens a
second. In any span of `period` seconds at most `burst + (requests - burst) = requests` tokens
are handed out, so the limit holds in *every* window, not only on average, while a quiet client
may still send `burst` requests at once. Written here rather than taken from PyPI: `limits`
and `pyrate-limiter` neither block a thread nor take an injected clock and sleep in a way
tests can drive without real waits (this module is ~100 lines, tested in
`tests/connectors/test_ratelimit.py`).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable

DEFAULT_BURST_SHARE = 0.1
"""The default burst is a tenth of the window's requests (96 at 960 a minute)."""


class RateLimiter:
    """A blocking, thread-safe token bucket: `acquire()` returns when a request may go.

    Example:
        >>> limiter = RateLimiter(960, period=60.0)   # PagerDuty's REST limit
        >>> limiter.acquire()                           # may block

    Args:
        requests: the most requests in any `period` seconds (at least 2).
        period: the window of the limit, in seconds (60 for "a minute").
        burst: requests that may go at once after a quiet spell (1 ≤ burst < requests);
            default a tenth of `requests` (`default_burst`). The steady rate is
            `(requests - burst) / period`, so the limit holds in every window.
        clock: monotonic seconds (tests pass a fake clock).
        sleep: how a caller waits (tests pass one that moves the fake clock).
    """

    def __init__(
        self,
        requests: float,
        period: float = 60.0,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (requests >= 2 and math.isfinite(requests)):
            raise ValueError(f"requests must be a finite number, at least 2 (got {requests!r})")
        if not (period > 0 and math.isfinite(period)):
            raise ValueError(f"period must be a positive number of seconds (got {period!r})")
        if burst is None:
            burst = default_burst(requests)
        if not 1 <= burst < requests:
            raise ValueError(f"burst must be at least 1 and below {requests:g} (got {burst!r})")
        self.requests = requests
        self.period = period
        self.burst = burst
        self.rate = (requests - burst) / period
        """Tokens a second: a full bucket plus a window's refill is exactly `requests`."""
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._stamp = clock()
        self.waited = 0.0
        """Seconds callers spent waiting in all (for reports)."""

    def acquire(self) -> None:
        """Take one token, sleeping (outside the lock) until one is free.

        Waiters reserve their token under the lock: the bucket may go negative, and each
        caller sleeps for its own place in the queue, so threads never wake to race for the
        same token and the order of arrival is the order of service.
        """
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            self.waited += wait
        if wait > 0:
            self._sleep(wait)

    def __call__(self) -> None:
        """A limiter is a throttle (`connectors.http.throttle_hook`)."""
        self.acquire()


def default_burst(requests: float) -> int:
    """A tenth of the window's requests, at least 1.

    Most syncs are incremental and need a few dozen requests: a burst that size lets them go
    at the speed of the network. A long sync then runs at 90% of the limit (864 a minute at
    960), which keeps every 60-second window under the limit without knowing how the vendor
    counts inside the minute."""
    return max(1, int(requests * DEFAULT_BURST_SHARE))


_SHARED: dict[tuple[str, float, float], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(credential: str, requests: float, period: float = 60.0) -> RateLimiter:
    """The one limiter of this process for `credential` at this rate.

    The vendor counts requests per credential, so every client built with the same token
    (the preflight's, each partition's, each thread's) must draw from one bucket. The token
    itself is never kept: only a SHA-256 digest of it names the bucket.
    """
    digest = hashlib.sha256(credential.encode()).hexdigest()
    key = (digest, float(requests), float(period))
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = _SHARED[key] = RateLimiter(requests, period)
        return limiter
