"""Request counters a sync run can report (how many calls, how many were retries)."""

from __future__ import annotations

import threading
from collections import Counter


class RequestStats:
    """Requests and retries per endpoint, safe to update from worker threads.

    Endpoints are labels such as ``"POST /rest/api/3/search/jql"`` or
    ``"GET /rest/api/3/issue/{id}/changelog"``: templates, so the counters stay small.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._retries: Counter[str] = Counter()

    def record_request(self, endpoint: str) -> None:
        with self._lock:
            self._requests[endpoint] += 1

    def record_retry(self, endpoint: str) -> None:
        with self._lock:
            self._retries[endpoint] += 1

    @property
    def requests(self) -> int:
        with self._lock:
            return sum(self._requests.values())

    @property
    def retries(self) -> int:
        with self._lock:
            return sum(self._retries.values())

    def by_endpoint(self) -> dict[str, dict[str, int]]:
        """``{endpoint: {"requests": n, "retries": m}}``, for a run summary."""
        with self._lock:
            endpoints = sorted(set(self._requests) | set(self._retries))
            return {
                name: {"requests": self._requests[name], "retries": self._retries[name]}
                for name in endpoints
            }

    def __repr__(self) -> str:
        return f"RequestStats(requests={self.requests}, retries={self.retries})"
