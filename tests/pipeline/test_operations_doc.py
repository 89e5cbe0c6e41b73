"""docs/operations.md names things the code and prefect.yaml define: the rate-limit names, the
Secret block names, the deployments. Renaming one side without the other fails here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from flows.limits import API_LIMITS
from flows.secrets import SECRET_VARIABLES, block_name

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOC.index(title)
    end = DOC.find("\n## ", start + 1)
    nested = DOC.find("\n### ", start + 1)
    ends = [e for e in (end, nested) if e != -1]
    return DOC[start:min(ends)] if ends else DOC[start:]


def test_the_documented_rate_limits_are_the_names_the_flows_take_slots_from() -> None:
    section = _section("### 3.5")
    table = set(re.findall(r"^\| \w+ \| `([\w-]+)` \|", section, flags=re.MULTILINE))
    created = re.findall(
        r"prefect global-concurrency-limit create ([\w-]+) --limit \d+ "
        r"--slot-decay-per-second (\d+(?:\.\d+)?)", section)
    assert table == set(API_LIMITS)
    assert {name for name, _ in created} == set(API_LIMITS)
    assert all(float(decay) > 0 for _, decay in created)  # without decay: not a rate limit


def test_the_sync_tasks_are_tagged_with_the_same_names() -> None:
    from accountability.sources import SOURCES
    from flows.sync import partition_task

    assert {tag for source in SOURCES for tag in partition_task(source).tags} == set(API_LIMITS)
    assert all(f"`{name}`" in _section("### 3.5") for name in API_LIMITS)


def test_the_documented_secret_blocks_are_the_names_the_flows_read() -> None:
    rows = dict(re.findall(r"^   \| `([A-Z_]+)`[^|]*\| `([\w-]+)` \|", DOC, flags=re.MULTILINE))
    assert set(SECRET_VARIABLES) <= set(rows)
    assert all(block == block_name(variable) for variable, block in rows.items())


def test_the_documented_deployments_are_those_of_prefect_yaml() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    flows_by_entrypoint = {
        "flows/run.py:run_flow": "accountability-run",
        "flows/digest.py:digest_flow": "digest",
        "flows/registry_check.py:registry_check": "registry-check",
        "flows/sync.py:sync_flow": "sync",
    }
    declared = {f"{flows_by_entrypoint[d['entrypoint']]}/{d['name']}"
                for d in config["deployments"]}
    documented = set(re.findall(r"^\| `([\w-]+/[\w-]+)` \|", _section("## 2."),
                                flags=re.MULTILINE))
    assert documented == declared


def test_the_flow_names_used_above_are_the_flows_own() -> None:
    from flows.digest import digest_flow
    from flows.registry_check import registry_check
    from flows.run import SYNC_PARTITION_DEPLOYMENT, run_flow
    from flows.sync import sync_flow

    assert [run_flow.name, digest_flow.name, registry_check.name, sync_flow.name] == [
        "accountability-run", "digest", "registry-check", "sync"]
    assert SYNC_PARTITION_DEPLOYMENT == "sync/sync-partition"


def test_the_columns_the_trust_model_names_are_the_tables_own() -> None:
    """§5 tells an auditor where each action's person, time and origin are stored."""
    from storage.models import Base

    rows = re.findall(r"^\| `(ack|close|ratify|decide)` \| `(\w+)`[^:]*: (.+) \|$",
                      _section("## 5."), flags=re.MULTILINE)
    assert {action for action, _, _ in rows} == {"ack", "close", "ratify", "decide"}
    for action, table, cells in rows:
        named = set(re.findall(r"`(\w+)`", cells))
        assert named <= set(Base.metadata.tables[table].c.keys()), action
        for origin in ("os_user", "host", "flow_run_id"):
            assert any(name.endswith(origin) for name in named), (action, origin)
