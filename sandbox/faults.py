"""Fault injection: an ASGI middleware in front of both APIs.

Each fault kind fires with a probability (drawn from a seeded generator, one draw per kind per
request, so a sequential client sees the same faults run after run), on every Nth request, or
on the first N requests (`first:N`: a streak, e.g. N 429s in a row, then normal service).
The first kind that fires wins, in this order: dropped connection, 429, 503, 502, 500, HTML page
with status 200, a missing field, a null field, a field of the wrong type; slow responses and
per-request latency add delay and then serve normally.

Syntax (CLI `--faults`, `FaultConfig.parse`): comma-separated `key=value`, e.g.
`429=0.1,500=0.05,drop=0.02,latency_ms=20,html200=0.01` or `503=every:4,retry_after=2`.
Kinds: 429, 500, 502, 503, drop, slow, html200, missing, null, wrongtype (value: probability
0..1, `every:N` or `first:N`); settings: latency_ms, slow_s, retry_after, seed, paths
(`|`-separated path prefixes the faults apply to, e.g. `paths=/rest|/incidents`).

PagerDuty's REST rate limit (`pd_rate_limit=N`, per `pd_rate_period` seconds, default 60; off
unless set): PagerDuty allows 960 requests a minute per API key and answers more with 429,
`{"error": {"message": "Rate Limit Exceeded", "code": 2020}}` and the `ratelimit-limit`,
`ratelimit-remaining` and `ratelimit-reset` headers ("REST API Rate Limits",
https://support.pagerduty.com/docs/rest-api-rate-limits). The sandbox counts the requests of each
token (the `Authorization` header) over a sliding window of `pd_rate_period` seconds, at arrival,
before any other fault or latency; a refused request does not count. It applies to the REST
paths only (not Jira, not `/v2/` Events), whatever `paths` says, and a refusal is counted in
`injected["rate_limit"]`, so a test can prove a client never caused one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, fields, replace
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .responses import JIRA_JSON, PD_JSON, dumps


@dataclass(frozen=True, slots=True)
class FaultRule:
    """When one fault kind fires: with `probability`, on every `every`-th request, or on the
    first `first` requests (a streak: how long a run of 429s does a client survive?)."""

    probability: float = 0.0
    every: int = 0
    first: int = 0

    @property
    def active(self) -> bool:
        return self.probability > 0 or self.every > 0 or self.first > 0

    def fires(self, draw: float, count: int) -> bool:
        return ((self.every > 0 and count % self.every == 0) or count <= self.first
                or draw < self.probability)

    @classmethod
    def parse(cls, text: str) -> FaultRule:
        value = text.strip()
        if value.startswith("first:"):
            first = int(value.removeprefix("first:"))
            if first < 1:
                raise ValueError(f"first:N needs N >= 1, got {value!r}")
            return cls(first=first)
        if value.startswith("every:"):
            every = int(value.removeprefix("every:"))
            if every < 1:
                raise ValueError(f"every:N needs N >= 1, got {value!r}")
            return cls(every=every)
        probability = float(value)
        if not 0 <= probability <= 1:
            raise ValueError(f"probability must be within 0..1, got {value!r}")
        return cls(probability=probability)

    def describe(self) -> str:
        if self.first:
            return f"first:{self.first}"
        return f"every:{self.every}" if self.every else f"{self.probability:g}"


_KIND_KEYS = {
    "drop": "drop",
    "429": "status_429",
    "503": "status_503",
    "502": "status_502",
    "500": "status_500",
    "html200": "html_200",
    "missing": "missing_field",
    "null": "null_field",
    "wrongtype": "wrong_type",
    "slow": "slow",
}


@dataclass(frozen=True)
class FaultConfig:
    """Which faults to inject; the default injects none."""

    drop: FaultRule = FaultRule()
    status_429: FaultRule = FaultRule()
    status_503: FaultRule = FaultRule()
    status_502: FaultRule = FaultRule()
    status_500: FaultRule = FaultRule()
    html_200: FaultRule = FaultRule()
    missing_field: FaultRule = FaultRule()
    null_field: FaultRule = FaultRule()
    wrong_type: FaultRule = FaultRule()
    slow: FaultRule = FaultRule()
    latency_ms: float = 0.0
    slow_seconds: float = 2.0
    retry_after: int = 1
    seed: int = 0
    paths: tuple[str, ...] = ()
    pd_rate_limit: int = 0
    """PagerDuty REST requests allowed per token in any `pd_rate_period` seconds; 0: no limit."""
    pd_rate_period: float = 60.0

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = part.partition("=")
            key = key.strip().lower()
            if not sep:
                raise ValueError(f"fault {part!r} needs a value (key=value)")
            if key in _KIND_KEYS:
                values[_KIND_KEYS[key]] = FaultRule.parse(value)
            elif key == "latency_ms":
                values["latency_ms"] = float(value)
            elif key in ("slow_s", "slow_seconds"):
                values["slow_seconds"] = float(value)
            elif key == "retry_after":
                values["retry_after"] = int(value)
            elif key == "seed":
                values["seed"] = int(value)
            elif key == "paths":
                values["paths"] = tuple(p for p in value.split("|") if p)
            elif key == "pd_rate_limit":
                values["pd_rate_limit"] = int(value)
                if values["pd_rate_limit"] < 0:
                    raise ValueError(f"pd_rate_limit must be 0 (off) or more, got {value!r}")
            elif key == "pd_rate_period":
                values["pd_rate_period"] = float(value)
                if not values["pd_rate_period"] > 0:
                    raise ValueError(f"pd_rate_period must be positive seconds, got {value!r}")
            else:
                known = ", ".join(
                    [*_KIND_KEYS, "latency_ms", "slow_s", "retry_after", "seed", "paths",
                     "pd_rate_limit", "pd_rate_period"]
                )
                raise ValueError(f"unknown fault {key!r}; known: {known}")
        return cls(**values)

    def rules(self) -> list[tuple[str, FaultRule]]:
        return [(kind, getattr(self, attr)) for kind, attr in _KIND_KEYS.items()]

    def describe(self) -> str:
        parts = [f"{kind}={rule.describe()}" for kind, rule in self.rules() if rule.active]
        defaults = FaultConfig()
        for name in ("latency_ms", "slow_seconds", "retry_after", "seed", "pd_rate_limit",
                     "pd_rate_period"):
            if getattr(self, name) != getattr(defaults, name):
                parts.append(f"{name}={getattr(self, name)}")
        if self.paths:
            parts.append("paths=" + "|".join(self.paths))
        return ",".join(parts) or "none"

    def with_(self, **changes: Any) -> FaultConfig:
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in changes.items() if k in known})


def _vendor(path: str) -> str:
    if path.startswith("/rest/"):
        return "jira"
    if path.startswith("/v2/"):
        return "events"
    return "pagerduty"


class FaultInjector:
    """The middleware. `configure` swaps the config (and resets counters) at any time."""

    def __init__(self, app: ASGIApp, config: FaultConfig | None = None) -> None:
        self.app = app
        self.configure(config)

    def configure(self, config: FaultConfig | None) -> None:
        """Swap the config; the request counter, the generator and `injected` start afresh."""
        self.config = config
        self.rng = random.Random(config.seed if config else 0)
        self.count = 0
        self.injected: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()  # "METHOD /path", every HTTP request served
        self.rate_windows: dict[str, deque[float]] = {}  # token digest -> arrival times
        # monotonic seconds (benchmarks): each route's first arrival, the last response's end
        self.first_at: dict[str, float] = {}  # "METHOD /path" -> its first request's arrival
        self.last_response_at: float | None = None

    def _choose(self, config: FaultConfig) -> str | None:
        self.count += 1
        chosen: str | None = None
        for kind, rule in config.rules():
            draw = self.rng.random()  # one draw per kind per request keeps runs reproducible
            if chosen is None and rule.active and rule.fires(draw, self.count):
                chosen = kind
        return chosen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = f"{scope.get('method', '')} {scope.get('path', '')}"
        self.requests[route] += 1
        self.first_at.setdefault(route, time.monotonic())
        try:
            await self._serve(scope, receive, send)
        finally:
            self.last_response_at = time.monotonic()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.config
        if config is None:
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if config.pd_rate_limit and _vendor(path) == "pagerduty":
            reset = self._over_rate(scope, config)
            if reset is not None:
                self.injected["rate_limit"] += 1
                await _send(send, *_rate_limited(config.pd_rate_limit, reset))
                return
        if config.paths and not any(path.startswith(prefix) for prefix in config.paths):
            await self.app(scope, receive, send)
            return
        kind = self._choose(config)
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.injected[kind] += 1
        vendor = _vendor(path)
        if kind == "drop":
            await _drop(send)
        elif kind == "slow":
            await asyncio.sleep(config.slow_seconds)
            await self.app(scope, receive, send)
        elif kind in ("429", "500", "502", "503", "html200"):
            await _send(send, *_canned(kind, vendor, config.retry_after))
        else:
            await self._corrupt(scope, receive, send, kind)

    def _over_rate(self, scope: Scope, config: FaultConfig) -> int | None:
        """None when this request is within its token's limit (and it is counted), else the
        whole seconds until the oldest counted request leaves the window (`ratelimit-reset`).

        The event loop runs one request at a time here, so no lock is needed."""
        authorization = b""
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                authorization = value
        token = hashlib.sha256(authorization).hexdigest()
        now = time.monotonic()
        arrivals = self.rate_windows.setdefault(token, deque())
        while arrivals and arrivals[0] <= now - config.pd_rate_period:
            arrivals.popleft()
        if len(arrivals) >= config.pd_rate_limit:
            return max(1, math.ceil(arrivals[0] + config.pd_rate_period - now))
        arrivals.append(now)
        return None

    async def _corrupt(self, scope: Scope, receive: Receive, send: Send, kind: str) -> None:
        """Serve the real response with one field of the first listed object removed or nulled."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if start is None:
            return
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        note = "untouched"
        if start["status"] == 200:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            if isinstance(payload, dict):
                note = _damage(payload, self.rng, kind)
                body = dumps(payload)
        headers += [
            (b"content-length", str(len(body)).encode()),
            (b"x-sandbox-fault", f"{kind} {note}".encode()),
        ]
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _damage(payload: dict[str, Any], rng: random.Random, kind: str) -> str:
    """Drop (`missing`), null (`null`) or swap for a value of another type (`wrongtype`: an
    object becomes a string, a string an object, a number text, a list of objects a list of
    strings) one key of the first object in the response's list; for a Jira issue, one of its
    `fields`. Returns where, for the `X-Sandbox-Fault` header."""
    target: dict[str, Any] = payload
    where = ""
    for key, value in payload.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            target, where = value[0], f"{key}[0]"
            if isinstance(target.get("fields"), dict) and target["fields"]:
                target, where = target["fields"], f"{where}.fields"
            break
    names = sorted(target)
    if not names:
        return "empty"
    name = names[rng.randrange(len(names))]
    if kind == "missing":
        del target[name]
    elif kind == "wrongtype":
        target[name] = _other_type(target[name])
    else:
        target[name] = None
    return f"{where}.{name}".lstrip(".")


