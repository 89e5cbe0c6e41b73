"""Side by side: `accountability sync` against the Singer taps tap-jira and tap-pagerduty.

    .venv/bin/python bench/side_by_side.py --issues 1950 --incidents 650 --latency-ms 50 --runs 3

The taps are benchmark peers, not dependencies: each is installed on demand into a virtual
environment of its own under `--taps-dir` (default /tmp/bench-taps/<tap>), only when missing.
One sandbox (the scale world, served in this process on a background thread; `latency_ms` added
to every request) serves every run; each tool runs as a whole process against it, interleaved
(run 1: accountability jira, tap-jira, accountability pagerduty, tap-pagerduty; run 2: ...):

* wall clock, CPU (user + system of the process and its children, from `os.wait4`), peak RSS
  (`ru_maxrss`);
* requests: the sandbox's own per-path counter (`Sandbox.requests`), reset before each run;
* records: the taps' Singer RECORD messages per stream on stdout; accountability's rows in a
  fresh SQLite database per run (issues, distinct changelog histories, incidents, log entries),
  against what exists in the world.

The taps force https and read the CA from `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`, set to the
sandbox's CA file. tap-pagerduty 0.3.0 hard-codes `https://api.pagerduty.com` (no base URL
setting), so both are started by a `python -c` launcher (`LAUNCH`) that sets
`PagerdutyStream.BASE_URL` and requests' default CA bundle, then calls the tap's own
`main()`: still the whole tap in its own process and interpreter. tap-jira 2.6.0 reads the
catalog from `--properties`, tap-pagerduty from `--catalog`.

The latency floor is the minimum number of *dependent* round trips at the concurrency the
product allows, times the latency, and for PagerDuty no less than its client-side rate limit
allows for the minimum number of requests (see `latency_floor`, `rate_floor` and
docs/benchmarks.md). `--tools accountability` skips the taps (their figures do not change with
our code).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (ROOT, ROOT / "bench"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sync import PD_PAGE, jira_round_trips, world_facts  # noqa: E402

from accountability.sources.base import PREFETCH_START  # noqa: E402
from accountability.sources.pagerduty import (  # noqa: E402
    INCIDENT_CHUNK,
    LOG_ENTRY_CHUNK,
    PREFETCH_BUDGET,
)
from connectors.jira import DC_MYSELF, MYSELF, SERVER_INFO  # noqa: E402
from connectors.pagerduty import (  # noqa: E402
    ESCALATION_POLICIES,
    PAGERDUTY_CONCURRENCY,
    PAGERDUTY_RATE_LIMIT,
)
from connectors.ratelimit import default_burst  # noqa: E402
from sandbox import FaultConfig, SandboxConfig, serve_sandbox  # noqa: E402

TAPS = {"jira": ("tap-jira", "2.6.0"), "pagerduty": ("tap-pagerduty", "0.3.0")}
TAP_STREAMS = {"jira": ("issues", "changelogs"), "pagerduty": ("incidents",)}
PREFLIGHT = frozenset(
    f"GET {path}" for path in (SERVER_INFO, DC_MYSELF, MYSELF, ESCALATION_POLICIES.path)
)
"""The checks `accountability sync` makes before it reads (`preflight_jira`,
`preflight_pagerduty`): the latency floor leaves them out, so the data phase does too."""
MAX_PARALLEL = 3  # pipeline.in_threads' default: partitions side by side in `accountability sync`
# tap-jira sends prepared requests with `Session.send`, which ignores REQUESTS_CA_BUNDLE, so the
# launcher also points requests' default CA bundle at the sandbox's CA; tap-pagerduty has no base
# URL setting, so it sets `Stream.BASE_URL`. Then the tap's own `main()` runs, in its own process.
LAUNCH = (
    "import os, sys, requests.adapters as a\n"
    "a.DEFAULT_CA_BUNDLE_PATH = os.environ['SSL_CERT_FILE']\n"
    "if hasattr(a, '_preloaded_ssl_context'):  # requests >= 2.32 preloads certifi's CAs\n"
    "    a._preloaded_ssl_context.load_verify_locations(os.environ['SSL_CERT_FILE'])\n"
    "source, base = sys.argv.pop(1), sys.argv.pop(1)\n"
    "if source == 'pagerduty':\n"
    "    import tap_pagerduty.streams as s; s.PagerdutyStream.BASE_URL = base\n"
    "    from tap_pagerduty import main\n"
    "else:\n"
    "    from tap_jira import main\n"
    "main()\n"
)


# --- the taps' environments and configuration --------------------------------------------------


def ensure_tap(taps_dir: Path, source: str) -> Path:
    """The tap's virtual environment, created and installed only when missing."""
    name, version = TAPS[source]
    venv = taps_dir / name
    exe = venv / "bin" / name
    if not exe.exists():
        print(f"installing {name}=={version} into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"{name}=={version}"], check=True
        )
    return venv


