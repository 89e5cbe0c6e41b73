"""How fast is the sandbox? Generation time of the scale world and page latencies.

    .venv/bin/python bench/sandbox_speed.py                       # 100,000 issues, 50,000 incidents
    .venv/bin/python bench/sandbox_speed.py --issues 20000 --incidents 10000 --pages 100 --runs 3

The sandbox runs as a subprocess (`python -m sandbox --scale ...`), as benchmarks use it, so the
client below does not share its interpreter. For each run the script pages through
`/rest/api/3/search/jql` (100 issues a page, with the fields a connector asks for) following
`nextPageToken`, and also times PagerDuty incident and log-entry pages and a bulk changelog call.
It reports the median / p90 / max of the client round trip over loopback HTTPS (keep-alive) and
of the handler time the server reports in `Server-Timing`.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ",".join(
    ("summary", "status", "assignee", "reporter", "project", "labels", "created", "updated")
    + ("issuetype", "resolutiondate", "priority")
)


def start_sandbox(
    issues: int, incidents: int, seed: int
) -> tuple[subprocess.Popen[str], dict[str, str], float]:
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "--scale",
        "--issues",
        str(issues),
        "--incidents",
        str(incidents),
        "--seed",
        str(seed),
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    env: dict[str, str] = {}
    built = float("nan")
    for line in process.stdout:
        match = re.search(r"built in ([\d.]+) s", line)
        if match:
            built = float(match.group(1))
        if line.startswith("# Ctrl+C"):
            break
        if "=" in line and not line.startswith("#"):
            key, value = line.strip().split("=", 1)
            env[key] = value
    if "JIRA_URL" not in env:
        process.kill()
        raise SystemExit("the sandbox did not start")
    return process, env, built


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(name: str, client_ms: list[float], server_ms: list[float]) -> None:
    def line(label: str, values: list[float]) -> str:
        return (
            f"{label} median {statistics.median(values):6.2f} ms  "
            f"p90 {percentile(values, 0.9):6.2f} ms  max {max(values):6.2f} ms"
        )

    print(f"{name}  (n={len(client_ms)})")
    print("  " + line("round trip", client_ms))
    print("  " + line("handler   ", server_ms))


def timed(
    client: httpx.Client,
    call: Callable[[], httpx.Response],
    client_ms: list[float],
    server_ms: list[float],
) -> httpx.Response:
    started = time.perf_counter()
    response = call()
    response.read()
    client_ms.append((time.perf_counter() - started) * 1000)
    response.raise_for_status()
    server_ms.append(float(response.headers["server-timing"].split("dur=")[1]))
    return response


def bench_search(client: httpx.Client, pages: int, runs: int) -> None:
    client_ms: list[float] = []
    server_ms: list[float] = []
    starts = [
        0,
        1_778_000_000_000,
        1_785_000_000_000,
    ]  # whole range, mid-June, early September 2026
    for run in range(runs):
        since = starts[run % len(starts)]
        jql = f"project in (SUP, REN, ONB, OPS, FIN) AND updated >= {since} ORDER BY updated ASC"
        token: str | None = None
        for _ in range(pages):
            params: dict[str, str | int] = {
                "jql": jql,
                "fields": FIELDS,
                "maxResults": 100,
                **({"nextPageToken": token} if token else {}),
            }
            body = timed(
                client,
                partial(client.get, "/rest/api/3/search/jql", params=params),
                client_ms,
                server_ms,
            ).json()
            assert len(body["issues"]) == 100 or body["isLast"]
            if body["isLast"]:
                break
            token = body["nextPageToken"]
    report(
        f"Jira search/jql, 100 issues/page, {len(FIELDS.split(','))} fields", client_ms, server_ms
    )

    client_ms, server_ms = [], []
    for run in range(runs):
        jql = f"project = SUP AND updated >= {starts[run % len(starts)]} ORDER BY updated ASC"
        params = {
            "jql": jql,
            "fields": "summary,updated",
            "expand": "changelog",
            "maxResults": 100,
        }
        for _ in range(max(pages // 5, 5)):
            timed(
                client,
                partial(client.get, "/rest/api/3/search/jql", params=params),
                client_ms,
                server_ms,
            )
    report("Jira search/jql, 100 issues/page, expand=changelog", client_ms, server_ms)


def bench_bulk(client: httpx.Client, runs: int) -> None:
    client_ms: list[float] = []
    server_ms: list[float] = []
    for run in range(runs * 5):
        ids = [str(10_000 + run * 1000 + n) for n in range(1000)]
        body = {"issueIdsOrKeys": ids, "fieldIds": ["assignee", "status"], "maxResults": 1000}
        timed(
            client,
            partial(client.post, "/rest/api/3/changelog/bulkfetch", json=body),
            client_ms,
            server_ms,
        )
    report("Jira changelog/bulkfetch, 1000 issues, 1000 histories/page", client_ms, server_ms)


def bench_pagerduty(client: httpx.Client, pages: int, runs: int) -> None:
    for path in ("/incidents", "/log_entries"):
        client_ms: list[float] = []
        server_ms: list[float] = []
        for run in range(runs):
            for page in range(min(pages, 99)):
                params: dict[str, str | int] = {
                    "since": "2026-06-01T00:00:00Z",
                    "until": "2026-11-23T00:00:00Z",
                    "limit": 100,
                    "offset": (page + run * 7) * 100 % 9_900,
                }
                timed(
                    client,
                    partial(client.get, path, params=params),
                    client_ms,
                    server_ms,
                )
        report(f"PagerDuty {path}, 100/page", client_ms, server_ms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pages", type=int, default=100, help="pages per run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    print(
        f"machine: {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, {platform.system()}"
    )
    process, env, built = start_sandbox(args.issues, args.incidents, args.seed)
    try:
        print(f"generation: {args.issues:,} issues + {args.incidents:,} incidents in {built:.2f} s")
        context = ssl.create_default_context(cafile=env["ACCOUNTABILITY_CA_BUNDLE"])
        with httpx.Client(
            base_url=env["JIRA_URL"],
            verify=context,
            auth=(env["JIRA_EMAIL"], env["JIRA_API_TOKEN"]),
            timeout=30,
        ) as jira:
            jira.get("/rest/api/3/myself").raise_for_status()  # handshake outside the timings
            bench_search(jira, args.pages, args.runs)
            bench_bulk(jira, args.runs)
        headers = {"Authorization": f"Token token={env['PAGERDUTY_API_TOKEN']}"}
        with httpx.Client(
            base_url=env["PAGERDUTY_API_URL"], verify=context, headers=headers, timeout=30
        ) as pd:
            pd.get("/users").raise_for_status()
            bench_pagerduty(pd, args.pages, args.runs)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
