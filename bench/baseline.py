"""How fast is `accountability baseline` on the 1M-event evaluation database? (SPEC §12: < 2 s)

    .venv/bin/python bench/baseline.py --items 200000 --events 1000000 --runs 5 \
        --workdir /tmp/evalbench_full

Reuses `bench/evaluate.py`'s builder: the same pristine database (generated, or reused from
`--workdir` when it was generated there with the same parameters), copied once and given a
full evaluation (`evaluate --full` as of Monday 2026-11-23, in a child process, not measured)
— kept in `--workdir` as `evaluated.db` and reused. Then, per run:

* **cli**: the command as a user runs it, in a fresh process (interpreter start and imports
  included), `accountability baseline support --json --patch FILE`, its clock pinned to
  Monday 2026-11-23 08:00 Berlin by libfaketime so the baseline weeks are the data's;
* **startup**: `accountability --help` the same way — the interpreter and the CLI's imports,
  which every command pays, for comparison;
* **in-process**: `usecases.baseline.baseline` plus the patch text, from opening the database
  (its migration check included) to the diff, on the same pinned clock.

Prints the median (min – max) of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from accountability.config.registry_file import load_registry_file  # noqa: E402
from accountability.usecases import baseline as usecase  # noqa: E402
from accountability.usecases import databases  # noqa: E402
from bench import evaluate as ev  # noqa: E402
from storage import migrate  # noqa: E402

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 Berlin: W47 just finished
SCRIPT = str(Path(sys.executable).with_name("accountability"))


def evaluated_database(args: argparse.Namespace, workdir: Path) -> tuple[str, dict[str, Any]]:
    """The pristine database after one full evaluation, reused when made for these params."""
    loaded = load_registry_file(ev.REGISTRY)
    world = ev.compile_world(loaded.registry, args.unauthorized_share)
    dbs = ev._sqlite_databases(workdir)
    generated = ev.pristine_for(dbs, world, args, workdir)
    url = f"sqlite:///{workdir / 'evaluated.db'}"
    stamp = workdir / "evaluated.json"
    wanted = {"items": args.items, "events": args.events, "seed": args.seed,
              "unauthorized_share": args.unauthorized_share}
    if stamp.exists() and (workdir / "evaluated.db").exists() and \
            json.loads(stamp.read_text()) == wanted:
        migrate.upgrade(url)  # evaluated under an older schema: bring it up
        return url, {"generated": generated, "evaluated": "reused"}
    dbs.copy(dbs.pristine, url)
    full = ev.spawn_measure(args, url, "full", None)
    stamp.write_text(json.dumps(wanted))
    return url, {"generated": generated, "evaluated_s": full["wall_s"]}


def cli_run(url: str, patch: Path) -> tuple[float, dict[str, Any]]:
    from tests.clock import pinned_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTABILITY_")}
    env |= pinned_env(NOW) | {"ACCOUNTABILITY_DATABASE_URL": url}
    patch.unlink(missing_ok=True)
    began = time.perf_counter()
    done = subprocess.run([SCRIPT, "baseline", "support", "--registry", str(ev.REGISTRY),
                           "--json", "--patch", str(patch)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"baseline failed ({done.returncode}): {done.stderr}")
    return wall, json.loads(done.stdout)


def startup_run() -> float:
    """`accountability --help`: what any command costs before it does anything."""
    from tests.clock import pinned_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTABILITY_")}
    began = time.perf_counter()
    subprocess.run([SCRIPT, "--help"], env=env | pinned_env(NOW), cwd=ROOT,
                   capture_output=True, timeout=120, check=True)
    return time.perf_counter() - began


def in_process_run(url: str) -> float:
    loaded = load_registry_file(ev.REGISTRY)
    began = time.perf_counter()
    with databases.open_database(url) as factory:
        report = usecase.baseline(factory, loaded, "support", clock=lambda: NOW)
    usecase.patch_text(loaded, report, "examples/registry.yaml")
    return time.perf_counter() - began


def database_parser() -> argparse.ArgumentParser:
    """The options of the benchmarks that read `evaluate.py`'s evaluated database (this one,
    `reset.py`, `web_pages.py`); each adds its own."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--unauthorized-share", type=float, default=0.08)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--workdir", help="keep (and reuse) the databases here")
    return parser


def prepared_database(args: argparse.Namespace, prefix: str) -> tuple[str, Path]:
    """The evaluated SQLite database of `args` (built once, reused from `--workdir`), and the
    folder it is in."""
    args.database_url = None  # bench/evaluate's builder: SQLite
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix=prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    url, prepared = evaluated_database(args, workdir)
    print(f"database: {prepared}", file=sys.stderr)
    return url, workdir


def main(argv: list[str] | None = None) -> int:
    parser = database_parser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    url, workdir = prepared_database(args, "bench-baseline-")
    cli: list[float] = []
    inproc: list[float] = []
    startup: list[float] = []
    result: dict[str, Any] = {}
    for _ in range(args.runs):
        load = ev.load_average()
        wall, result = cli_run(url, workdir / "baseline.patch")
        cli.append(wall)
        inproc.append(in_process_run(url))
        startup.append(startup_run())
        print(f"  cli {wall:.3f} s, in-process {inproc[-1]:.3f} s, --help {startup[-1]:.3f} s, "
              f"load {load}", file=sys.stderr)
    print(f"machine: {ev.machine()}")
    print(f"database: {args.items:,} items, {args.events:,} events, "
          f"{len(result['weeks_with_data'])} baseline weeks ({result['weeks'][0]} – "
          f"{result['weeks'][-1]})")
    print(f"load average: {ev.load_average()}")
    for label, values in (("baseline, CLI process", cli), ("baseline, in-process", inproc),
                          ("accountability --help (startup only)", startup)):
        print(f"{label}: median {statistics.median(values):.3f} s "
              f"({min(values):.3f} – {max(values):.3f}), {len(values)} runs; target < 2 s "
              f"{'✔' if statistics.median(values) < 2 else '✘'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
