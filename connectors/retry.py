"""The one retry policy of the connectors (tenacity).

Only `RetriableAPIError` is retried (429, 5xx, transport errors, timeouts); anything else,
4xx included, fails on the first answer. Attempts are bounded, waits grow exponentially with
full jitter up to a cap, and a 429 waits what the server asked (`Retry-After` and friends), itself
capped so a bogus header cannot park a sync for hours. `sleep` is injectable so tests count
retries without waiting.

A 429 is the server pacing us, not a failure: with `rate_limit_budget` set (the sync sets it
from `ACCOUNTABILITY_RATE_LIMIT_BUDGET`) rate limits are waited out, however many in a row,
until the waits of one request add up to the budget; only then does the request fail, with
`RateLimitBudgetError` saying so. 5xx and transport errors keep their bounded attempt count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from connectors.errors import RateLimitBudgetError, RetriableAPIError
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
        rate_limit_budget: seconds one request may spend waiting out 429s in all; while it
            lasts 429s are not counted against any attempt limit (`max_rate_limit_retries`
            still applies if also set). None: 429s are counted, as other retriable errors.
        sleep: the sleep function (tenacity's `sleep`).
    """

    max_attempts: int = 6
    max_rate_limit_retries: int | None = None
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    rate_limit_budget: float | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_rate_limit_retries is not None and self.max_rate_limit_retries < 0:
            raise ValueError("max_rate_limit_retries must not be negative")
        if self.rate_limit_budget is not None and not self.rate_limit_budget >= 0:
            raise ValueError("rate_limit_budget must be a number of seconds, 0 or more")


def call_with_retry(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    stats: RequestStats | None = None,
    endpoint: str = "",
) -> T:
    """Run `attempt` until it returns, raises a non-retriable error, or the budget is spent.

    When the attempts are spent the last `RetriableAPIError` is raised as is; when the
    rate-limit budget is spent, a `RateLimitBudgetError` that says so (chained to the last 429).
    """
    budget = _Budget(policy)
    retrying = Retrying(
        retry=retry_if_exception_type(RetriableAPIError),
        stop=budget,
        wait=_Wait(policy, budget),
        sleep=policy.sleep,
        before_sleep=_before_sleep(stats, endpoint),
        retry_error_callback=budget.give_up,
    )
    return retrying(attempt)


def _is_rate_limited(exc: BaseException | None) -> bool:
    return isinstance(exc, RetriableAPIError) and exc.status == 429


class _Budget:
    """tenacity `stop`: one counter for 429 (if it has its own budget), one for the rest, and
    the seconds already spent waiting out 429s (if there is a time budget).

    Made fresh for every call, so its counters are that call's failures. tenacity computes
    the wait before it asks `stop`, so the upcoming sleep is known here and is added to the
    time spent only when the retry really goes ahead.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._rate_limited = 0
        self._other = 0
        self.waited = 0.0
        self.spent = False

    @property
    def remaining(self) -> float:
        """Seconds of rate-limit waiting left (infinite without a time budget)."""
        if self._policy.rate_limit_budget is None:
            return float("inf")
        return max(self._policy.rate_limit_budget - self.waited, 0.0)

    def __call__(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        limit = self._policy.max_rate_limit_retries
        timed = self._policy.rate_limit_budget is not None
        if _is_rate_limited(exc) and (timed or limit is not None):
            self._rate_limited += 1
            if limit is not None and self._rate_limited > limit:
                return True
            if timed:
                if self.remaining <= 0:
                    self.spent = True
                    return True
                self.waited += state.upcoming_sleep
            return False
        self._other += 1
        return self._other >= self._policy.max_attempts

    def give_up(self, state: RetryCallState) -> None:
        """tenacity's `retry_error_callback`: raise the last error, saying why we stopped."""
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, BaseException):  # pragma: no cover - only called on failure
            raise RuntimeError("retry gave up without an error")
        if self.spent and isinstance(exc, RetriableAPIError):
            raise RateLimitBudgetError(
                f"{exc.message}; still rate limited after waiting {self.waited:.0f} s in "
                f"{self._rate_limited} rate-limited answers, the whole budget of one request "
                f"(ACCOUNTABILITY_RATE_LIMIT_BUDGET={self._policy.rate_limit_budget:g} s): "
                "raise it, or run fewer syncs against this API at once",
                status=exc.status,
                url=exc.url,
                server_message=exc.server_message,
                retry_after=exc.retry_after,
            ) from exc
        raise exc


class _Wait:
    """tenacity `wait`: the server's advice on 429 (capped), else jittered exponential backoff.

    Under a rate-limit time budget a 429's wait is at least `backoff_base` (a run of
    near-zero advice must not hammer the server while never spending the budget) and at most
    what is left of the budget (the last try comes when the budget runs out, not after).
    """

    def __init__(self, policy: RetryPolicy, budget: _Budget) -> None:
        self._policy = policy
        self._budget = budget
        self._backoff = wait_random_exponential(
            multiplier=policy.backoff_base, max=policy.backoff_max
        )

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableAPIError) and exc.retry_after is not None:
            delay = min(exc.retry_after, self._policy.max_retry_after)
        else:
            delay = float(self._backoff(state))
        if _is_rate_limited(exc) and self._policy.rate_limit_budget is not None:
            delay = min(max(delay, self._policy.backoff_base), self._budget.remaining)
        return delay


def _before_sleep(stats: RequestStats | None, endpoint: str) -> Callable[[RetryCallState], None]:
    def record(state: RetryCallState) -> None:
        if stats is not None:
            stats.record_retry(endpoint)
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s; retrying in %.1f s (attempt %d)", exc, delay, state.attempt_number + 1)

    return record
