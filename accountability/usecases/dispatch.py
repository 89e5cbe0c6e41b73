"""The alert dispatcher: claim pending outbox rows, send them, record what happened (SPEC §6).

One dispatch:

1. queues the reminders that are due (risk reviews still unacknowledged every
   `remind_every_hours`; `rules.routing.reminder_due` picks the reminder number from the
   clock, so concurrent dispatchers write the same dedup key once);
2. claims due rows in batches (`storage.outbox.claim_pending_alerts`: `FOR UPDATE SKIP LOCKED`
   on PostgreSQL, so two dispatchers never hold the same row; one writer on SQLite), committing
   the claim before any send;
3. groups them into messages, as each channel's `Batch` in `rules.channels` says: email per
   (workflow, kind, recipients) — one email per workflow and alert kind per dispatch, to its
   routed recipients (to and cc), listing all its new items; Slack per (workflow, kind);
   PagerDuty and Jira per row;
4. sends each message (the channel's line in `DELIVERIES`: its sender and renderer) and
   records the outcome at once in its own short transaction: `sent` with the provider's id
   (SMTP Message-ID, Slack's answer, the PagerDuty dedup key, the Jira issue key), or back to
   `pending` with the error, one more attempt and the next retry time (exponential backoff
   with jitter, capped), or `dead` after `max_attempts` (or at once when the service refuses
   the payload itself).

Backoff is per **destination** (the SMTP server, a Slack webhook, the PagerDuty events URL,
the Jira site), not per row: when a destination is down (unreachable, or HTTP 429/5xx as a
whole) its circuit breaker opens (`storage.outbox.trip_breaker`) and every row that failed
with it gets the breaker's one retry time; until then no dispatcher claims any of its rows,
fresh ones included. When the time comes they are all due at once and grouped as a clean run
would group them — an outage never turns one email into many. A row that fails for its own
reason (a refused recipient, a person without an address) backs off alone, and the rows of
one message that failed together (a missing setting) keep one retry time between them.

A row left `sending` by a dispatcher that died is claimed again after `stale_after`: the
window between a send and its mark is where a duplicate can happen (docs/alerts.md).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.errors import ConfigError
from accountability.config.settings import Settings, require_jira
from accountability.links import LinkMaker
from accountability.messages.alerts import (
    AlertView,
    ItemView,
    action_links,
    alert_view,
    jira_ticket,
    pagerduty_trigger,
    render_email,
    slack_message,
)
from connectors.channel_errors import ChannelConfigError, ChannelError
from connectors.email import Mailbox, SmtpConfig, SmtpSender, compose
from connectors.errors import ConnectorError
from connectors.jira_tickets import JiraTickets, review_label
from connectors.outbound import redact, register_secret, resolve_secret
from connectors.pagerduty_events import PagerDutyEvents
from connectors.slack import SLACK_HOSTS, SlackWebhook
from rules.channels import CHANNELS, EMAIL, JIRA, PAGERDUTY, SLACK, Batch, Channel, channel
from rules.facts import ReviewState
from rules.registry import JiraRiskReview, Registry
from rules.routing import RISK_REVIEW, reminder_due, risk_review_reminder_alerts
from storage import outbox, reminders
from storage.engine import session_scope
from storage.models import AlertOutbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchPolicy:
    """How hard to try. Defaults: 8 attempts, 1 min doubling up to 6 h (about 4 h in all before
    an alert is declared dead), claims reclaimed after 30 min. Grouping happens within a
    claimed batch: more than `batch_size` due rows make more than one email per workflow and
    kind."""

    max_attempts: int = 8
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_cap: timedelta = timedelta(hours=6)
    stale_after: timedelta = timedelta(minutes=30)
    batch_size: int = 1000
    max_batches: int = 100


def backoff(
    attempts: int, policy: DispatchPolicy, rand: Callable[[], float] = random.random
) -> timedelta:
    """The wait after the `attempts`-th failure (0-based): base × 2^attempts, capped, with
    "equal jitter" (between half and all of it), so retries of many alerts that failed
    together spread out while the wait still grows."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * (1 << min(attempts, 30)))
    return ceiling * (0.5 + 0.5 * rand())