def _other_type(value: Any) -> Any:
    """A value of a type the client does not expect in that place (a poison record)."""
    if isinstance(value, dict):
        return "not-an-object"
    if isinstance(value, list):
        return ["not-an-object"] if value else "not-a-list"
    if isinstance(value, bool) or value is None:
        return {"unexpected": value}
    if isinstance(value, int | float):
        return f"n/a-{value}"
    return {"unexpected": value}


def _canned(
    kind: str, vendor: str, retry_after: int
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers: list[tuple[bytes, bytes]] = [(b"x-sandbox-fault", kind.encode())]
    if kind == "html200":
        page = (
            "<!DOCTYPE html><html><head><title>Service unavailable</title></head><body>"
            "<h1>We're having trouble</h1><p>The service is temporarily unavailable. Please "
            "try again later.</p>"
            "</body></html>"
        )
        return 200, headers + [(b"content-type", b"text/html;charset=UTF-8")], page.encode()
    if kind == "502":
        page = (
            "<html><head><title>502 Bad Gateway</title></head>"
            "<body><center><h1>502 Bad Gateway</h1></center></body></html>"
        )
        return 502, headers + [(b"content-type", b"text/html")], page.encode()
    status = int(kind)
    if status in (429, 503):
        headers.append((b"retry-after", str(retry_after).encode()))
    if vendor == "jira":
        headers.append((b"content-type", JIRA_JSON.encode()))
        if status == 429:
            reset = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() + retry_after))
            headers += [
                (b"x-ratelimit-limit", b"100"),
                (b"x-ratelimit-remaining", b"0"),
                (b"x-ratelimit-reset", reset.encode()),
                (b"ratelimit-reason", b"jira-burst-based"),
            ]
        message = {
            429: "Rate limit exceeded.",
            500: "Internal server error",
            503: "Service Unavailable",
        }[status]
        return status, headers, dumps({"errorMessages": [message], "errors": {}})
    if vendor == "events":
        headers.append((b"content-type", b"application/json"))
        texts = {
            429: (
                "throttle event",
                "Requests for this service are arriving too quickly. Please retry later.",
            ),
            500: ("error", "Internal server error"),
            503: ("error", "Service unavailable"),
        }
        state, message = texts[status]
        return status, headers, dumps({"status": state, "message": message})
    headers.append((b"content-type", PD_JSON.encode()))
    if status == 429:
        headers += [
            (b"ratelimit-limit", b"960"),
            (b"ratelimit-remaining", b"0"),
            (b"ratelimit-reset", str(retry_after).encode()),
        ]
    message = {429: "Rate Limit Exceeded", 500: "Internal Error", 503: "Service Unavailable"}[
        status
    ]
    code = {429: 2020, 500: 2000, 503: 2000}[status]
    return status, headers, dumps({"error": {"message": message, "code": code}})


def _rate_limited(limit: int, reset: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """PagerDuty's 429 for a token over its rate: its error body and `ratelimit-*` headers."""
    headers = [
        (b"x-sandbox-fault", b"rate_limit"),
        (b"content-type", PD_JSON.encode()),
        (b"ratelimit-limit", str(limit).encode()),
        (b"ratelimit-remaining", b"0"),
        (b"ratelimit-reset", str(reset).encode()),
    ]
    body = dumps({"error": {"message": "Rate Limit Exceeded", "code": 2020}})
    return 429, headers, body


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = headers + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Close the connection without a byte of response.

    Uvicorn's `send` is a bound method of its request cycle, which holds the transport: aborting
    it resets the socket, and waiting for `connection_lost` to mark the cycle disconnected stops
    uvicorn from answering 500 afterwards. Without a transport (another server), start a response
    and break off inside the body instead.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("sandbox fault: dropped connection")
    transport.abort()
    for _ in range(200):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)
