"""`accountability demo`: the whole pipeline on embedded defaults, nothing to configure.

The sandbox (a local Jira Cloud and PagerDuty seeded with the Acme demo company of
`examples/registry.yaml`) runs in-process on a free loopback port, the database is a fresh
SQLite file in the output folder, alerts and the weekly digest go through the project's real
dispatcher and digest sender to a local SMTP capture (aiosmtpd on 127.0.0.1) that saves each
message as a `.eml` file, and nothing keeps running afterwards: every server the demo starts is
stopped in a `finally`, and `DemoResult.servers` says where they listened so a test can check.

Only email is configured: Slack, PagerDuty Events and Jira-ticket alerts are refused by
`_EmailOnlyChannels` whatever the environment holds (the demo never posts Acme's fictional
alerts to a real webhook), so the dispatcher keeps them `pending` with the reason, exactly as
it does for any channel not yet configured, and the demo says so.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from types import TracebackType

import typer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from rich import box
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session as DbSession

from accountability import pipeline
from accountability.cli.text import safe_text
from accountability.config.errors import UsageError
from accountability.config.registry_file import EXAMPLE_REGISTRY, load_registry_file
from accountability.config.settings import Settings
from accountability.private_files import inside, private_dir, write_private
from accountability.sources.base import Progress as SyncProgress
from accountability.usecases.databases import open_database, record_registry, upgrade_database
from accountability.usecases.digest import DigestReport
from accountability.usecases.digest import produce as produce_digest
from accountability.usecases.dispatch import Channels, DispatchReport
from accountability.usecases.dispatch import log as dispatch_log
from accountability.usecases.evaluate import EvaluationReport
from accountability.usecases.maps import map_file, write_escalation_map
from connectors.channel_errors import ChannelConfigError
from connectors.jira_tickets import JiraTickets
from connectors.pagerduty_events import PagerDutyEvents
from connectors.slack import SlackWebhook
from rules.registry import LoadedRegistry
from sandbox import Sandbox, SandboxConfig, serve_sandbox
from storage import evaluations, outbox, repo

# The sandbox's demo history covers ISO weeks 2026-W40 … 2026-W47; read all of it, and
# evaluate as of the Monday morning after it, so the demo gives the same result any day.
DEMO_SYNC_START = date(2026, 9, 1)
DEMO_AS_OF = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Europe/Berlin
DEMO_DIGEST_WEEK = "2026-W47"  # the week just ended on DEMO_AS_OF: W46's breaches, what followed
DEMO_SEED = 7
DEMO_SENDER = "Accountability <accountability@acme.example>"
# Short labels for the summary table, in the order a reader cares about them.
FINDING_LABELS = {"unauthorized_change": "unauthorized", "unowned_item": "unowned",
                  "ownership_churn": "churn", "late_risk_review": "late review",
                  "registry_gap": "registry gap"}
ALERT_STATES = ("sent", "pending", "dead")


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced, for the CLI and the tests. `servers`: every (host, port) the
    demo listened on (sandbox, SMTP capture), all stopped by the time this is returned."""

    database_url: str
    maps: dict[str, Path]
    report: pipeline.SyncReport
    evaluation: EvaluationReport
    alerts: DispatchReport
    digest: DigestReport
    digest_path: Path
    emails: list[Path]
    servers: list[tuple[str, int]]
    web_url: str | None = None  # with `serve`: where the web app listened
    signed_link: str | None = None  # with `serve`: the one link printed (Maria's Ratify)


