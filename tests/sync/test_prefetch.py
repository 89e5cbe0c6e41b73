"""`prefetch_in_order`: jobs run side by side, results come back in job order, a failure stops
everything after it, and big results lower the number of jobs in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from accountability.sources.base import Stopped, prefetch_in_order, until_stopped

Job = Callable[[threading.Event], list[int]]


class Tracker:
    """Counts jobs running at once, and the most ever."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def job(self, n: int, records: int = 1, delay: float = 0.0) -> Job:
        def run(stop: threading.Event) -> list[int]:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                time.sleep(delay)
                return [n] * records
            finally:
                with self.lock:
                    self.running -= 1

        return run


def test_results_come_in_job_order_though_later_jobs_finish_first() -> None:
    tracker = Tracker()
    jobs = [tracker.job(n, delay=0.05 * (6 - n)) for n in range(6)]  # the last is fastest
    with ThreadPoolExecutor(6) as pool:
        results = [r[0] for r in prefetch_in_order(pool, jobs, 6)]
    assert results == list(range(6))
    assert tracker.most == 6


def test_a_failed_job_is_raised_after_the_results_before_it_and_stops_the_rest() -> None:
    seen_stop: list[bool] = []
    started = threading.Event()

    def failing(stop: threading.Event) -> list[int]:
        started.wait(1)
        raise RuntimeError("window 2 failed")

    def slow(stop: threading.Event) -> list[int]:
        started.set()
        records = []
        try:
            for n in until_stopped(range(1000), stop):
                records.append(n)
                time.sleep(0.005)
        except Stopped:
            seen_stop.append(True)
            raise
        return records

    tracker = Tracker()
    jobs: list[Job] = [tracker.job(0), tracker.job(1), failing, slow]
    got: list[int] = []
    with ThreadPoolExecutor(4) as pool, pytest.raises(RuntimeError, match="window 2"):
        for result in prefetch_in_order(pool, jobs, 4):
            got.append(result[0])
    assert got == [0, 1]  # nothing after the failure reaches the consumer
    assert seen_stop == [True]  # and the job still reading gave up at its next record


def test_big_results_lower_the_jobs_in_flight() -> None:
    tracker = Tracker()
    small = [tracker.job(n, records=10, delay=0.01) for n in range(12)]
    with ThreadPoolExecutor(8) as pool:
        list(prefetch_in_order(pool, small, 8, size=len, budget=100))
    assert tracker.most == 8  # 100 // 10 = 10, capped at the depth

    tracker = Tracker()
    big = [tracker.job(n, records=60, delay=0.01) for n in range(12)]
    with ThreadPoolExecutor(8) as pool:
        assert len(list(prefetch_in_order(pool, big, 8, size=len, budget=100))) == 12
    assert tracker.most <= 2  # 2 to start, then 100 // 60 = 1
