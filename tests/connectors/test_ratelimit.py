"""The client-side rate limiter (`connectors.ratelimit`): never more than `requests` in any
window of `period` seconds, whatever the number of threads, with a fake clock (no real waits).
"""

from __future__ import annotations

import threading
from bisect import bisect_left

import pytest
from pydantic import SecretStr

from connectors.pagerduty import PAGERDUTY_RATE_LIMIT, PagerDutyClient
from connectors.ratelimit import RateLimiter, default_burst, shared_limiter


class FakeTime:
    """A fake monotonic clock, thread-safe. `grant()` is the instant the caller's last
    `acquire` let it go: the clock the limiter read plus the wait it asked for.

    With `sleeping_moves_time` (one thread) a sleep moves the clock, as waiting does; with
    several threads a ticker moves it instead, and sleeps only record their length."""

    def __init__(self, sleeping_moves_time: bool = True) -> None:
        self._lock = threading.Lock()
        self.now = 1000.0
        self.moves = sleeping_moves_time
        self.local = threading.local()

    def clock(self) -> float:
        with self._lock:
            self.local.read = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.local.slept = seconds
        if self.moves:
            with self._lock:
                self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def grant(self) -> float:
        slept, self.local.slept = getattr(self.local, "slept", 0.0), 0.0
        return float(self.local.read) + slept


def most_in_any_window(instants: list[float], period: float) -> int:
    """The most instants in any half-open span [t, t + period) starting at one of them."""
    ordered = sorted(instants)
    return max(
        (bisect_left(ordered, start + period - 1e-9) - i for i, start in enumerate(ordered)),
        default=0,
    )


def test_a_quiet_limiter_lets_its_burst_go_at_once_then_paces() -> None:
    fake = FakeTime()
    limiter = RateLimiter(60, period=60.0, burst=6, clock=fake.clock, sleep=fake.sleep)
    grants = []
    for _ in range(12):
        limiter.acquire()
        grants.append(fake.grant())
    assert grants[:6] == [1000.0] * 6  # the burst: no wait
    # then (60 - 6) / 60 = 0.9 tokens a second: one every 1/0.9 s
    gaps = [b - a for a, b in zip(grants[6:], grants[7:], strict=False)]
    assert gaps == pytest.approx([1 / 0.9] * 5)
    assert grants[6] == pytest.approx(1000 + 1 / 0.9)


@pytest.mark.parametrize(("requests", "burst"), [(960, None), (120, 12), (30, 29), (2, 1)])
def test_never_more_than_the_limit_in_any_window_one_thread(
    requests: int, burst: int | None
) -> None:
    fake = FakeTime()
    limiter = RateLimiter(requests, period=60.0, burst=burst, clock=fake.clock,
                          sleep=fake.sleep)
    grants = []
    for _ in range(requests * 3):
        limiter.acquire()
        grants.append(fake.grant())
    # the limit, and no less: a full bucket plus a window's refill is `requests`, the last
    # one at the window's very end (so one less in a half-open window)
    assert requests - 1 <= most_in_any_window(grants, 60.0) <= requests
    assert grants[-1] - grants[0] == pytest.approx((3 * requests - limiter.burst) / limiter.rate)


def test_many_threads_share_one_bucket_and_stay_under_the_limit() -> None:
    """Eight threads acquire at once while a ticker moves the clock: the bucket hands out
    places in one queue, so together they never exceed the limit in any window."""
    fake = FakeTime(sleeping_moves_time=False)
    limiter = RateLimiter(120, period=60.0, clock=fake.clock, sleep=fake.sleep)
    grants: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(9)
    done = threading.Event()

    def worker() -> None:
        barrier.wait()
        for _ in range(45):
            limiter.acquire()
            at = fake.grant()
            with lock:
                grants.append(at)

    def ticker() -> None:
        barrier.wait()
        while not done.is_set():
            fake.advance(0.05)
            done.wait(0.0001)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    tick = threading.Thread(target=ticker)
    for thread in [*threads, tick]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    tick.join()
    assert len(grants) == 360
    assert len(set(grants)) > 300  # paced, not granted at one instant
    assert most_in_any_window(grants, 60.0) <= 120
    assert most_in_any_window(grants, 60.0) >= 115  # and close to it: not over-throttled


def test_concurrent_acquires_hand_out_exactly_one_token_each() -> None:
    """With a clock that never moves and a sleep that does nothing, each acquire still
    reserves its own token: the deficit equals the number of callers past the burst."""
    limiter = RateLimiter(100, period=60.0, burst=10, clock=lambda: 0.0,
                          sleep=lambda seconds: None)
    def take() -> None:
        for _ in range(50):
            limiter.acquire()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 300 tokens taken from a bucket of 10 refilled at 1.5/s: the last waits 290 / 1.5 s
    assert limiter.waited == pytest.approx(sum(k / 1.5 for k in range(1, 291)))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        RateLimiter(1)
    with pytest.raises(ValueError, match="period"):
        RateLimiter(10, period=0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(10, burst=10)
    assert default_burst(960) == 96 and default_burst(2) == 1


def test_clients_with_one_token_share_one_bucket_and_never_keep_the_token() -> None:
    token = "u+secret-token-value"
    first = PagerDutyClient(SecretStr(token), base_url="https://api.pagerduty.example")
    second = PagerDutyClient(SecretStr(token), base_url="https://api.pagerduty.example/")
    other = PagerDutyClient(SecretStr("another"), base_url="https://api.pagerduty.example")
    try:
        assert first.limiter is not None and first.limiter is second.limiter
        assert other.limiter is not first.limiter
        assert first.limiter.requests == PAGERDUTY_RATE_LIMIT
        assert shared_limiter("https://api.pagerduty.example " + token, 960) is first.limiter
        from connectors import ratelimit

        assert not any(token in key[0] for key in ratelimit._SHARED)
        unlimited = PagerDutyClient(SecretStr(token), base_url="https://x.example",
                                    rate_limit=None)
        assert unlimited.limiter is None
        unlimited.close()
    finally:
        for client in (first, second, other):
            client.close()


def test_the_rate_and_the_concurrency_are_settings_that_reach_the_sync_client() -> None:
    from accountability.config.errors import ConfigError
    from accountability.config.settings import load_settings
    from accountability.sources.pagerduty import open_pagerduty

    defaults = load_settings(_env_file=None)
    assert (defaults.pagerduty_rate_limit, defaults.pagerduty_concurrency) == (960, 8)
    settings = load_settings(_env_file=None, PAGERDUTY_API_TOKEN="t-settings",
                             ACCOUNTABILITY_PAGERDUTY_RATE_LIMIT="120",
                             ACCOUNTABILITY_PAGERDUTY_CONCURRENCY="3")
    with open_pagerduty(settings) as client:
        assert client.limiter is not None
        assert (client.limiter.requests, client.limiter.period) == (120, 60.0)
        assert client.concurrency == 3
    for variable, value in (("ACCOUNTABILITY_PAGERDUTY_RATE_LIMIT", "1"),
                            ("ACCOUNTABILITY_PAGERDUTY_CONCURRENCY", "0")):
        with pytest.raises(ConfigError, match=variable):
            load_settings(_env_file=None, **{variable: value})