def tap_config(source: str, creds: dict[str, str], start: str) -> dict[str, Any]:
    if source == "jira":
        return {
            "start_date": f"{start}T00:00:00Z",
            "base_url": creds["JIRA_URL"],
            "username": creds["JIRA_EMAIL"],
            "password": creds["JIRA_API_TOKEN"],
            "user_agent": "accountability-bench",
        }
    return {
        "start_date": f"{start}T00:00:00Z",
        "token": creds["PAGERDUTY_API_TOKEN"],
        "email": "bench@acme.example",
    }


def tap_command(venv: Path, source: str, base_url: str) -> list[str]:
    return [str(venv / "bin" / "python"), "-c", LAUNCH, source, base_url]


def write_catalog(venv: Path, source: str, base_url: str, work: Path, env: dict[str, str]) -> Path:
    """`--discover`, then select the streams (and all their fields)."""
    config = work / f"{source}-config.json"
    found = subprocess.run(
        [*tap_command(venv, source, base_url), "--config", str(config), "--discover"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise RuntimeError(f"{TAPS[source][0]} --discover failed: {found.stderr[-2000:]}")
    catalog = json.loads(found.stdout)
    for stream in catalog["streams"]:
        chosen = stream["tap_stream_id"] in TAP_STREAMS[source]
        metadata = stream.setdefault("metadata", [])
        top = next((m for m in metadata if m.get("breadcrumb") == []), None)
        if top is None:
            top = {"breadcrumb": [], "metadata": {}}
            metadata.append(top)
        top["metadata"]["selected"] = chosen
        stream["selected"] = chosen  # tap-pagerduty reads the stream-level flag
    path = work / f"{source}-catalog.json"
    path.write_text(json.dumps(catalog))
    return path


# --- accountability's registry for the scale world ---------------------------------------------


def scale_registry(world: Any, work: Path) -> Path:
    """examples/registry.yaml with its workflows reading every project and service of the scale
    world (support: all projects, no label filter; the others none), so that both tools read the
    same data."""
    data = yaml.safe_load((ROOT / "examples" / "registry.yaml").read_text())
    workflows = data["workflows"]
    items = workflows.items() if isinstance(workflows, dict) else enumerate(workflows)
    for n, (_, workflow) in enumerate(items):
        sources = workflow.get("sources", workflow)
        if n == 0:
            sources["jira"] = {"projects": sorted(world.projects)}
            if "pagerduty" in sources:
                sources["pagerduty"]["services"] = sorted(world.services)
        else:
            sources.pop("jira", None)
            sources.pop("pagerduty", None)
    path = work / "registry.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --- one run of one tool -------------------------------------------------------------------------


def run_process(command: list[str], env: dict[str, str], cwd: Path, out: Path) -> dict[str, float]:
    began = time.perf_counter()
    with out.open("wb") as stdout, (cwd / "stderr.log").open("ab") as stderr:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
    ended = time.perf_counter()
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "began": began,  # perf_counter is CLOCK_MONOTONIC, the sandbox's time.monotonic()
        "ended": ended,
        "wall_s": ended - began,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "rc": process.returncode,
    }


def count_records(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with path.open() as lines:
        for line in lines:
            if line.startswith('{"type": "RECORD"') or '"type": "RECORD"' in line[:40]:
                counts[json.loads(line)["stream"]] += 1
    return counts


def count_rows(db: Path, source: str) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{db}")
    queries = {
        "jira": {
            "items": "select count(*) from jira_issues",
            "histories": "select count(distinct history_id) from jira_changelog_items",
        },
        "pagerduty": {
            "items": "select count(*) from pd_incidents",
            "histories": "select count(*) from pd_log_entries",
        },
    }[source]
    with engine.connect() as conn:
        out = {k: int(conn.execute(text(q)).scalar_one()) for k, q in queries.items()}
    engine.dispose()
    return out


def run_tool(tool: str, source: str, ctx: dict[str, Any], run: int) -> dict[str, Any]:
    sb, work = ctx["sb"], ctx["work"] / f"run{run}-{tool}-{source}"
    work.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JIRA_", "PAGERDUTY_", "ACCOUNTABILITY_"))
    }
    env.update(REQUESTS_CA_BUNDLE=str(sb.ca_path), SSL_CERT_FILE=str(sb.ca_path))
    if tool == "accountability":
        env.update(sb.credentials)
        env.pop("JIRA_PAT")
        db = work / "a.db"
        env.update(
            ACCOUNTABILITY_DATABASE_URL=f"sqlite:///{db}",
            ACCOUNTABILITY_SYNC_START=ctx["start"],
            ACCOUNTABILITY_REGISTRY=str(ctx["registry"]),
        )
        script = str(Path(sys.executable).with_name("accountability"))
        subprocess.run(
            [script, "db", "upgrade"], env=env, cwd=work, check=True, capture_output=True
        )
        command = [script, "sync", "--source", source]
        if ctx.get("profile"):
            # Where the whole process's time goes (imports included): cProfile around the CLI.
            out = Path(ctx["profile"]) / f"{source}-run{run}.prof"
            command = [sys.executable, "-m", "cProfile", "-o", str(out), "-m",
                       "accountability.cli", "sync", "--source", source]
        if ctx.get("wrap"):  # e.g. a sampling profiler: its runs' figures are not the bench's
            command = [*ctx["wrap"].replace("{source}", source).split(), *command]
    else:
        venv = ctx["venvs"][source]
        catalog_flag = "--properties" if source == "jira" else "--catalog"  # tap-jira: old flag
        command = [
            *tap_command(venv, source, sb.base_url),
            "--config",
            str(ctx["work"] / f"{source}-config.json"),
            catalog_flag,
            str(ctx["catalogs"][source]),
        ]
    sb.set_faults(FaultConfig(latency_ms=ctx["latency_ms"]))  # resets the request counter
    measured = run_process(command, env, work, work / "stdout.txt")
    requests = sum(sb.requests.values())
    measured.update(
        network_s=sb.busy_seconds,
        # start-up: process start to the first request; exit: last response to process end
        startup_s=sb.first_request_at - measured["began"] if sb.first_request_at else 0.0,
        exit_s=measured["ended"] - sb.last_response_at if sb.last_response_at else 0.0,
        data_s=sb.busy_seconds_without(PREFLIGHT),
        tool=tool,
        source=source,
        run=run,
        requests=requests,
        per_path=dict(sb.requests.most_common(8)),
    )
    if tool == "accountability":
        measured.update(count_rows(work / "a.db", source))
    else:
        records = count_records(work / "stdout.txt")
        measured["records"] = dict(records)
        if source == "jira":
            measured.update(items=records["issues"], histories=records["changelogs"])
        else:
            measured.update(
                items=records["incidents"], histories=_pd_log_entries(work / "stdout.txt")
            )
    if measured["rc"] != 0:
        tail = (work / "stderr.log").read_text(errors="replace")[-1500:]
        print(f"!! {tool} {source} run {run} exited {measured['rc']}:\n{tail}", file=sys.stderr)
    return measured


def _pd_log_entries(path: Path) -> int:
    """tap-pagerduty nests each incident's log entries in its record (`log_entries`)."""
    total = 0
    with path.open() as lines:
        for line in lines:
            if '"type": "RECORD"' in line[:40]:
                total += len(json.loads(line)["record"].get("log_entries") or [])
    return total


def freeze_world() -> None:
    """Keep this process's cycle collector off the sandbox's world from now on. The world is
    hundreds of thousands of objects, and a full collection of them stopped the sandbox for
    ~45 ms in the middle of a run (seen with `gc.callbacks`): a stall the real Jira does not
    have, that the latency floor does not count, and that fell on whichever tool was running."""
    gc.collect()
    gc.freeze()


# --- the latency floor --------------------------------------------------------------------------


def latency_floor(
    facts: dict[str, Any],
    max_parallel: int = MAX_PARALLEL,
    pd_concurrency: int = PAGERDUTY_CONCURRENCY,
) -> dict[str, int]:
    """Minimum dependent round trips of `accountability sync` per source at its concurrency.

    Jira: `sync.jira_round_trips` (one partition per project, `max_parallel` fetching at a
    time, writes taken as instant; in a partition the id search pages one after the other,
    each batch's changelog pages one after the other once its ids are in, its issue
    bulkfetches in parallel, at most `ACCOUNTABILITY_JIRA_CONCURRENCY` requests in flight).
    PagerDuty: one partition whose incident windows, then log-entry
    windows (7 days each), are fetched up to `pd_concurrency` at a time, each window's pages
    one after the other (`more`): chain of a window = max(1, ceil(records / 100)); the
    windows in flight follow `prefetch_in_order` (`prefetch_trips`); at concurrency 1 the
    floor is the sum of the chains, the old sequential floor.
    """
    incident_chains = [max(1, math.ceil(n / PD_PAGE)) for n in facts["incidents"]]
    log_chains = [max(1, math.ceil(n / PD_PAGE)) for n in facts["log_entries"]]
    pagerduty = prefetch_trips(incident_chains, facts["incidents"], pd_concurrency) + (
        prefetch_trips(log_chains, facts["log_entries"], pd_concurrency)
    )
    return {"jira": jira_round_trips(facts, max_parallel), "pagerduty": pagerduty,
            "pagerduty_requests": sum(incident_chains) + sum(log_chains)}


def prefetch_trips(chains: list[int], records: list[int], depth: int) -> int:
    """Round trips until the last of these windows is fetched, as `prefetch_in_order` runs
    them (consumed in order, the writing taken as instant): `PREFETCH_START` in flight, then
    `PREFETCH_BUDGET // ` the largest of the last three windows' records, 1..`depth`."""
    finish: list[int] = []  # trip at which each submitted window is fetched
    consumed, clock, allowed, recent = 0, 0, min(depth, PREFETCH_START), []
    while consumed < len(chains):
        # a window is submitted (and starts: the pool has `depth` threads) as a slot frees
        while len(finish) < len(chains) and len(finish) - consumed < allowed:
            finish.append(clock + chains[len(finish)])
        clock = max(clock, finish[consumed])
        recent = (recent + [max(1, records[consumed])])[-3:]
        allowed = max(1, min(depth, PREFETCH_BUDGET // max(recent)))
        consumed += 1
    return clock


def rate_floor(requests: int, per_minute: int = PAGERDUTY_RATE_LIMIT) -> float:
    """Seconds the client-side limiter needs for `requests`: a burst of `default_burst` at
    once, the rest at (per_minute - burst) / 60 a second (`connectors.ratelimit`)."""
    burst = default_burst(per_minute)
    return max(0, requests - burst) / ((per_minute - burst) / 60)


# --- orchestration -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issues", type=int, default=1950)
    parser.add_argument("--incidents", type=int, default=650)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sources", default="jira,pagerduty")
    parser.add_argument("--tools", default="accountability,tap",
                        help="accountability,tap (default) or accountability alone")
    parser.add_argument("--taps-dir", type=Path, default=Path("/tmp/bench-taps"))
    parser.add_argument("--json", type=Path, help="write every run's raw figures here")
    parser.add_argument("--profile", type=Path,
                        help="folder: run accountability under cProfile, one .prof per run "
                             "(slower: its figures are not the benchmark's)")
    parser.add_argument("--wrap", default="",
                        help="command put before accountability's, {source} replaced: e.g. "
                             "'py-spy record --gil --format raw -o /tmp/{source}.txt --' "
                             "(its figures are not the benchmark's either)")
    args = parser.parse_args(argv)
    sources = [s for s in args.sources.split(",") if s]
    tools = [t for t in ("accountability", "tap") if t in args.tools.split(",")]
    if not tools:
        parser.error("--tools: name accountability, tap or both")

    work = args.taps_dir / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    venvs = {s: ensure_tap(args.taps_dir, s) for s in sources} if "tap" in tools else {}
    config = SandboxConfig(
        mode="scale",
        issues=args.issues,
        incidents=args.incidents,
        seed=args.seed,
        tls_dir=work / "tls",
    )
    with serve_sandbox(config) as sb:
        freeze_world()
        world = sb.world
        now = world.latest_ms() + 60_000
        first = min(world.incident_index[0][0], min(i.created for i in world.issues.values()))
        facts = world_facts(
            world,
            (first // 86_400_000) * 86_400_000,
            now,
            int(INCIDENT_CHUNK.total_seconds() * 1000),
            int(LOG_ENTRY_CHUNK.total_seconds() * 1000),
        )
        existing = {
            "jira": (len(world.issues), sum(len(i.histories) for i in world.issues.values())),
            "pagerduty": (len(world.incidents), len(world.log_index)),
        }
        # every tool starts at the day of the world's first record (UTC): no empty windows
        start = datetime.fromtimestamp(first / 1000, UTC).date().isoformat()
        ctx: dict[str, Any] = {
            "sb": sb,
            "work": work,
            "latency_ms": args.latency_ms,
            "start": start,
            "venvs": venvs,
            "registry": scale_registry(world, work),
            "profile": args.profile,
            "wrap": args.wrap,
        }
        env = {
            **os.environ,
            "REQUESTS_CA_BUNDLE": str(sb.ca_path),
            "SSL_CERT_FILE": str(sb.ca_path),
        }
        ctx["catalogs"] = {}
        for s in sources if "tap" in tools else []:
            (work / f"{s}-config.json").write_text(
                json.dumps(tap_config(s, sb.credentials, ctx["start"]))
            )
            ctx["catalogs"][s] = write_catalog(venvs[s], s, sb.base_url, work, env)
        results = []
        for run in range(1, args.runs + 1):
            for source in sources:
                for tool in tools:
                    result = run_tool(tool, source, ctx, run)
                    results.append(result)
                    print(
                        f"run {run} {tool:<14} {source:<9} wall {result['wall_s']:6.2f} s  "
                        f"requests {result['requests']:>5}  items {result.get('items')}  "
                        f"histories {result.get('histories')}  {result['per_path']}",
                        file=sys.stderr,
                    )
    floor = latency_floor(facts)
    if args.json:
        args.json.write_text(
            json.dumps({"results": results, "floor": floor, "existing": existing}, indent=1)
        )
    report(results, sources, tools, existing, floor, args)
    return 0


def report(
    results: list[dict[str, Any]],
    sources: list[str],
    tools: list[str],
    existing: dict[str, Any],
    floor: dict[str, int],
    args: argparse.Namespace,
) -> None:
    print(
        f"side by side: scale world seed {args.seed}, {args.issues:,} issues, "
        f"{args.incidents:,} incidents, latency {args.latency_ms:g} ms per request, "
        f"{args.runs} runs interleaved, medians"
    )
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}, Python {platform.python_version()}"
    )
    header = (
        f"{'source':<10} {'tool':<15} {'wall s':>7} {'CPU s':>7} {'RSS MB':>7} "
        f"{'requests':>8} {'items':>11} {'histories':>13}"
    )
    print(header)
    for source in sources:
        n_items, n_hist = existing[source]
        med = {}
        for tool in tools:
            rows = [r for r in results if r["source"] == source and r["tool"] == tool]
            med[tool] = {
                k: statistics.median(r[k] for r in rows)
                for k in ("wall_s", "cpu_s", "rss_mb", "requests", "items", "histories")
            }
            m = med[tool]
            name = "accountability" if tool == "accountability" else TAPS[source][0]
            failed = sum(1 for r in rows if r["rc"] != 0)
            print(
                f"{source:<10} {name:<15} {m['wall_s']:7.2f} {m['cpu_s']:7.2f} "
                f"{m['rss_mb']:7.0f} {m['requests']:8.0f} {m['items']:>5.0f}/{n_items:<5} "
                f"{m['histories']:>6.0f}/{n_hist:<6}" + (f"  ({failed} failed)" if failed else "")
            )
        if "tap" in med and "accountability" in med:
            a, t = med["accountability"], med["tap"]
            ratios = "  ".join(
                f"{label} {t[k] / a[k]:.2f}x" if a[k] else f"{label} n/a"
                for label, k in (
                    ("wall", "wall_s"),
                    ("CPU", "cpu_s"),
                    ("RSS", "rss_mb"),
                    ("requests", "requests"),
                )
            )
            print(f"{source:<10} {'tap / ours':<15} {ratios}")
        trips = floor[source]
        latency_s = trips * args.latency_ms / 1000
        if "accountability" in tools:
            # The process's wall minus its start-up (interpreter, imports, settings, registry)
            # and exit: from the first request the sandbox saw to the last response it sent.
            rows = [r for r in results if r["source"] == source and r["tool"] == "accountability"]
            network = statistics.median(r["network_s"] for r in rows)
            floor_s = max(latency_s, rate_floor(floor["pagerduty_requests"])) if (
                source == "pagerduty") else latency_s
            print(
                f"{source:<10} accountability's network phase (first request to last response, "
                f"preflight included): {network:.2f} s = {network / floor_s:.2f}x the floor below"
            )
            data = statistics.median(r["data_s"] for r in rows)
            print(
                f"{source:<10} accountability's data phase (first data request to last response, "
                f"no preflight, as the floor counts none): {data:.2f} s = "
                f"{data / floor_s:.2f}x the floor below"
            )
            startup = statistics.median(r["startup_s"] for r in rows)
            exiting = statistics.median(r["exit_s"] for r in rows)
            print(
                f"{source:<10} accountability's start-up (process start to first request): "
                f"{startup:.2f} s; exit (last response to process end): {exiting:.2f} s"
            )
        if source == "pagerduty":
            minimum = floor["pagerduty_requests"]
            paced = rate_floor(minimum)
            print(
                f"{source:<10} floor: max({trips} dependent round trips x {args.latency_ms:g} ms "
                f"= {latency_s:.2f} s, {minimum} requests at {PAGERDUTY_RATE_LIMIT}/min "
                f"(burst {default_burst(PAGERDUTY_RATE_LIMIT)}) = {paced:.2f} s) = "
                f"{max(latency_s, paced):.2f} s (windows {PAGERDUTY_CONCURRENCY} at a time); "
                f"minimum requests {minimum}"
            )
        else:
            print(
                f"{source:<10} latency floor: {trips} dependent round trips x "
                f"{args.latency_ms:g} ms = {latency_s:.2f} s "
                f"(accountability: {MAX_PARALLEL} partitions fetching at a time)"
            )


if __name__ == "__main__":
    sys.exit(main())
