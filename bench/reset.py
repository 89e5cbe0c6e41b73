"""How fast is `accountability reset` on the 1M-event evaluation database? (SPEC §12: < 2 s)

    .venv/bin/python bench/reset.py --items 200000 --events 1000000 --runs 7 \
        --workdir /tmp/evalbench_full

The same database as `bench/baseline.py` (`bench/evaluate.py`'s pristine database given one
full evaluation as of Monday 2026-11-23, kept in `--workdir` as `evaluated.db` and reused),
and a copy of the example registry with a reset block for the bench world's `support`
workflow, `reset: {workflow: support, started: 2026-11-02}` (a Monday: week 1 is 2026-W45, two
weeks before the data's last week, W47; on the pinned day, 2026-11-23, the reset is in its
week 4, so every item of the checklist is due or current). Then, per run, interleaved so each
sees the same load:

* **reset, cli**: `accountability reset support --registry FILE` as a user runs it (the table),
  in a fresh process, its clock pinned to Monday 2026-11-23 08:00 Berlin by libfaketime;
* **reset --json, cli**: the same with `--json` (its output is checked: 10 lines, week 4);
* **baseline, cli**: `accountability baseline support --json --patch FILE`, as
  `bench/baseline.py` runs it;
* **startup**: `accountability --help`, what every command pays before it does anything;
* **reset, in-process**: `usecases.reset.tracker` plus its JSON, from opening the database (its
  migration check included) to the lines, on the same pinned clock.

Prints the median (min – max) of each.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from accountability.config.registry_file import load_registry_file  # noqa: E402
from accountability.usecases import databases  # noqa: E402
from accountability.usecases import reset as usecase  # noqa: E402
from bench import baseline as bl  # noqa: E402
from bench import evaluate as ev  # noqa: E402

WORKFLOW = "support"
STARTED = "2026-11-02"  # Monday of 2026-W45; the data's last week is W47, NOW is W48's Monday
NOW = bl.NOW


def reset_registry(workdir: Path) -> Path:
    """The example registry with a `reset:` block appended (every other byte unchanged)."""
    text = ev.REGISTRY.read_text()
    if not text.endswith("\n"):
        text += "\n"
    path = workdir / "registry.reset.yaml"
    path.write_text(text + f"\nreset: {{workflow: {WORKFLOW}, started: {STARTED}}}\n")
    load_registry_file(path)  # validates: a typo here should fail before any timing
    return path


def _env(url: str) -> dict[str, str]:
    from tests.clock import pinned_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTABILITY_")}
    return env | pinned_env(NOW) | {"ACCOUNTABILITY_DATABASE_URL": url}


def reset_cli_run(url: str, registry: Path, as_json: bool) -> tuple[float, str]:
    command = [bl.SCRIPT, "reset", WORKFLOW, "--registry", str(registry)]
    if as_json:
        command.append("--json")
    began = time.perf_counter()
    done = subprocess.run(command, env=_env(url), cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"reset failed ({done.returncode}): {done.stderr}")
    return wall, done.stdout


def reset_in_process_run(url: str, registry: Path) -> tuple[float, dict[str, Any]]:
    loaded = load_registry_file(registry)
    began = time.perf_counter()
    with databases.open_database(url) as factory, factory() as session:
        tracker = usecase.tracker(session, loaded.registry, WORKFLOW, clock=lambda: NOW)
    result = usecase.tracker_json(tracker)
    return time.perf_counter() - began, result


def main(argv: list[str] | None = None) -> int:
    parser = bl.database_parser()
    parser.description = (__doc__ or "").splitlines()[0]
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    url, workdir = bl.prepared_database(args, "bench-reset-")
    registry = reset_registry(workdir)
    figures: dict[str, list[float]] = {
        "reset, CLI process (table)": [], "reset --json, CLI process": [],
        "baseline, CLI process": [], "accountability --help (startup only)": [],
        "reset, in-process": []}
    tracked: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    for _ in range(args.runs):
        load = ev.load_average()
        table_s, _table = reset_cli_run(url, registry, as_json=False)
        json_s, printed = reset_cli_run(url, registry, as_json=True)
        tracked = json.loads(printed)
        if tracked["week"] != 4 or len(tracked["lines"]) != 10:
            raise SystemExit(f"unexpected tracker: week {tracked['week']}, "
                             f"{len(tracked['lines'])} lines")
        baseline_s, baseline = bl.cli_run(url, workdir / "baseline.patch")
        startup_s = bl.startup_run()
        inproc_s, in_process = reset_in_process_run(url, registry)
        if in_process != tracked:
            raise SystemExit("the in-process tracker differs from the command's")
        for label, value in zip(figures, (table_s, json_s, baseline_s, startup_s, inproc_s),
                                strict=True):
            figures[label].append(value)
        print(f"  reset {table_s:.3f} s, reset --json {json_s:.3f} s, baseline "
              f"{baseline_s:.3f} s, --help {startup_s:.3f} s, reset in-process "
              f"{inproc_s:.3f} s, load {load}", file=sys.stderr)
    print(f"machine: {ev.machine()}")
    print(f"database: {args.items:,} items, {args.events:,} events; baseline "
          f"{len(baseline['weeks_with_data'])} weeks with data")
    print(f"reset: {WORKFLOW}, started {STARTED}, today {tracked['today']}, week "
          f"{tracked['week']} of 4: " + ", ".join(
              f"{status} {sum(line['status'] == status for line in tracked['lines'])}"
              for status in ("done", "open", "overdue")))
    print(f"load average: {ev.load_average()}")
    for label, values in figures.items():
        print(f"{label}: median {statistics.median(values):.3f} s "
              f"({min(values):.3f} – {max(values):.3f}), {len(values)} runs; target < 2 s "
              f"{'✔' if statistics.median(values) < 2 else '✘'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
