"""How fast are the web app's read pages on the 1M-event evaluation database? (target: every
page's p95 < 200 ms)

    .venv/bin/python bench/web_pages.py --workdir /tmp/evalbench_full          # 1M events
    .venv/bin/python bench/web_pages.py --items 2000 --events 10000 --requests 10  # quick

The database is `bench/baseline.py`'s: `bench/evaluate.py`'s pristine database (generated, or
reused from `--workdir` when made there with the same parameters) given one full evaluation as
of Monday 2026-11-23, kept as `evaluated.db` and reused; migrated to head first (the web
indexes of migration 0012 included). The registry is the example registry with a reset of
`support` (`bench/reset.py`'s copy), so the reset page shows a running tracker.

The pages are served by uvicorn in a child process on a loopback port (one worker, as
`accountability serve` runs) with the clock pinned to 2026-11-23 08:00 Berlin, and requested
over real HTTP with httpx from this process: first each page once (the *cold* request: the
registry parsed, a chart drawn for the first time), then `--requests` rounds in which every
page is requested once, interleaved so each page sees the same load. Reported per page: the
cold request, p50 and p95 (nearest rank) of the rounds, and the response size. The sign-in
middleware of `accountability.web.app` is not in front of them: a fixed person (`dana`, in
leadership, so the decision links are drawn) is set by a middleware of its own.
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench import baseline as bl  # noqa: E402
from bench import evaluate as ev  # noqa: E402

TARGET_MS = 200.0
PERSON = "dana"
WEEK = "2026-W47"  # the data's last finished week


def pages(finding_key: str) -> dict[str, str]:
    """Label → path: every page, the findings page filtered each way and paged deep."""
    return {
        "overview": "/",
        "scorecard": "/workflows/support",
        "scorecard, a past week": "/workflows/support?week=2026-W40",
        "trend chart (PNG)": "/workflows/support/trend.png",
        "escalation map": "/workflows/support/map",
        "findings": "/findings",
        "findings, page 200": "/findings?page=200",
        "findings, workflow+type+status": "/findings?workflow=support&type=unauthorized_change"
                                          "&status=open",
        "findings, workflow, page 200": "/findings?workflow=support&page=200",
        "findings, type, page 200": "/findings?type=unauthorized_change&page=200",
        "findings, rare type": "/findings?type=registry_gap",
        "findings, week": f"/findings?week={WEEK}",
        "findings, week, page 20": f"/findings?week={WEEK}&page=20",
        "findings, source": "/findings?source=pagerduty",
        "findings, person": "/findings?person=sam",
        "findings, person, page 50": "/findings?person=sam&page=50",
        "finding": f"/findings/{finding_key}",
        "risk reviews": "/reviews",
        "risk reviews, open": "/reviews?status=open",
        "digest archive": "/digests",
        "digest of a week": f"/digests/{WEEK}",
        "30-day reset": "/reset",
    }


# --- the server (child process) -----------------------------------------------------------------


def serve(url: str, registry: str, port: int) -> None:
    """uvicorn with the read pages, as the child process the measurements talk to."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.types import ASGIApp, Receive, Scope, Send

    from accountability.web import pages as web_pages
    from accountability.web.context import WebContext
    from storage.engine import make_engine, session_factory

    class Person:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                scope.setdefault("state", {})["person"] = PERSON
            await self.app(scope, receive, send)

    app = Starlette(routes=web_pages.routes(), middleware=[Middleware(Person)])
    app.state.web = WebContext(sessions=session_factory(make_engine(url)),
                               registry_path=Path(registry), clock=lambda: bl.NOW)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(url: str, registry: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", url, str(registry),
                              str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the server exited ({child.returncode})")
        try:
            httpx.get(f"{base}/reset", timeout=5)
            return child, base
        except httpx.TransportError:
            time.sleep(0.2)
    child.terminate()
    raise SystemExit("the server did not answer within 60 s")


# --- measuring ----------------------------------------------------------------------------------


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def a_finding_key(url: str) -> str:
    from sqlalchemy import select

    from storage.engine import make_engine, session_factory
    from storage.models import Finding

    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            key = session.scalar(select(Finding.key).where(Finding.type == "unauthorized_change")
                                 .order_by(Finding.at.desc()).limit(1))
    finally:
        engine.dispose()
    if key is None:
        raise SystemExit("the database has no unauthorized change")
    return key


def request(client: httpx.Client, path: str) -> tuple[float, int]:
    began = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
    return elapsed, len(response.content)


def measure(base: str, paths: dict[str, str], rounds: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {label: {"path": path, "ms": []}
                                          for label, path in paths.items()}
    with httpx.Client(base_url=base, timeout=60) as client:
        for label, path in paths.items():
            results[label]["cold_ms"], results[label]["bytes"] = request(client, path)
        for _ in range(rounds):
            for label, path in paths.items():
                results[label]["ms"].append(request(client, path)[0])
    for result in results.values():
        result["p50_ms"] = statistics.median(result["ms"])
        result["p95_ms"] = nearest_rank(result["ms"], 0.95)
        result["max_ms"] = max(result["ms"])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = bl.database_parser()
    parser.description = (__doc__ or "").splitlines()[0]
    parser.add_argument("--requests", type=int, default=40, help="rounds over every page")
    parser.add_argument("--json", help="write every request's time to this file")
    args = parser.parse_args(argv)
    url, workdir = bl.prepared_database(args, "bench-web-")
    from bench.reset import reset_registry

    registry = reset_registry(workdir)
    paths = pages(a_finding_key(url))
    child, base = start_server(url, registry)
    try:
        load_before = ev.load_average()
        results = measure(base, paths, args.requests)
        load_after = ev.load_average()
    finally:
        child.terminate()
        child.wait(timeout=30)
    print(f"machine: {ev.machine()}")
    print(f"database: {args.items:,} items, {args.events:,} events (SQLite); "
          f"{args.requests} rounds; load average {load_before} → {load_after}")
    width = max(map(len, results))
    print(f"{'page':<{width}}  {'cold':>8}  {'p50':>8}  {'p95':>8}  {'max':>8}  {'bytes':>8}")
    for label, r in results.items():
        mark = "✔" if r["p95_ms"] < TARGET_MS else "✘"
        print(f"{label:<{width}}  {r['cold_ms']:6.1f}ms  {r['p50_ms']:6.1f}ms  "
              f"{r['p95_ms']:6.1f}ms  {r['max_ms']:6.1f}ms  {r['bytes']:>8,}  {mark}")
    worst = max(r["p95_ms"] for r in results.values())
    print(f"worst p95: {worst:.1f} ms; target < {TARGET_MS:.0f} ms "
          f"{'✔' if worst < TARGET_MS else '✘'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"load": [load_before, load_after],
                                               "results": results}, indent=2) + "\n")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        os.environ.setdefault("MPLBACKEND", "Agg")
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(main())
