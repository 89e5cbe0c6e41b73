"""Is `registry draft` within 2x the time `sync` needs for the same data (issue 17, item 5)?

    .venv/bin/python bench/draft.py --issues 40000 --incidents 4000 --runs 3 --latency-ms 50

The sandbox's scale world (`python -m sandbox --scale`, in a process of its own so that its
work does not count in ours) spreads `--issues` over 10 projects and the 180 days before
2026-11-23 and serves every request `--latency-ms` late. Both commands read the same `--days`
window ending there, all 10 projects and the 20 services:

* **sync**: a fresh SQLite database, one partition per project then PagerDuty, one after the
  other (as `bench/sync.py` runs them), a full read of the window (`sync_jira_partition`,
  `sync_pagerduty`);
* **draft**: `accountability.usecases.draft.build_draft` over the same projects (one query) and
  services, no database.

Prints each run's seconds and the medians; `--json FILE` keeps them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from accountability.sources.jira import JiraPartition, sync_jira_partition  # noqa: E402
from accountability.sources.pagerduty import sync_pagerduty  # noqa: E402
from accountability.usecases.draft import DraftRequest, build_draft  # noqa: E402
from connectors.jira import JiraClient  # noqa: E402
from connectors.pagerduty import PagerDutyClient  # noqa: E402
from rules.draft import Period  # noqa: E402
from sandbox.generate import SCALE_PROJECTS  # noqa: E402
from storage.engine import make_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

UNTIL = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 2026-11-23 00:00 Berlin: the world's end


@contextmanager
def sandbox_process(issues: int, incidents: int, latency_ms: float) -> Iterator[dict[str, str]]:
    """`python -m sandbox --scale` with added latency; yields its credentials."""
    command = [sys.executable, "-m", "sandbox", "--scale", "--issues", str(issues),
               "--incidents", str(incidents), "--faults", f"latency_ms={latency_ms:g}"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        credentials: dict[str, str] = {}
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            if value and key.isupper():
                credentials[key] = value
            if key == "ACCOUNTABILITY_CA_BUNDLE":
                break
        if "JIRA_URL" not in credentials:
            raise RuntimeError(f"the sandbox did not start (exit {process.poll()})")
        yield credentials
    finally:
        process.terminate()
        process.wait(timeout=30)


def clients(credentials: dict[str, str]) -> tuple[JiraClient, PagerDutyClient]:
    ca = Path(credentials["ACCOUNTABILITY_CA_BUNDLE"])
    return (
        JiraClient(credentials["JIRA_URL"], email=credentials["JIRA_EMAIL"],
                   api_token=SecretStr(credentials["JIRA_API_TOKEN"]), ca_bundle=ca),
        PagerDutyClient(SecretStr(credentials["PAGERDUTY_API_TOKEN"]),
                        base_url=credentials["PAGERDUTY_API_URL"], ca_bundle=ca),
    )


def time_sync(
    credentials: dict[str, str], services: Sequence[str], period: Period
) -> dict[str, Any]:
    jira, pd = clients(credentials)
    with tempfile.TemporaryDirectory(prefix="bench-draft-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = session_factory(engine)
        began = time.perf_counter()
        issues = 0
        try:
            for project in SCALE_PROJECTS:
                partition = JiraPartition(f"bench-{project.lower()}", project, None)
                issues += sync_jira_partition(factory, jira, partition, start=period.since,
                                              now=period.until, full=True).items
            summaries = sync_pagerduty(factory, pd, services, start=period.since,
                                       now=period.until, full=True)
            seconds = time.perf_counter() - began
        finally:
            engine.dispose()
            jira.close()
            pd.close()
    incidents = next(s.items for s in summaries if s.partition == "incidents")
    return {"seconds": seconds, "issues": issues, "incidents": incidents}


def time_draft(
    credentials: dict[str, str], services: Sequence[str], period: Period
) -> dict[str, Any]:
    jira, pd = clients(credentials)
    request = DraftRequest("bench", SCALE_PROJECTS, None, tuple(services), period)
    began = time.perf_counter()
    try:
        result = build_draft(request, jira, pd)
    finally:
        jira.close()
        pd.close()
    return {"seconds": time.perf_counter() - began, "issues": result.draft.issues,
            "incidents": result.draft.incidents, "stages": len(result.draft.stages)}


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--issues", type=int, default=40_000,
                        help="issues in the scale world (180 days; ~half fall in 90 days)")
    parser.add_argument("--incidents", type=int, default=4_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    period = Period(UNTIL - timedelta(days=args.days), UNTIL)
    runs: list[dict[str, Any]] = []
    with sandbox_process(args.issues, args.incidents, args.latency_ms) as credentials:
        _, pd = clients(credentials)
        services = sorted(str(s["id"]) for s in pd.services())
        pd.close()
        for n in range(args.runs):
            sync = time_sync(credentials, services, period)
            draft = time_draft(credentials, services, period)
            runs.append({"sync": sync, "draft": draft})
            print(f"run {n + 1}: sync {sync['seconds']:.1f} s ({sync['issues']} issues, "
                  f"{sync['incidents']} incidents), draft {draft['seconds']:.1f} s "
                  f"({draft['issues']} issues, {draft['incidents']} incidents)", flush=True)
    sync_median = statistics.median(r["sync"]["seconds"] for r in runs)
    draft_median = statistics.median(r["draft"]["seconds"] for r in runs)
    print(f"world: {args.issues} issues / {args.incidents} incidents over 180 days; "
          f"window {args.days} days; latency {args.latency_ms:g} ms; {args.runs} runs")
    print(f"median sync  {sync_median:.1f} s")
    print(f"median draft {draft_median:.1f} s  ({draft_median / sync_median:.2f}x sync; "
          f"target <= 2x)")
    print(f"machine: {json.dumps(machine())}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "runs": runs, "machine": machine()}, indent=2))
    return 0 if draft_median <= 2 * sync_median else 1


if __name__ == "__main__":
    raise SystemExit(main())
