"""The whole pipeline (sync → evaluate) against the sandbox as Jira Cloud and as Jira Data
Center: the same company gives the same findings, whichever dialect carried it (issue 14 items
2 and 5). The Data Center registry names people by username, as a Data Center site knows them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.registry_file import load_registry_file
from accountability.sources import jira as jira_sync
from accountability.sources import pagerduty as pd_sync
from accountability.usecases import evaluate
from connectors.jira import JiraClient
from connectors.pagerduty import PagerDutyClient
from rules.registry import LoadedRegistry
from sandbox import Sandbox, SandboxConfig, build_world, serve_sandbox
from sandbox.jira_dc import dc_usernames
from storage import evaluations as store
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
START = datetime(2026, 9, 1, tzinfo=UTC)
WORLD = build_world(SandboxConfig(seed=7, mode="demo"))
Verdict = tuple[str, str | None, str | None, str | None, str]


def data_center_registry(tmp: Path) -> LoadedRegistry:
    """examples/registry.yaml with every Jira account id replaced by its Data Center username."""
    text = (ROOT / "examples" / "registry.yaml").read_text()
    names = dc_usernames(WORLD)
    replaced = 0
    for account_id, username in names.items():
        if account_id in text:
            text = text.replace(account_id, username)
            replaced += 1
    assert replaced >= 3, "the example registry names Jira users by account id"
    path = tmp / "registry-dc.yaml"
    path.write_text(text)
    return load_registry_file(path)


def pipeline(tmp: Path, sb: Sandbox, loaded: LoadedRegistry, *, pat: bool) -> list[Verdict]:
    """Sync every partition with a client that detects the deployment itself, then evaluate;
    the verdicts, with Jira identities translated back to Cloud account ids."""
    url = f"sqlite:///{tmp / 'pipeline.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory: sessionmaker[Session] = session_factory(engine)
    creds = sb.credentials
    auth = ({"pat": SecretStr(creds["JIRA_PAT"])} if pat else
            {"email": creds["JIRA_EMAIL"], "api_token": SecretStr(creds["JIRA_API_TOKEN"])})
    jira = JiraClient(creds["JIRA_URL"], ca_bundle=sb.ca_path, **auth)  # type: ignore[arg-type]
    pd = PagerDutyClient(SecretStr(creds["PAGERDUTY_API_TOKEN"]),
                         base_url=creds["PAGERDUTY_API_URL"], ca_bundle=sb.ca_path)
    with jira, pd:
        jira_sync.preflight_jira(jira)
        for partition in jira_sync.jira_partitions(loaded.registry):
            jira_sync.sync_jira_partition(factory, jira, partition, start=START, now=NOW)
        pd_sync.sync_pagerduty(factory, pd, pd_sync.pagerduty_services(loaded.registry),
                               start=START, now=NOW)
        cloud = jira.deployment().cloud
        endpoints = set(jira.stats.by_endpoint())
    assert cloud is not pat
    if pat:  # Data Center: v2 only, whole histories embedded in the search pages
        assert all("/rest/api/3/" not in e for e in endpoints), endpoints
        assert "POST /rest/api/2/search" in endpoints
    else:  # Cloud: id-only search, then the issues and their changelogs in bulk
        assert {"POST /rest/api/3/changelog/bulkfetch",
                "POST /rest/api/3/issue/bulkfetch"} <= endpoints
    evaluate.evaluate(factory, loaded, now=NOW, jira_browse_base="https://acme.example")
    back = {f"jira:{name}": f"jira:{account}" for account, name in dc_usernames(WORLD).items()}
    with factory() as session:
        rows = store.list_findings(session, include_authorized=True)
        verdicts = sorted(
            (r.type, r.workflow, r.item, back.get(r.actor or "", r.actor), r.reason)
            for r in rows
        )
    engine.dispose()
    return verdicts


@pytest.fixture(scope="module")
def cloud_verdicts(tmp_path_factory: pytest.TempPathFactory) -> list[Verdict]:
    loaded = load_registry_file(ROOT / "examples" / "registry.yaml")
    with serve_sandbox(SandboxConfig(seed=7, mode="demo"), world=WORLD) as sb:
        return pipeline(tmp_path_factory.mktemp("cloud"), sb, loaded, pat=False)


@pytest.fixture(scope="module")
def dc_verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Verdict]]:
    tmp = tmp_path_factory.mktemp("dc")
    loaded = data_center_registry(tmp)
    with serve_sandbox(SandboxConfig(seed=7, mode="demo", data_center=True), world=WORLD) as sb:
        yield pipeline(tmp, sb, loaded, pat=True)


def test_cloud_pipeline_judges_the_demo(cloud_verdicts: list[Verdict]) -> None:
    kinds = {v[0] for v in cloud_verdicts}
    assert {"authorized_change", "unauthorized_change"} <= kinds


def test_data_center_pipeline_gives_the_same_verdicts_as_cloud(
    cloud_verdicts: list[Verdict], dc_verdicts: list[Verdict]
) -> None:
    """Usernames in, usernames out: after translating them back, every finding is the same
    (type, workflow, item, actor, reason) as on Cloud."""
    names = dc_usernames(WORLD)

    def neutral(reason: str) -> str:
        for account, name in names.items():
            reason = reason.replace(account, name)
        return reason

    assert len(dc_verdicts) == len(cloud_verdicts) > 0
    assert [(*v[:4], neutral(v[4])) for v in dc_verdicts] == \
        [(*v[:4], neutral(v[4])) for v in cloud_verdicts]