def run_demo(out_dir: Path, console: Console, today: date | None = None, *,
             serve: bool = False, interactive: bool | None = None) -> DemoResult:
    """Run every stage into a fresh `out_dir`, showing each one, and end with the summary.

    With `serve`, the e-mails carry signed links (a signing key made for this run, the web
    app's loopback URL) and the web app then serves the demo's database until Enter or Ctrl-C
    when `interactive` (default: stdin is a terminal); otherwise it is started, checked and
    stopped at once, so a pipe or CI never hangs."""
    began = time.monotonic()
    _fresh_folder(out_dir)
    web = _DemoWeb.plan() if serve else None
    database_url = f"sqlite:///{(out_dir / 'accountability.db').resolve()}"
    servers: list[tuple[str, int]] = []
    with console.status("Validating the registry…"):
        loaded = load_registry_file(EXAMPLE_REGISTRY)
    _done(console, f"registry {EXAMPLE_REGISTRY.name}: valid, {len(loaded.warnings)} warnings")
    with console.status("Creating the database…"):
        upgrade_database(database_url)
        record_registry(database_url, loaded)
    _done(console, f"database {database_url}")
    digest_path = inside(out_dir, f"digest-{DEMO_DIGEST_WEEK}.html")
    with _MailCapture(out_dir / "emails") as capture:
        servers.append(capture.address)
        _done(console, f"SMTP capture listening on {capture.host}:{capture.port}")
        mail_settings = _capture_settings(database_url, capture)
        if web is not None:
            mail_settings = mail_settings.model_copy(update=web.link_settings())
        with _sandbox(console, servers) as sandbox:
            summary = _run_pipeline(console, loaded, _pipeline_settings(mail_settings, sandbox))
        with console.status("Writing the escalation maps…"):
            maps = {
                workflow: write_escalation_map(loaded, workflow,
                                               map_file(out_dir / "maps", workflow), today)
                for workflow in loaded.registry.workflows
            }
        _done(console, f"escalation maps: {len(maps)} written to {out_dir / 'maps'}")
        with open_database(database_url) as factory, console.status(
                f"Sending the {DEMO_DIGEST_WEEK} digest to leadership…"):
            digest = produce_digest(factory, loaded, mail_settings, week=DEMO_DIGEST_WEEK,
                                    out=digest_path, send=True, clock=lambda: DEMO_AS_OF)
        _done(console, f"digest {digest.week} written and emailed to "
                       f"{', '.join(digest.sent_to)}: {digest.subject}")
    emails = capture.saved
    _done(console, f"SMTP capture stopped: {len(emails)} emails saved")
    with open_database(database_url) as factory, factory() as session:
        workflows = _summary(session, loaded)
    console.print(_table(loaded, workflows))
    _print_paths(console, digest_path, maps, out_dir / "emails", len(emails), database_url)
    link = None
    if web is not None:
        link = web.serve(console, database_url, emails, servers, interactive)
    _done(console, f"demo finished in {time.monotonic() - began:.1f} s; nothing left running")
    assert summary.sync and summary.evaluation and summary.alerts  # else _run_pipeline raised
    return DemoResult(database_url, maps, summary.sync, summary.evaluation, summary.alerts,
                      digest, digest_path, emails, servers,
                      web_url=web.url if web else None, signed_link=link)


@dataclass(frozen=True)
class _DemoWeb:
    """The demo's web app (`demo --serve`): a loopback port chosen before the alerts go out
    (their links name it) and a signing key that lives as long as this run."""

    port: int
    key: str

    @classmethod
    def plan(cls) -> _DemoWeb:
        return cls(port=_free_port("127.0.0.1"), key=secrets.token_urlsafe(32))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def link_settings(self) -> dict[str, object]:
        return {"public_url": self.url, "signing_key": SecretStr(self.key)}

    def serve(self, console: Console, database_url: str, emails: list[Path],
              servers: list[tuple[str, int]], interactive: bool | None) -> str | None:
        """Serve the demo's database on the demo's clock (the links were signed as of
        DEMO_AS_OF, so they are valid whatever today is); print the URL, Maria's Ratify link
        from her captured e-mail and her sign-in link; stop on Enter or Ctrl-C."""
        from accountability.links import Signer
        from accountability.web.app import create_app
        from accountability.web.auth import WebSettings
        from accountability.web.context import WebContext
        from accountability.web.server import start_in_thread

        link = _first_link(emails, "maria@acme.example", self.url)
        signin = f"{self.url}/signin/" + Signer(self.key).dumps(
            Signer(self.key).link("maria", "signin", "", now=DEMO_AS_OF, days=14))
        with open_database(database_url) as factory:
            ctx = WebContext(sessions=factory, registry_path=EXAMPLE_REGISTRY,
                             clock=lambda: DEMO_AS_OF)
            app = create_app(ctx, WebSettings(signing_key=SecretStr(self.key),
                                              public_url=self.url))
            running = start_in_thread(app, "127.0.0.1", self.port)
            servers.append(("127.0.0.1", self.port))
            try:
                _done(console, f"web app listening on {running.url}")
                console.print(f"  Maria's Ratify link (from her alert e-mail): {link or '(none)'}"
                              f"\n  Maria's sign-in link: {signin}",
                              highlight=False, soft_wrap=True)
                if interactive if interactive is not None else sys.stdin.isatty():
                    console.print("  Press Enter (or Ctrl-C) to stop the web app.",
                                  highlight=False)
                    with contextlib.suppress(KeyboardInterrupt, EOFError):
                        input()
                else:
                    console.print("  stdin is not a terminal: stopping the web app now (run "
                                  "`accountability demo --serve` in a terminal to keep it).",
                                  highlight=False)
            finally:
                running.stop()
        return link


