"""The `accountability-run` deployment of prefect.yaml, run for real (issue #8, item 2).

Everything else tests the flows in-process or with `.fn()`; only this test exercises what an
operator does: `prefect server start`, `prefect work-pool create --type process`,
`prefect --no-prompt deploy --all`, `prefect worker start`, then a run of the deployment. It
catches what in-process tests cannot: a broken pull step or entrypoint in prefect.yaml, flow
parameters the server rejects, settings that do not reach the worker's flow-run process, and
results that exist only in the test process.

The server runs with its scheduler service off, so the deployment's 10-minute interval schedule
adds no run of its own and the one run we trigger is the only one (its concurrency limit is 1
with CANCEL_NEW: a scheduled run racing ours would cancel one of them). The flow run talks to the
in-process sandbox (Jira Cloud + PagerDuty over HTTPS), a Slack stand-in and an aiosmtpd server,
all on 127.0.0.1. On failure, the assertion message carries the tails of the server and worker
logs and the flow run's warnings and errors from the API, with the sandbox's tokens masked.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from accountability.config.registry_file import load_registry_file
from accountability.usecases.databases import upgrade_database
from sandbox import ROUTING_KEY, Sandbox, SandboxConfig, serve_sandbox
from storage.engine import make_engine
from storage.models import AlertOutbox, Finding
from tests.alerts.conftest import SmtpServer, free_port
from tests.pipeline._prefect_server import (
    FINAL_STATES,
    Children,
    SlackStub,
    clean_environment,
    mask,
    run_cli,
    slack_stub,
    tail,
    wait_healthy,
)

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "examples" / "registry.yaml"
# The CLI installed with the interpreter running the tests (the project's venv in `make test`).
PREFECT = Path(sys.executable).with_name("prefect")
POOL = "accountability"
FLOW, DEPLOYMENT = "accountability-run", "accountability-run"
SERVER_TIMEOUT = 60.0  # fresh PREFECT_HOME: migrations included; ~10 s on a 2-core machine
RUN_TIMEOUT = 120.0  # the run itself takes ~15 s; the slack is for a loaded CI machine


def _missing_cli() -> str | None:
    if PREFECT.exists() and os.access(PREFECT, os.X_OK):
        return None
    return (f"the prefect CLI is not installed next to {sys.executable} (expected {PREFECT}); "
            "install the project with `make install`")


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    """The test's child processes; all stopped afterwards, pass or fail."""
    reason = _missing_cli()
    if reason is not None:
        # as for PostgreSQL (tests/conftest.py): a skip is fine locally, a failure under CI=true
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    started = Children(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
    assert started.leftovers() == [], "processes still running after the test"


class Running:
    """The sandbox, with a repr that leaves its credentials out: pytest prints the arguments of a
    failing test, and CI logs must not show tokens."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __repr__(self) -> str:
        return f"<sandbox at {self.sandbox.base_url}>"


@pytest.fixture
def sandbox() -> Iterator[Running]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield Running(sb)


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with slack_stub() as server:
        yield server


class Stopwatch:
    """Seconds per phase, so a CI log shows which part of the 3-minute budget grew."""

    def __init__(self) -> None:
        self.last = self.start = time.monotonic()
        self.laps: list[str] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps.append(f"{name} {now - self.last:.1f} s")
        self.last = now

    def __str__(self) -> str:
        return ", ".join(self.laps) + f" (total {time.monotonic() - self.start:.1f} s)"


def _busy(exc: BaseException) -> bool:
    """A busy server: 429/502/503, or no answer within the timeout (a local SQLite-backed
    server under a partitioned run, its rate-limit calls included, can stall a poll for more
    than 10 s on 2 cores). Every call retried is a read or carries an idempotency key."""
    if isinstance(exc, httpx.TimeoutException):
        return True
    return (isinstance(exc, httpx.HTTPStatusError)
            and exc.response.status_code in (429, 502, 503))


class Api:
    """The few Prefect REST calls the test needs (plain httpx: no Prefect client state, no
    settings context in the test process)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    def get(self, path: str) -> Any:
        return self._call("GET", path, None)

    @retry(retry=retry_if_exception(_busy), wait=wait_exponential(multiplier=0.5, max=4),
           stop=stop_after_attempt(6), reraise=True)
    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """As Prefect's own client does: a server whose SQLite database is busy answers 503
        (or 429/502) for a moment; those are retried."""
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def flow_runs(self) -> list[dict[str, Any]]:
        return list(self.post("/flow_runs/filter", {"limit": 200}))

    def problem_logs(self) -> list[str]:
        """Warnings and errors of every flow and task run (stack traces included)."""
        logs = self.post("/logs/filter", {"logs": {"level": {"ge_": 30}},
                                          "sort": "TIMESTAMP_ASC", "limit": 200})
        return [f"{log['timestamp']} {log['name']}: {log['message']}" for log in logs]


def test_deployed_accountability_run_completes_and_alerts_the_outcome_owners(
    tmp_path: Path, sandbox: Running, smtp: SmtpServer, slack: SlackStub, children: Children,
) -> None:
    """Deploy prefect.yaml as an operator would, run `accountability-run` once on a worker, and
    check what it left behind: findings, a drained outbox, emails to the outcome owners.

    `children` is the last argument so that it is torn down first: the worker and its flow run
    stop before the sandbox and the SMTP server they talk to.
    """
    clock = Stopwatch()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    prefect = clean_environment(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",  # only the run we trigger
        PREFECT_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
        NO_COLOR="1",
        COLUMNS="200",  # CLI output unwrapped, for the logs
    )
    server = children.start("server", [str(PREFECT), "server", "start", "--host", "127.0.0.1",
                                       "--port", str(port)], prefect, cwd=tmp_path)

    # While the server migrates its database: the project's database and the worker's settings.
    database_url = f"sqlite:///{tmp_path / 'accountability.db'}"
    upgrade_database(database_url)
    creds = sandbox.sandbox.credentials
    project = {
        "ACCOUNTABILITY_HOME": str(ROOT),  # prefect.yaml's pull step: set_working_directory
        "ACCOUNTABILITY_REGISTRY": str(REGISTRY),
        "ACCOUNTABILITY_DATABASE_URL": database_url,
        "ACCOUNTABILITY_SYNC_START": "2026-09-01",  # the sandbox's history (accountability.demo)
        "ACCOUNTABILITY_CA_BUNDLE": creds["ACCOUNTABILITY_CA_BUNDLE"],
        "JIRA_URL": creds["JIRA_URL"],
        "JIRA_EMAIL": creds["JIRA_EMAIL"],
        "JIRA_API_TOKEN": creds["JIRA_API_TOKEN"],
        "PAGERDUTY_API_TOKEN": creds["PAGERDUTY_API_TOKEN"],
        "PAGERDUTY_API_URL": creds["PAGERDUTY_API_URL"],
        "PAGERDUTY_EVENTS_URL": creds["PAGERDUTY_EVENTS_URL"],
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": "accountability@acme.example",
        # support's extra channels (examples/registry.yaml), so every outbox row can be sent
        "SLACK_WEBHOOK_SUPPORT": slack.url,
        "ACCOUNTABILITY_SLACK_HOSTS": "hooks.slack.com,127.0.0.1",  # the fake Slack is local
        "PD_ROUTING_KEY_SUPPORT": ROUTING_KEY,
    }
    secrets = [creds["JIRA_API_TOKEN"], creds["JIRA_PAT"], creds["PAGERDUTY_API_TOKEN"],
               ROUTING_KEY, slack.url]
    cli_log = tmp_path / "cli.log"
    api = Api(api_url)

    def diagnostics(headline: str) -> str:
        """What CI prints when the test fails: enough to see why, no secret."""
        try:
            flow_logs = "\n".join(api.problem_logs()[-40:]) or "(none)"
        except httpx.HTTPError as exc:
            flow_logs = f"(not available: {exc!r})"
        parts = [headline,
                 f"--- flow-run warnings and errors (API) ---\n{flow_logs}",
                 f"--- cli.log ---\n{tail(cli_log, secrets, 25)}"]
        # the worker's log last, nearest the end of CI's output: it holds the flow run's own
        # output, stack traces included (the process worker streams it)
        parts += [f"--- {child.name}.log (tail) ---\n{tail(child.log, secrets, 100)}"
                  for child in children.started]
        return mask("\n".join(parts), secrets)

    try:
        try:
            wait_healthy(api_url, server, SERVER_TIMEOUT)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(diagnostics(str(exc)))
        clock.lap("server up")
        with_api = prefect | {"PREFECT_API_URL": api_url}

        pool = run_cli([str(PREFECT), "work-pool", "create", POOL, "--type", "process"],
                       with_api, ROOT, cli_log)
        assert pool.returncode == 0, diagnostics("prefect work-pool create failed")
        # The worker may start polling while the deployments are being created.
        worker = children.start(
            "worker", [str(PREFECT), "worker", "start", "--pool", POOL, "--name", "ci-worker"],
            with_api | project | {"PREFECT_WORKER_QUERY_SECONDS": "1"}, cwd=tmp_path)
        deploy = run_cli([str(PREFECT), "--no-prompt", "deploy", "--all"], with_api, ROOT,
                         cli_log)
        assert deploy.returncode == 0, diagnostics("prefect deploy --all failed")
        clock.lap("pool + deploy")

        deployment = api.get(f"/deployments/name/{FLOW}/{DEPLOYMENT}")
        names = {d["name"] for d in api.post("/deployments/filter", {})}
        assert names == {"accountability-run", "registry-check", "sync-partition",
                         "weekly-digest"}, names

        def run_to_the_end(parameters: dict[str, Any]) -> dict[str, Any]:
            """Trigger the deployment as `prefect deployment run` does; wait for a final state."""
            # the idempotency key makes a retried trigger (a busy server) one run, not two
            run: dict[str, Any] = api.post(f"/deployments/{deployment['id']}/create_flow_run",
                                           {"parameters": parameters,
                                            "idempotency_key": f"ci-{sorted(parameters)}"})
            deadline = time.monotonic() + RUN_TIMEOUT
            state: dict[str, Any] = run["state"] or {}
            while state.get("type") not in FINAL_STATES:
                if time.monotonic() > deadline:
                    pytest.fail(diagnostics(f"flow run still {state.get('name')} after "
                                            f"{RUN_TIMEOUT:.0f} s"))
                if not worker.running():
                    pytest.fail(diagnostics(f"the worker exited ({worker.popen.returncode}) "
                                            f"with the flow run {state.get('name')}"))
                time.sleep(1)
                state = api.get(f"/flow_runs/{run['id']}")["state"] or {}
            assert state["type"] == "COMPLETED", diagnostics(
                f"flow run ended {state.get('name')}: {state.get('message')}")
            return run

        run = run_to_the_end({})
        clock.lap("run")

        # The trigger was the deployment's only run (no scheduled one), and each stage's subflow
        # completed too.
        runs = api.flow_runs()
        stages = sorted((api.get(f"/flows/{r['flow_id']}")["name"], r["state_type"])
                        for r in runs)
        assert [r["id"] for r in runs if r["deployment_id"]] == [run["id"]], diagnostics(
            f"unexpected runs of the deployments: {stages}")
        assert {"accountability-run", "sync", "evaluate", "alert"} <= {n for n, _ in stages}
        assert all(s == "COMPLETED" for _, s in stages), diagnostics(f"flow runs: {stages}")

        # The same job fanned out (docs/operations.md, scaling out): one `sync-partition` flow
        # run per Jira project and one for PagerDuty, run by the pool's worker while the parent
        # waits; then evaluate and alert, with nothing new to send.
        run_to_the_end({"partitioned": True})
        clock.lap("partitioned run")
        partition = api.get("/deployments/name/sync/sync-partition")
        fanned = [r for r in api.flow_runs() if r["deployment_id"] == partition["id"]]
        shares = sorted((r["parameters"].get("source"), r["parameters"].get("project") or "")
                        for r in fanned)
        projects = sorted({p for w in load_registry_file(REGISTRY).registry.workflows.values()
                           if w.sources.jira for p in w.sources.jira.projects})
        assert shares == [*(("jira", p) for p in projects), ("pagerduty", "")], shares
        assert {r["state_type"] for r in fanned} == {"COMPLETED"}, diagnostics(str(fanned))
    finally:
        api.close()
    # visible with -s, or in the captured output if a check below fails: where the time went
    print(f"deployed run: {clock}")

    # What the run wrote: the planted unauthorized changes (docs/sandbox.md), nothing else …
    planted = {case.item for case in sandbox.sandbox.world.planted.values()
               if case.expected.startswith("unauthorized")}
    planted_changes = sum(case.expected.startswith("unauthorized")
                          for case in sandbox.sandbox.world.planted.values())
    engine = make_engine(database_url)
    try:
        with engine.connect() as c:
            findings = c.execute(select(Finding.key, Finding.workflow, Finding.item).where(
                Finding.type == "unauthorized_change")).all()
            outbox = c.execute(select(AlertOutbox.channel, AlertOutbox.status)).all()
    finally:
        engine.dispose()
    assert {f.item for f in findings} == planted and len(findings) == planted_changes, findings
    # … and every alert it queued went out (email, Slack, PagerDuty, Jira) in the same run.
    assert outbox and {status for _, status in outbox} == {"sent"}, outbox
    assert slack.posts and sandbox.sandbox.events

    # The outcome owner of each workflow with findings got them by email, in the alert shape of
    # accountability/alert_render.py: "[Accountability] <workflow name>: N unauthorized …".
    registry = load_registry_file(REGISTRY).registry
    mails = smtp.mailroom.received
    by_workflow: dict[str, set[str]] = {}
    for finding in findings:
        by_workflow.setdefault(finding.workflow, set()).add(finding.key)
    assert set(by_workflow) == {"support", "renewals"}, by_workflow
    for workflow_id, keys in by_workflow.items():
        workflow = registry.workflows[workflow_id]
        owner = registry.people[workflow.outcome.owner].email
        shape = re.compile(rf"\[Accountability\] {re.escape(workflow.name)}: "
                           r"\d+ unauthorized ownership changes?")
        to_owner = [m for m in mails if owner in m.rcpt_tos
                    and m.message["X-Accountability-Kind"] == "unauthorized_change"]
        assert to_owner, f"no unauthorized-change email to {owner}: {[m.rcpt_tos for m in mails]}"
        for mail in to_owner:
            subject = " ".join(str(mail.message["Subject"]).split())  # unfolded
            assert shape.fullmatch(subject), subject
            assert mail.mail_from == "accountability@acme.example"
        assert {ref for m in to_owner for ref in m.refs()} == keys