@dataclass
class DispatchReport:
    reminders: int = 0
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    pending: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        sent_by = ", ".join(f"{n} {c}" for c, n in sorted(self.messages.items()))
        return (
            f"alerts: {self.sent} sent" + (f" ({sent_by})" if sent_by else "")
            + f", {self.failed} failed (will be retried), {self.dead} dead, "
            f"{self.pending} pending" + (f"; {self.reminders} reminders queued"
                                         if self.reminders else "")
        )

    def as_dict(self) -> dict[str, Any]:
        return {"reminders": self.reminders, "claimed": self.claimed, "sent": self.sent,
                "failed": self.failed, "dead": self.dead, "pending": self.pending,
                "messages": dict(self.messages), "errors": list(self.errors)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DispatchReport:
        """The report `as_dict` gave, back (a Prefect flow's result crosses as a dict)."""
        counts = {k: int(data.get(k, 0)) for k in
                  ("reminders", "claimed", "sent", "failed", "dead", "pending")}
        return cls(**counts, messages=Counter(data.get("messages", {})),
                   errors=list(data.get("errors", [])))


# --- channels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JiraAccess:
    url: str
    email: str | None = None
    api_token: Any = None  # SecretStr
    pat: Any = None  # SecretStr


class Channels:
    """The senders of one dispatch, built on first use: a dispatch with only email rows never
    needs Jira credentials, and a missing one fails only the rows that need it.

    Args:
        smtp: SMTP settings; sender: the From mailbox.
        pagerduty_events_url: `PAGERDUTY_EVENTS_URL`.
        jira: Jira site and credentials, or a `ChannelConfigError` message saying what is missing.
        ca_bundle: `ACCOUNTABILITY_CA_BUNDLE`.
        env_file: the dotenv file `env:NAME` references may also be read from.
        http_transport: an httpx transport for Slack and Jira (tests).
        slack_hosts: the hosts Slack webhooks may point at (`ACCOUNTABILITY_SLACK_HOSTS`).
        links: signs each e-mail recipient's own one-click links (`ACCOUNTABILITY_PUBLIC_URL`
            and `ACCOUNTABILITY_SIGNING_KEY`); None: e-mails without links, as before.
    """

    def __init__(
        self,
        *,
        smtp: SmtpConfig,
        sender: Mailbox,
        pagerduty_events_url: str = "https://events.pagerduty.com",
        jira: JiraAccess | str | None = None,
        ca_bundle: Path | None = None,
        env_file: Path | None = Path(".env"),
        http_transport: Any = None,
        slack_hosts: tuple[str, ...] = SLACK_HOSTS,
        links: LinkMaker | None = None,
    ) -> None:
        self.smtp_config = smtp
        self.sender = sender
        self.env_file = env_file
        self._pagerduty_url = pagerduty_events_url
        self._jira_access = jira
        self._ca_bundle = ca_bundle
        self._transport = http_transport
        self._slack_hosts = slack_hosts
        self.links = links
        self._smtp: SmtpSender | None = None
        self._slack: SlackWebhook | None = None
        self._jira: JiraTickets | None = None
        if smtp.password is not None:
            register_secret(smtp.password.get_secret_value())

    @classmethod
    def from_settings(cls, settings: Settings) -> Channels:
        name, address = parseaddr(settings.smtp_from)
        jira: JiraAccess | str
        try:
            creds = require_jira(settings)
            jira = JiraAccess(creds.url, creds.email, None if creds.is_pat else creds.token,
                              creds.token if creds.is_pat else None)
        except ConfigError as exc:
            jira = str(exc)
        return cls(
            smtp=SmtpConfig(host=settings.smtp_host, port=settings.smtp_port,
                            username=settings.smtp_username, password=settings.smtp_password,
                            starttls=settings.smtp_starttls, security=settings.smtp_security,
                            from_addr=address or settings.smtp_from,
                            timeout=settings.smtp_timeout,
                            ca_bundle=settings.ca_bundle),
            sender=Mailbox(name or "Accountability", address or settings.smtp_from),
            pagerduty_events_url=settings.pagerduty_events_url,
            jira=jira,
            ca_bundle=settings.ca_bundle,
            slack_hosts=settings.slack_hosts,
            links=settings.link_maker(),
        )

    @property
    def pagerduty_url(self) -> str:
        return self._pagerduty_url

    @property
    def jira_url(self) -> str:
        """The Jira site tickets go to; empty when Jira is not configured."""
        return self._jira_access.url if isinstance(self._jira_access, JiraAccess) else ""

    def smtp(self) -> SmtpSender:
        if self._smtp is None:
            self._smtp = SmtpSender(self.smtp_config)
        return self._smtp

    def slack(self) -> SlackWebhook:
        if self._slack is None:
            self._slack = SlackWebhook(ca_bundle=self._ca_bundle, transport=self._transport,
                                       allowed_hosts=self._slack_hosts)
        return self._slack

    def pagerduty(self) -> PagerDutyEvents:
        try:
            return PagerDutyEvents(self._pagerduty_url, ca_bundle=self._ca_bundle)
        except ValueError as exc:
            raise ChannelConfigError(f"{PAGERDUTY.title}: {exc}") from None

    def jira(self) -> JiraTickets:
        if self._jira is None:
            access = self._jira_access
            if not isinstance(access, JiraAccess):
                raise ChannelConfigError(f"{JIRA.title}: {access or 'JIRA_URL is not set'}")
            try:
                self._jira = JiraTickets(access.url, email=access.email,
                                         api_token=access.api_token, pat=access.pat,
                                         ca_bundle=self._ca_bundle, transport=self._transport)
            except (ValueError, ConnectorError) as exc:
                raise ChannelConfigError(f"{JIRA.title}: {exc}") from None
        return self._jira

    def close(self) -> None:
        for closer in (self._smtp, self._slack, self._jira):
            if closer is not None:
                closer.close()
        self._smtp = self._slack = self._jira = None


# --- claimed rows and what to send ------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """A claimed outbox row, copied out of the session that claimed it."""

    id: int
    kind: str
    workflow: str
    channel: str
    recipient: str
    subject_ref: str
    payload: dict[str, Any]
    attempts: int

    @classmethod
    def of(cls, row: AlertOutbox) -> _Row:
        return cls(row.id, row.kind, row.workflow or "", row.channel, row.recipient,
                   row.subject_ref, dict(row.payload or {}), row.attempts)


@dataclass
class _Outcome:
    sent: dict[int, str] = field(default_factory=dict)  # row id → provider id
    failed: dict[int, ChannelError] = field(default_factory=dict)


@dataclass(frozen=True)
class _Unit:
    """One message to send: its channel, the breaker it trips (its destination), and the rows
    it settles."""

    channel: str
    breaker: str
    rows: list[_Row]


T = TypeVar("T")
R = TypeVar("R")
EmailRenderer = Callable[[AlertView], tuple[str, str]]
"""(text, html) of an email."""
SlackRenderer = Callable[[AlertView], dict[str, Any]]
"""A webhook body."""
ItemRenderer = Callable[[AlertView, ItemView], T]
"""A message about one item of a view: a PagerDuty event's fields, a Jira ticket."""


Destination = Callable[[str, str | None], str | None]
"""Where a channel's rows of a workflow go (`_Dispatch.destination`); None: not known."""


def _units(rows: list[_Row], destination: Destination) -> Iterator[_Unit]:
    """Rows into messages, as each channel's `Batch` says: a row alone (and a row of a channel
    outside the table, which then fails alone), or grouped per workflow and kind — for email
    further split by audience. Single rows go first, then the groups channel by channel in
    table order. Each message trips the breaker of its destination."""
    def unit(name: str, workflow: str, rows: list[_Row]) -> _Unit:
        return _Unit(name, destination(name, workflow) or name, rows)

    groups: dict[tuple[Channel, str, str], list[_Row]] = defaultdict(list)
    for row in rows:
        known = channel(row.channel)
        if known is None or known.batch is Batch.ROW:
            yield unit(row.channel, row.workflow, [row])
        else:
            groups[(known, row.workflow, row.kind)].append(row)
    for (known, workflow, _), group in sorted(groups.items(),
                                              key=lambda g: CHANNELS.index(g[0][0])):
        name = known.name
        if known.batch is Batch.AUDIENCE:
            yield from (unit(name, workflow, same) for same in _by_audience(group))
        else:
            yield unit(name, workflow, group)


def _by_audience(group: list[_Row]) -> Iterator[list[_Row]]:
    """Items with the same recipients (to and cc) share one message, so nobody receives an
    item not routed to them."""
    audience: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in group:
        audience[row.subject_ref].add((row.recipient, str(row.payload.get("role", "to"))))
    by_audience: dict[frozenset[tuple[str, str]], list[_Row]] = defaultdict(list)
    for row in group:
        by_audience[frozenset(audience[row.subject_ref])].append(row)
    yield from by_audience.values()


def _items(rows: list[_Row]) -> list[tuple[str, dict[str, Any]]]:
    items: dict[str, dict[str, Any]] = {}
    for row in rows:
        items.setdefault(row.subject_ref, row.payload)
    return list(items.items())


class _Dispatch:
    def __init__(
        self,
        factory: sessionmaker[Session],
        registry: Registry,
        channels: Channels,
        policy: DispatchPolicy,
        clock: Callable[[], datetime],
        rand: Callable[[], float],
        worker: str,
    ) -> None:
        self.factory = factory
        self.registry = registry
        self.channels = channels
        self.policy = policy
        self.clock = clock
        self.rand = rand
        self.worker = worker
        self.report = DispatchReport()
        self.broken: dict[str, ChannelError] = {}
        self.reopens: dict[str, datetime] = {}
        """Destination → when its breaker, tripped in this dispatch, lets it be tried again."""

    def run(self) -> DispatchReport:
        self.report.reminders = enqueue_reminders(self.factory, self.registry, self.clock())
        for _ in range(self.policy.max_batches):
            with session_scope(self.factory) as session:
                now = self.clock()
                held = self.held(outbox.open_breakers(session, now) | set(self.broken))
                claimed = [_Row.of(r) for r in outbox.claim_pending_alerts(
                    session, self.worker, now, limit=self.policy.batch_size,
                    stale_after=self.policy.stale_after, held=held)]
            if not claimed:
                break
            self.report.claimed += len(claimed)
            for unit in _units(claimed, self.destination):
                self._settle(unit, self._send(unit))
            if len(claimed) < self.policy.batch_size:
                break
        with session_scope(self.factory) as session:
            self.report.pending = outbox.pending_count(session)
        return self.report

    def destination(self, name: str, workflow: str | None) -> str | None:
        """Where `name`'s rows of `workflow` are sent, the key of their circuit breaker: the
        SMTP server, the Jira site, the PagerDuty events URL (one for every workflow), a
        workflow's Slack webhook (named by its variable: the URL is a secret). None when the
        destination depends on a workflow not given, or on a setting the workflow lacks."""
        if name == EMAIL.name:
            return f"{name}:{self.channels.smtp_config.host}:{self.channels.smtp_config.port}"
        if name == PAGERDUTY.name:
            return f"{name}:{self.channels.pagerduty_url}"
        if name == JIRA.name:
            return f"{name}:{self.channels.jira_url}"
        spec = self.registry.workflows.get(workflow) if workflow is not None else None
        known = channel(name)
        if spec is None or known is None or known.setting is None:
            return None
        reference = known.setting_of(spec.alerts)
        return f"{name}:{reference}" if isinstance(reference, str) and reference else None

    def held(self, down: set[str]) -> dict[str, set[str] | None]:
        """The rows of destinations that are `down`, as `claim_pending_alerts` takes them:
        channel → all its rows (None), or the workflows whose destination is down."""
        held: dict[str, set[str] | None] = {}
        if not down:
            return held
        for known in CHANNELS:
            if self.destination(known.name, None) in down:
                held[known.name] = None
                continue
            workflows = {w for w in self.registry.workflows
                         if self.destination(known.name, w) in down}
            if workflows:
                held[known.name] = workflows
        return held

    def _send(self, unit: _Unit) -> _Outcome:
        broken = self.broken.get(unit.breaker)
        if broken is not None:
            return _Outcome(failed={r.id: broken for r in unit.rows})
        try:
            outcome = DELIVERIES[unit.channel](self, unit.rows)
        except ChannelError as exc:
            if exc.destination_down:
                self.broken[unit.breaker] = exc
            return _Outcome(failed={r.id: exc for r in unit.rows})
        except ConnectorError as exc:
            error = ChannelError(f"{unit.channel}: {exc.message}")
            return _Outcome(failed={r.id: error for r in unit.rows})
        except Exception as exc:  # a bug must not stop the other alerts, nor lose this one
            log.exception("sending %s alerts failed unexpectedly", unit.channel)
            error = ChannelError(f"{unit.channel}: internal error: {type(exc).__name__}: {exc}")
            return _Outcome(failed={r.id: error for r in unit.rows})
        if outcome.sent:
            self.report.messages[unit.channel] += 1
        return outcome

    def _settle(self, unit: _Unit, outcome: _Outcome) -> None:
        """Record the outcome of one message right after it was sent: the shorter the gap,
        the smaller the window for a duplicate after a crash."""
        now = self.clock()
        by_id = {r.id: r for r in unit.rows}
        with session_scope(self.factory) as session:
            if outcome.sent:
                outbox.close_breaker(session, unit.breaker)
            for row_id, provider_id in outcome.sent.items():
                outbox.mark_sent(session, row_id, now=now, provider_id=provider_id[:500])
                self.report.sent += 1
            retry_at = self._retry_times(session, unit, outcome.failed, now)
            for row_id, error in outcome.failed.items():
                row = by_id[row_id]
                message = redact(str(error))
                status = outbox.mark_failed(
                    session, row_id, next_attempt_at=retry_at[row_id], error=message,
                    max_attempts=self.policy.max_attempts if error.retriable else 1)
                if status == "dead":
                    self.report.dead += 1
                    log.error("alert %s (%s to %s) is dead after %d attempts: %s", row_id,
                              row.channel, row.recipient, row.attempts + 1, message)
                else:
                    self.report.failed += 1
                    log.warning("alert %s (%s to %s) failed, retry after %s: %s", row_id,
                                row.channel, row.recipient, retry_at[row_id], message)
                if message not in self.report.errors:
                    self.report.errors.append(message)

    def _retry_times(
        self, session: Session, unit: _Unit, failed: Mapping[int, ChannelError],
        now: datetime,
    ) -> dict[int, datetime]:
        """When each failed row of `unit` may be tried again.

        A destination that is down: the time of its breaker, one for all of its rows (tripped
        once per dispatch; the breaker's failure count sets the backoff). Otherwise one time per
        distinct error: the rows of a message that failed as a whole stay together, and a row
        that failed for its own reason (a refused recipient) backs off alone."""
        attempts = {r.id: r.attempts for r in unit.rows}
        by_error: dict[int, list[int]] = defaultdict(list)
        for row_id, error in failed.items():
            by_error[id(error)].append(row_id)
        times: dict[int, datetime] = {}
        for row_ids in by_error.values():
            error = failed[row_ids[0]]
            if error.destination_down:
                when = self._reopen(session, unit.breaker, error, now)
            else:
                when = now + self._wait(max(attempts[i] for i in row_ids), error)
            times.update(dict.fromkeys(row_ids, when))
        return times

    def _reopen(self, session: Session, destination: str, error: ChannelError,
                now: datetime) -> datetime:
        """Trip `destination`'s breaker (once per dispatch) and return when it reopens."""
        if destination not in self.reopens:
            self.reopens[destination] = outbox.trip_breaker(
                session, destination, now=now, error=redact(str(error)),
                wait=lambda failures: self._wait(failures, error))
        return self.reopens[destination]

    def _wait(self, failures: int, error: ChannelError) -> timedelta:
        """The backoff after `failures` earlier failures, or longer if the service said so."""
        wait = backoff(failures, self.policy, self.rand)
        if error.retry_after is not None:
            wait = max(wait, timedelta(seconds=min(error.retry_after, 6 * 3600)))
        return wait

    # --- per channel --------------------------------------------------------------------------

    def view(self, rows: list[_Row], notes: list[str] | None = None) -> AlertView:
        first = rows[0]
        return alert_view(self.registry, first.workflow, first.kind, _items(rows), notes or [])

    def setting(self, channel: Channel, workflow: str) -> object:
        """The workflow's `alerts` setting for `channel`; missing, the rows wait (retriable)
        for someone to add it."""
        spec = self.registry.workflows.get(workflow)
        value = channel.setting_of(spec.alerts) if spec is not None else None
        if not value:
            raise ChannelConfigError(f"{channel.title}: workflow '{workflow}' has no "
                                     f"alerts.{channel.setting} in the registry")
        return value

    def secret_reference(self, channel: Channel, workflow: str) -> str:
        """The `env:NAME` reference of a secret setting (the registry accepts nothing else)."""
        reference = self.setting(channel, workflow)
        if not isinstance(reference, str):
            raise TypeError(f"alerts.{channel.setting} is not an env:NAME reference")
        return reference

    def send_email(self, rows: list[_Row], render: EmailRenderer) -> _Outcome:
        outcome = _Outcome()
        to: dict[str, Mailbox] = {}
        cc: dict[str, Mailbox] = {}
        addressed: list[tuple[_Row, str]] = []
        for row in rows:
            person = self.registry.people.get(row.recipient)
            if person is None or not person.email:
                outcome.failed[row.id] = ChannelConfigError(
                    f"email: {row.recipient} has no e-mail address in the registry")
                continue
            mailbox = Mailbox(person.name, person.email)
            try:
                mailbox.header()  # a bad address fails its own rows, not the whole email
            except ChannelError as exc:
                outcome.failed[row.id] = exc
                continue
            target = cc if row.payload.get("role") == "cc" else to
            target.setdefault(person.email, mailbox)
            addressed.append((row, person.email))
        if not addressed:
            return outcome
        cc = {a: m for a, m in cc.items() if a not in to}
        if not to:  # only cc rows left (their "to" went out earlier): they become the addressees
            to, cc = cc, {}
        notes = [str(r.payload["note"]) for r, _ in addressed if r.payload.get("note")]
        view = self.view([r for r, _ in addressed], notes)
        if self.channels.links is not None:
            return self._send_personal(view, addressed, [*to.values(), *cc.values()], outcome)
        text, html = render(view)
        message = compose(
            subject=view.subject, sender=self.channels.sender, to=list(to.values()),
            cc=list(cc.values()), text=text, html=html, date=self.clock(),
            headers={"X-Accountability-Workflow": view.workflow,
                     "X-Accountability-Kind": view.kind},
        )
        result = self.channels.smtp().send(message)
        for row, address in addressed:
            if address in result.refused:
                code, reply = result.refused[address]
                outcome.failed[row.id] = ChannelError(
                    f"email: the SMTP server refused {address}: {code} {reply}",
                    retriable=not 500 <= code < 600)
            else:
                outcome.sent[row.id] = result.message_id
        return outcome

    def _send_personal(
        self, view: AlertView, addressed: list[tuple[_Row, str]], mailboxes: list[Mailbox],
        outcome: _Outcome,
    ) -> _Outcome:
        """With signed links, one copy per person: a link acts as the person it was signed
        for, so nobody may receive another's (no shared To/Cc line, each copy its own
        Message-ID). A copy that fails after others went out fails its own rows only, so a
        retry never sends the others twice; when the first fails, the whole message fails as
        a single e-mail would (and may trip the destination's breaker)."""
        maker = self.channels.links
        assert maker is not None  # checked by the caller
        now = self.clock()
        people = {address: row.recipient for row, address in addressed}
        sent_any = False
        for mailbox in mailboxes:
            links = action_links(self.registry, view, people[mailbox.address], maker, now)
            text, html = render_email(view, links)
            message = compose(
                subject=view.subject, sender=self.channels.sender, to=[mailbox], text=text,
                html=html, date=now, headers={"X-Accountability-Workflow": view.workflow,
                                              "X-Accountability-Kind": view.kind})
            rows = [row for row, address in addressed if address == mailbox.address]
            try:
                result = self.channels.smtp().send(message)
            except ChannelError as exc:
                if not sent_any:
                    raise
                outcome.failed.update(dict.fromkeys((r.id for r in rows), exc))
                continue
            sent_any = True
            for row in rows:
                if mailbox.address in result.refused:
                    code, reply = result.refused[mailbox.address]
                    outcome.failed[row.id] = ChannelError(
                        f"email: the SMTP server refused {mailbox.address}: {code} {reply}",
                        retriable=not 500 <= code < 600)
                else:
                    outcome.sent[row.id] = result.message_id
        return outcome

    def send_slack(self, rows: list[_Row], render: SlackRenderer) -> _Outcome:
        workflow = rows[0].workflow
        reference = self.secret_reference(SLACK, workflow)
        url = resolve_secret(reference, f"Slack webhook of workflow '{workflow}'",
                             self.channels.env_file)
        answer = self.channels.slack().post(url, render(self.view(rows)),
                                            variable=reference[4:])
        return _Outcome(sent={r.id: f"{SLACK.name}:{answer}" for r in rows})

    def send_pagerduty(self, rows: list[_Row], render: ItemRenderer[dict[str, Any]]) -> _Outcome:
        (row,) = rows
        reference = self.secret_reference(PAGERDUTY, row.workflow)
        action = row.payload.get("pd_action")
        dedup_key = str(row.payload.get("pd_dedup_key") or row.subject_ref)
        key = resolve_secret(reference, f"PagerDuty routing key of workflow '{row.workflow}'",
                             self.channels.env_file)
        events = self.channels.pagerduty()
        if action == "resolve":
            answer = events.resolve(key, variable=reference[4:], dedup_key=dedup_key)
        elif action == "trigger":
            view = self.view(rows)
            answer = events.trigger(key, variable=reference[4:], dedup_key=dedup_key,
                                    severity=str(row.payload.get("pd_severity", "warning")),
                                    **render(view, view.items[0]))
        else:
            raise ChannelError(f"{PAGERDUTY.title}: unknown action {action!r}", retriable=False)
        return _Outcome(sent={row.id: answer})

    def send_jira(
        self, rows: list[_Row], render: ItemRenderer[tuple[str, dict[str, Any]]]
    ) -> _Outcome:
        (row,) = rows
        if row.kind != RISK_REVIEW:
            raise ChannelError(f"{JIRA.title}: only risk reviews get a ticket, not {row.kind}",
                               retriable=False)
        target = self.setting(JIRA, row.workflow)
        if not isinstance(target, JiraRiskReview):
            raise TypeError(f"alerts.{JIRA.setting} is not a JiraRiskReview")
        view = self.view(rows)
        summary, description = render(view, view.items[0])
        owner = self.registry.people.get(row.recipient)
        key, created = self.channels.jira().ensure_ticket(
            project=target.project, issue_type=target.issue_type, summary=summary,
            description=description, label=review_label(row.subject_ref),
            assignee_account_id=owner.jira if owner is not None else None)
        if not created:
            log.info("risk review %s already has Jira ticket %s", row.subject_ref, key)
        return _Outcome(sent={row.id: key})


@dataclass(frozen=True)
class Delivery(Generic[R]):
    """How the shell delivers a channel of `rules.channels`: its sender, and the renderer it
    writes with (from `accountability.alert_render`), bound here so each pair is typed."""

    channel: Channel
    send: Callable[[_Dispatch, list[_Row], R], _Outcome]
    render: R

    def __call__(self, run: _Dispatch, rows: list[_Row]) -> _Outcome:
        return self.send(run, rows, self.render)


_DELIVERIES: Final[tuple[Delivery[Any], ...]] = (
    Delivery(EMAIL, _Dispatch.send_email, render_email),
    Delivery(SLACK, _Dispatch.send_slack, slack_message),
    Delivery(PAGERDUTY, _Dispatch.send_pagerduty, pagerduty_trigger),
    Delivery(JIRA, _Dispatch.send_jira, jira_ticket),
)
DELIVERIES: Final[Mapping[str, Delivery[Any]]] = {d.channel.name: d for d in _DELIVERIES}
"""One line per channel of `rules.channels.CHANNELS` (`tests/alerts/test_channel_table.py`
checks that none is missing)."""


def enqueue_reminders(factory: sessionmaker[Session], registry: Registry, now: datetime) -> int:
    """Queue the reminders due at `now` for risk reviews still waiting for acknowledgement."""
    with session_scope(factory) as session:
        rows: list[dict[str, Any]] = []
        for review in reminders.unacknowledged_reviews(session):
            spec = registry.workflows.get(review.workflow)
            if spec is None:
                continue
            number = reminder_due(review.opened_at, review.last_reminded_at,
                                  spec.remind_every_hours, now)
            if number is None:
                continue
            state = ReviewState(id=review.id, workflow=review.workflow, week=review.week,
                                owner=review.owner, status=review.status,
                                opened_at=review.opened_at, due=review.due,
                                breaches=tuple(review.breaches))
            rows += [a.row() for a in risk_review_reminder_alerts(registry, state, number)]
            reminders.mark_reminded(session, review.id, now)
        return outbox.enqueue(session, rows, due=now) if rows else 0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dispatch(
    factory: sessionmaker[Session],
    registry: Registry,
    channels: Channels,
    *,
    policy: DispatchPolicy | None = None,
    clock: Clock = system_clock,
    rand: Callable[[], float] = random.random,
    worker: str | None = None,
) -> DispatchReport:
    """Queue due reminders, then send every due alert once; see the module docstring.

    Example:
        >>> with databases.open_database(url) as factory:   # doctest: +SKIP
        ...     channels = Channels.from_settings(settings)
        ...     try:
        ...         report = dispatch(factory, loaded.registry, channels)
        ...     finally:
        ...         channels.close()
    """
    run = _Dispatch(factory, registry, channels, policy or DispatchPolicy(),
                    clock, rand, worker or worker_id())
    try:
        return run.run()
    finally:
        channels.close()