def _first_link(emails: list[Path], address: str, base: str) -> str | None:
    """The first signed action link in the captured e-mails to `address` (text part)."""
    pattern = re.compile(re.escape(base) + r"/l/\S+")
    for path in emails:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if address not in str(message.get("To", "")):
            continue
        body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
        found = pattern.search(body.get_content()) if body is not None else None
        if found:
            return found.group(0)
    return None


def _run_pipeline(
    console: Console, loaded: LoadedRegistry, settings: Settings
) -> pipeline.RunSummary:
    """The scheduled job's own pipeline, as of DEMO_AS_OF: the sync reads the whole demo
    history, the evaluation and the alerts run on the demo's clock (the scheduled job sends
    right after it evaluates, so no reminder is due yet). Alerts carry no Jira links: the
    sandbox is gone when the demo ends."""
    channels = _EmailOnlyChannels.from_settings(settings)
    channels.env_file = None  # the working folder's .env is the user's, not the demo's
    watch = _DemoWatch(console)
    with open_database(settings.database_url) as factory:
        stages = pipeline.LocalStages(settings, loaded, factory, full=True, channels=channels,
                                      links=False, as_of=DEMO_AS_OF,
                                      progress=watch.progress.advance)
        summary = pipeline.run(stages, settings.database_url, watch)
    if summary.failed:
        console.print(f"[red]demo failed[/]: {safe_text(summary.failure_line())}",
                      highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    alerts = summary.alerts
    if alerts and (alerts.failed or alerts.dead):
        console.print(f"  [yellow]kept pending[/], retried by `accountability alert` once the "
                      f"channel is configured ({alerts.failed + alerts.dead} alerts):",
                      highlight=False, soft_wrap=True)
        for error in alerts.errors:
            console.print(f"  · {safe_text(error)}", highlight=False, soft_wrap=True)
    return summary


class _DemoWatch:
    """Each stage as the demo shows it: a progress line per partition while the sync runs, a
    spinner otherwise, a check mark and the stage's line after."""

    LABELS = {"evaluate": "Evaluating…", "alert": "Sending the alerts to the SMTP capture…"}

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = _progress(console)

    def stage(self, name: str) -> AbstractContextManager[object]:
        if name == "sync":
            return self.progress
        if name == "alert":
            return _quiet_status(self.console, self.LABELS[name], dispatch_log)
        return self.console.status(self.LABELS[name])

    def done(self, name: str, line: str) -> None:
        _done(self.console, line)


@contextmanager
def _quiet_status(console: Console, label: str, logger: logging.Logger) -> Iterator[None]:
    with console.status(label), _quiet(logger):
        yield


MARKER = ".accountability-demo"
"""Written first into every folder the demo fills: only a folder holding it is ever emptied."""
_MARKER_TEXT = ("This folder is the output of `accountability demo`. The next demo run into it\n"
                "deletes what a demo writes here (accountability.db, digest-*.html, maps/*.html,\n"
                "emails/*.eml) and nothing else. Delete this file to keep the folder as it is.\n")
# What a demo writes into its folder, as (sub-folder, glob): the only files a rerun deletes.
_DEMO_FILES = (("", "accountability.db"), ("", "accountability.db-*"), ("", "digest-*.html"),
               ("maps", "*.html"), ("emails", "*.eml"), ("", MARKER))


def _fresh_folder(out_dir: Path) -> None:
    """Make `out_dir` ready for this run, deleting only what an earlier demo wrote there.

    An empty or new folder is used as it is. A folder that is not empty must hold the demo's
    marker file, and then only the demo's own files are deleted (`_DEMO_FILES`; anything the
    user put beside them stays). The current folder, the home folder and their parents are
    refused whatever they hold: `--out .` in a deployment folder must never touch its
    `accountability.db` (the production default name), registry or `.env`.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is not a folder: choose another folder with --out")
    filled = out_dir.exists() and any(out_dir.iterdir())
    if filled and not (out_dir / MARKER).is_file():
        raise UsageError(f"{out_dir} is not empty and holds no previous demo output (no "
                         f"{MARKER} file): choose another folder with --out (an older "
                         "version's demo output has none: delete it yourself)")
    _refuse_precious(out_dir)  # even with a marker: a marker can be copied anywhere
    if filled:
        for sub, pattern in _DEMO_FILES:
            if sub and (out_dir / sub).is_symlink():
                continue  # a link to somewhere else is not the demo's own folder
            for path in (out_dir / sub).glob(pattern):
                if path.is_file() and not path.is_symlink():
                    path.unlink()
        for sub in ("maps", "emails"):
            with contextlib.suppress(OSError):  # kept when the user put something in it
                (out_dir / sub).rmdir()
    private_dir(out_dir)
    write_private(out_dir / MARKER, _MARKER_TEXT)


def _refuse_precious(out_dir: Path) -> None:
    """`--out` must not be the current folder, the home folder, or a parent of either."""
    target = out_dir.expanduser().resolve()
    precious = (("the current folder", Path.cwd().resolve()),
                ("your home folder", Path.home().resolve()))
    for name, folder in precious:
        if target == folder:
            raise UsageError(f"--out {out_dir} is {name}: the demo writes and later deletes its "
                             "files there; choose a new folder, such as demo-output")
    for name, folder in precious:
        if target in folder.parents:
            raise UsageError(f"--out {out_dir} is a parent of {name}: the demo writes and "
                             "later deletes its files there; choose a new folder, such as "
                             "demo-output")


# --- sync ---------------------------------------------------------------------------------------


@contextmanager
def _sandbox(console: Console, servers: list[tuple[str, int]]) -> Iterator[Sandbox]:
    """The sandbox Jira Cloud and PagerDuty of the demo company, stopped on exit."""
    with console.status("Starting the sandbox Jira Cloud and PagerDuty…"):
        running = serve_sandbox(SandboxConfig(seed=DEMO_SEED, mode="demo"))
        sandbox = running.__enter__()
    try:
        servers.append(_address(sandbox.credentials["JIRA_URL"]))
        yield sandbox
    finally:
        running.__exit__(None, None, None)


def _pipeline_settings(mail: Settings, sandbox: Sandbox) -> Settings:
    """The capture's settings plus the sandbox's credentials, from the demo's start date."""
    creds = sandbox.credentials
    return mail.model_copy(update={
        "sync_start": DEMO_SYNC_START,
        "jira_url": creds["JIRA_URL"],
        "jira_email": creds["JIRA_EMAIL"],
        "jira_api_token": SecretStr(creds["JIRA_API_TOKEN"]),
        "pagerduty_api_token": SecretStr(creds["PAGERDUTY_API_TOKEN"]),
        "pagerduty_api_url": creds["PAGERDUTY_API_URL"],
        "ca_bundle": sandbox.ca_path,
    })


def _address(url: str) -> tuple[str, int]:
    """`https://127.0.0.1:PORT/…` → ("127.0.0.1", PORT)."""
    match = re.match(r"^\w+://\[?([^\]/]+?)\]?:(\d+)", url)
    if match is None:
        raise ValueError(f"no host:port in {url!r}")
    return match.group(1), int(match.group(2))


class _progress:
    """A progress line per partition while the sync runs (partitions run in threads)."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(SpinnerColumn(), TextColumn("syncing {task.description}"),
                             TextColumn("{task.completed} records"), TimeElapsedColumn(),
                             console=console, transient=True)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> SyncProgress:
        self._bar.__enter__()
        return self.advance

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def advance(self, partition: str, count: int) -> None:
        with self._lock:
            if partition not in self._tasks:
                self._tasks[partition] = self._bar.add_task(partition, total=None)
            self._bar.advance(self._tasks[partition], count)


# --- the local SMTP capture and the alerts -------------------------------------------------------


class _MailCapture:
    """An SMTP server on 127.0.0.1 (a free port) that accepts every message and writes it, as
    received, to `folder` as `NNN-<first recipient>-<subject>.eml`: what a mail client would
    have shown, inspectable offline. Written on arrival, so a demo stopped half-way still
    leaves what was sent. A context manager: the server thread stops on exit, whatever
    happened."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.host = "127.0.0.1"
        self.port = _free_port(self.host)
        self.saved: list[Path] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def __enter__(self) -> _MailCapture:
        private_dir(self.folder)
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd's hook for each message: save it, then answer 250."""
        content = envelope.original_content or b""
        with self._lock:
            name = eml_name(len(self.saved) + 1, list(envelope.rcpt_tos), content)
            target = write_private(self.folder / name, content)  # 0600: real mail content
            self.saved.append(target)
        return "250 Message accepted for delivery"


def eml_name(number: int, recipients: list[str], content: bytes) -> str:
    """`001-maria-support-resolution-time-6-unauthorized-ownership-changes.eml`: the arrival
    order, the first recipient's mailbox name and the subject (without its `[tag]`), each
    reduced to lowercase letters, digits and hyphens, so the name is safe on every system."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(content)
    subject = re.sub(r"^\s*\[[^\]]*\]\s*", "", str(headers.get("Subject", "")))
    who = recipients[0].partition("@")[0] if recipients else "nobody"
    return f"{number:03d}-{_slug(who, 30) or 'recipient'}-{_slug(subject, 80) or 'message'}.eml"


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-")


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _capture_settings(url: str, capture: _MailCapture) -> Settings:
    """Settings for the dispatcher and the digest sender: SMTP to the capture and nothing else.
    Every value that would reach outside is set here, so the user's environment (a real
    `SMTP_HOST`, `JIRA_URL`) cannot turn the demo into real mail or tickets."""
    return Settings(
        database_url=url,
        registry=EXAMPLE_REGISTRY,
        smtp_host=capture.host,
        smtp_port=capture.port,
        smtp_username=None,
        smtp_password=None,
        smtp_starttls=False,
        smtp_from=DEMO_SENDER,
        smtp_timeout=10.0,
        jira_url=None,
        jira_email=None,
        jira_api_token=None,
        jira_pat=None,
        ca_bundle=None,
    )


class _EmailOnlyChannels(Channels):
    """The demo's channels: email to the capture; Slack, PagerDuty Events and Jira tickets are
    refused as not configured even when the environment holds a webhook or routing key for
    the example registry's `env:` names, so the demo stays offline. The dispatcher treats the
    refusal like any missing configuration: the alert stays pending with this reason."""

    def slack(self) -> SlackWebhook:
        raise ChannelConfigError("Slack: not configured in the demo (only email, to the local "
                                 "capture)")

    def pagerduty(self) -> PagerDutyEvents:
        raise ChannelConfigError("PagerDuty Events: not configured in the demo (only email, to "
                                 "the local capture)")

    def jira(self) -> JiraTickets:
        raise ChannelConfigError("Jira ticket: not configured in the demo (only email, to the "
                                 "local capture)")


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """The dispatcher logs a warning per alert it keeps pending (15 lines for the demo's Slack
    and PagerDuty rows); the demo prints one line per reason instead. Dead alerts (errors)
    are still logged."""
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# --- the summary --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WorkflowSummary:
    findings: dict[str, int]
    week: str | None
    breaches: list[str]
    recommendation: str | None
    earlier: list[str]  # "2026-W46: 6 → pause" for each earlier week in breach
    review_open: bool
    alerts: Counter[str]


def _summary(session: DbSession, loaded: LoadedRegistry) -> dict[str, _WorkflowSummary]:
    """Per workflow: open findings by type, the last scored week's breaches and recommendation,
    earlier weeks in breach, whether a risk review is still open, and its outbox rows by status."""
    outcomes = repo.workflow_outcomes(session)
    open_reviews = {r.workflow for r in evaluations.list_reviews(session)
                    if r.status != "closed"}
    cards = evaluations.list_scorecards(session)
    alerts: dict[str, Counter[str]] = {}
    for workflow, status, number in outbox.counts_by_workflow_and_status(session):
        alerts.setdefault(str(workflow), Counter())[str(status)] = int(number)
    summary: dict[str, _WorkflowSummary] = {}
    for workflow_id in loaded.registry.workflows:
        own = sorted((c for c in cards if c.workflow == workflow_id), key=lambda c: c.week)
        last = own[-1] if own else None
        outcome = outcomes.get(workflow_id, {})
        findings = outcome.get("findings") or {}
        assert isinstance(findings, dict)
        summary[workflow_id] = _WorkflowSummary(
            findings={str(k): int(v) for k, v in findings.items()},
            week=last.week if last else None,
            breaches=list(last.breaches or []) if last else [],
            recommendation=last.recommendation if last else None,
            earlier=[f"{c.week}: {len(c.breaches)} → {c.recommendation}"
                     for c in own[:-1] if c.breaches],
            review_open=workflow_id in open_reviews,
            alerts=alerts.get(workflow_id, Counter()),
        )
    return summary


def _table(loaded: LoadedRegistry, summary: Mapping[str, _WorkflowSummary]) -> Table:
    """Five bounded columns: at most about 95 characters wide, and still readable in an
    80-column terminal, where Rich wraps inside the cells."""
    registry = loaded.registry
    weeks = sorted({s.week for s in summary.values() if s.week})
    week = weeks[-1] if weeks else "—"
    table = Table(title=f"{safe_text(registry.organization)}: week {week} (the last scored), "
                  f"as of {DEMO_AS_OF:%Y-%m-%d %H:%M} UTC",
                  title_justify="left", caption_justify="left", box=box.MINIMAL_HEAVY_HEAD,
                  pad_edge=False,
                  caption="alerts count one per recipient and channel; pending ones are kept "
                  "and retried, never dropped")
    table.add_column("workflow", max_width=24)
    table.add_column("open findings", max_width=16)
    table.add_column("breaches", max_width=22)
    table.add_column("recommended", max_width=12)
    table.add_column("alerts", no_wrap=True)
    for workflow_id, workflow in registry.workflows.items():
        row = summary[workflow_id]
        table.add_row(
            f"{safe_text(workflow.name)}\n[dim]{safe_text(workflow_id)}[/]",
            safe_text(_findings_cell(row.findings)),
            safe_text(", ".join(row.breaches) or "none")
            + "".join(f"\n[dim]{safe_text(e)}[/]" for e in row.earlier),
            safe_text(row.recommendation or "—")
            + ("\n[dim]review open[/]" if row.review_open else ""),
            "\n".join(f"{row.alerts[state]} {state}" for state in ALERT_STATES),
        )
    return table


def _findings_cell(findings: Mapping[str, int]) -> str:
    known = [k for k in FINDING_LABELS if k in findings]
    other = sorted(k for k in findings if k not in FINDING_LABELS)
    return "\n".join(f"{findings[k]} {FINDING_LABELS.get(k, k.replace('_', ' '))}"
                     for k in known + other) or "none"


def _print_paths(
    console: Console, digest: Path, maps: Mapping[str, Path], emails: Path, sent: int,
    database_url: str,
) -> None:
    """One path per line, never wrapped (soft_wrap), so it can be copied or clicked."""
    lines = [("Digest", str(digest))]
    lines += [(f"Map {workflow}", str(path)) for workflow, path in maps.items()]
    lines += [("Emails", f"{emails} ({sent} .eml files)"), ("Database", database_url)]
    for label, value in lines:
        console.print(f"  {label + ':':<20} {safe_text(value)}", highlight=False, soft_wrap=True)
    console.print("  Look around (findings, scorecard, reviews, alert --status):",
                  highlight=False)
    console.print(f"    ACCOUNTABILITY_DATABASE_URL={safe_text(database_url)} accountability "
                  "findings",
                  highlight=False, soft_wrap=True)


def _done(console: Console, text: str) -> None:
    console.print(f"[green]✓[/] {safe_text(text)}", highlight=False, soft_wrap=True)

