"""Response helpers shared by both APIs: compact JSON with each vendor's media type, and a
`Server-Timing` header carrying the handler's own time (benchmarks read it)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

JIRA_JSON = "application/json;charset=UTF-8"
PD_JSON = "application/json; charset=utf-8"

Endpoint = Callable[[Request], Awaitable[Response]]


def _fast_dumps() -> Callable[[Any], bytes] | None:
    """orjson when it is importable (Prefect already installs it): ten times faster on a page
    of issues with changelogs; the standard library otherwise."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return orjson.dumps


_FAST_DUMPS = _fast_dumps()


def dumps(payload: Any) -> bytes:
    if _FAST_DUMPS is not None:
        return _FAST_DUMPS(payload)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    payload: Any,
    status: int = 200,
    *,
    media_type: str = JIRA_JSON,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(dumps(payload), status_code=status, media_type=media_type, headers=headers)


def timed(endpoint: Endpoint) -> Endpoint:
    """Add `Server-Timing: app;dur=<ms>` measured around the handler."""

    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        started = time.perf_counter()
        response = await endpoint(request)
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.3f}"
        return response

    return wrapper


def query_list(request: Request, name: str) -> list[str]:
    """A repeatable, comma-separated query parameter (`fields=a,b&fields=c`)."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out.extend(part.strip() for part in raw.split(",") if part.strip())
    return out
