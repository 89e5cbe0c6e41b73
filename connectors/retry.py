"""The one retry policy of the connectors (tenacity).

Only `RetriableAPIError` is retried (429, 5xx, transport errors, timeouts); anything else,
4xx included, fails on the first answer. Attempts are bounded, waits grow exponentially with
full jitter up to a cap, and a 429 waits what the server asked (`Retry-After` and friends), itself
capped so a bogus header cannot park a sync for hours. `sleep` is injectable so tests count
retries without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from connectors.errors import RetriableAPIError
from connectors.stats import RequestStats

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try.

    Attributes:
        max_attempts: attempts in all (the first one included) for 5xx and transport errors,
            and for 429 unless `max_rate_limit_retries` is set.
        max_rate_limit_retries: a separate budget of retries for 429 (PagerDuty's
            `max_429_retries`); None counts 429 against `max_attempts`.
        backoff_base: the first backoff ceiling, in seconds, doubled on every attempt.
        backoff_max: the backoff ceiling (jitter draws below it).
        max_retry_after: the most a server's `Retry-After` may make us wait.
        sleep: the sleep function (tenacity's `sleep`).
    """

    max_attempts: int = 6
    max_rate_limit_retries: int | None = None
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_rate_limit_retries is not None and self.max_rate_limit_retries < 0:
            raise ValueError("max_rate_limit_retries must not be negative")


def call_with_retry(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    stats: RequestStats | None = None,
    endpoint: str = "",
) -> T:
    """Run `attempt` until it returns, raises a non-retriable error, or the budget is spent.

    When the budget is spent the last `RetriableAPIError` is raised as is.
    """
    retrying = Retrying(
        retry=retry_if_exception_type(RetriableAPIError),
        stop=_Budget(policy),
        wait=_Wait(policy),
        sleep=policy.sleep,
        before_sleep=_before_sleep(stats, endpoint),
        reraise=True,
    )
    return retrying(attempt)


def _is_rate_limited(exc: BaseException | None) -> bool:
    return isinstance(exc, RetriableAPIError) and exc.status == 429


class _Budget:
    """tenacity `stop`: one counter for 429 (if it has its own budget), one for the rest.

    Made fresh for every call, so its counters are that call's failures.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._rate_limited = 0
        self._other = 0

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        limit = self._policy.max_rate_limit_retries
        if limit is not None and _is_rate_limited(exc):
            self._rate_limited += 1
            return self._rate_limited > limit
        self._other += 1
        return self._other >= self._policy.max_attempts


class _Wait:
    """tenacity `wait`: the server's advice on 429 (capped), else jittered exponential backoff."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._backoff = wait_random_exponential(
            multiplier=policy.backoff_base, max=policy.backoff_max
        )

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableAPIError) and exc.retry_after is not None:
            return min(exc.retry_after, self._policy.max_retry_after)
        return float(self._backoff(state))


def _before_sleep(stats: RequestStats | None, endpoint: str) -> Callable[[RetryCallState], None]:
    def record(state: RetryCallState) -> None:
        if stats is not None:
            stats.record_retry(endpoint)
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s; retrying in %.1f s (attempt %d)", exc, delay, state.attempt_number + 1)

    return record
