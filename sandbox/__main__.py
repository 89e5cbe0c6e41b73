"""`python -m sandbox`: run the sandbox in the foreground and print its URLs and credentials.

    python -m sandbox --port 8443 --seed 7
    python -m sandbox --scale --issues 100000 --incidents 50000
    python -m sandbox --faults 429=0.1,500=0.05,drop=0.02,latency_ms=20,html200=0.01
    python -m sandbox --planted        # list the demo's planted cases and exit

The `KEY=value` lines it prints can be fed to the worker's environment as they are.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .faults import FaultConfig
from .server import SandboxConfig, Server, build_world, create_app, credentials
from .timefmt import from_ms, zone


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--scale", action="store_true", help="serve the scale world instead of the demo"
    )
    parser.add_argument(
        "--issues", type=int, default=None, help="scale mode: number of Jira issues"
    )
    parser.add_argument(
        "--incidents", type=int, default=None, help="scale mode: number of incidents"
    )
    parser.add_argument(
        "--faults", default="", help="e.g. 429=0.1,500=0.05,drop=0.02,latency_ms=20"
    )
    parser.add_argument(
        "--data-center", action="store_true",
        help="be Jira Data Center: REST v2 with Data Center shapes, /rest/api/3 answers 404",
    )
    parser.add_argument(
        "--tls-dir", type=Path, default=None, help="where to write the CA (default: temp dir)"
    )
    parser.add_argument("--registry", type=Path, default=None, help="registry for the demo world")
    parser.add_argument(
        "--planted", action="store_true", help="print the demo's planted cases and exit"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scale = args.scale or args.issues is not None or args.incidents is not None
    try:
        faults = FaultConfig.parse(args.faults) if args.faults else None
    except ValueError as error:
        print(f"--faults: {error}", file=sys.stderr)
        return 2
    config = SandboxConfig(
        seed=args.seed,
        mode="scale" if scale else "demo",
        issues=args.issues if args.issues is not None else 100_000,
        incidents=args.incidents if args.incidents is not None else 50_000,
        faults=faults,
        data_center=args.data_center,
        host=args.host,
        port=args.port,
        registry_path=args.registry,
        tls_dir=args.tls_dir,
    )
    started = time.perf_counter()
    world = build_world(config)
    built = time.perf_counter() - started
    # The world lives as long as the process: keep the cyclic GC from walking its millions of
    # objects (a full collection would stall a response for most of a second).
    gc.collect()
    gc.freeze()
    if args.planted:
        berlin = zone("Europe/Berlin")
        for case in world.planted.values():
            when = from_ms(case.at, berlin).strftime("%Y-%m-%d %H:%M")
            print(f"{case.name}\t{case.item}\t{when}\t{case.expected}")
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(world, config)
    try:
        server = Server(app, config)
    except OSError as error:
        print(f"cannot bind {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    print(
        f"Accountability sandbox ({config.mode}, seed {config.seed}): {world.summary()}; built "
        f"in {built:.2f} s"
    )
    for key, value in credentials(server.base_url, server.tls.ca_path).items():
        print(f"{key}={value}")
    print(f"# Events API v2: {server.base_url}/v2/enqueue (any 32-character routing key)")
    print(f"# faults: {faults.describe() if faults else 'none'}; data center: {config.data_center}")
    print("# Ctrl+C to stop", flush=True)
    # uvicorn re-raises the signal that stopped it once it has shut down; end quietly instead.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    print("# stopped", flush=True)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
