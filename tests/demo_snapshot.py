"""The demo's database as text, to show a refactoring changed nothing a user can see.

    python -m tests.demo_snapshot before.jsonl     # on the old code
    python -m tests.demo_snapshot after.jsonl      # on the new code
    diff before.jsonl after.jsonl                  # no output: identical row for row

The demo runs in a child process whose wall clock is frozen (libfaketime, `FROZEN`), so the
rows a run stamps with "now" (sync stamps, the registry snapshot) are the same on every run;
every row of every table is then written as sorted JSON, one per line, lines sorted. What two
runs of the same code legitimately differ in is left out or normalized: surrogate row ids
(their order follows the sync threads' interleaving; nothing refers to them), values random by
design (`RANDOM_COLUMNS`: retry jitter, claim tokens, Message-IDs), and the sandbox's port in
stored API payloads.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.clock import preload_env

FROZEN = "2026-12-04 10:00:00"  # libfaketime: an absolute time without "@" stands still
SURROGATE_IDS = {"registry_snapshots", "ownership_events", "decisions", "alert_outbox",
                 "quarantine"}
RANDOM_COLUMNS: dict[str, set[str]] = {
    "alert_outbox": {"claimed_by", "provider_id", "next_attempt_at"},
    "digest_sends": {"message_id"},
}
LOOPBACK = re.compile(r"127\.0\.0\.1:\d+")


def dump(database: Path) -> list[str]:
    """Every row of every table (but Alembic's version), as sorted JSON, table by table."""
    lines: list[str] = []
    with sqlite3.connect(database) as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            left_out = RANDOM_COLUMNS.get(table, set()) | (
                {"id"} if table in SURROGATE_IDS else set())
            for values in db.execute(f'SELECT * FROM "{table}"'):
                row = {c: v for c, v in zip(columns, values, strict=True) if c not in left_out}
                text = json.dumps({"table": table, **row}, sort_keys=True, default=str)
                lines.append(LOOPBACK.sub("127.0.0.1:PORT", text))
    return sorted(lines)


def main(target: Path) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "demo"
        env = os.environ | preload_env() | {"FAKETIME": FROZEN}
        subprocess.run([sys.executable, "-m", "accountability.cli", "demo", "--out", str(out)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        lines = dump(out / "accountability.db")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} rows written to {target}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.demo_snapshot OUT.jsonl")
    sys.exit(main(Path(sys.argv[1])))
