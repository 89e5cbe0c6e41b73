"""Reading what the digest needs from the database, as the plain facts `rules.digest` takes.

Text from Jira, PagerDuty, a leader's note or an SMTP server is untrusted: each string is made
one line without control or bidi characters, of bounded length, here, before any rule or
template sees it; a link is kept only when it is an http(s) URL.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from accountability.usecases import reset
from connectors.text import one_line, safe_url
from rules.digest import TREND_WEEKS, DeadAlert, DecisionRecord, DigestInputs
from rules.facts import Finding as FindingFact
from rules.facts import WeekScore
from rules.registry import LoadedRegistry, RegistryIssue
from rules.reset import ResetTracker, build_tracker, local_day, running
from rules.weeks import monday, shift_week, week_bounds, weeks_between
from storage import digests as store
from storage import evaluations, outbox
from storage.models import AlertOutbox, Decision, Finding, Scorecard

TITLE_LIMIT = 200
REASON_LIMIT = 600
NOTE_LIMIT = 500
ERROR_LIMIT = 300
ID_LIMIT = 120
_JIRA_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[0-9]+")


def gather(
    session: Session,
    loaded: LoadedRegistry,
    week: str,
    now: datetime,
    *,
    jira_browse_base: str | None = None,
) -> DigestInputs:
    """The facts of the digest of `week`: 8 trend weeks and the week before them, decisions for
    the last two weeks, reviews, the week's findings, registry gaps, dead alerts.

    `jira_browse_base` (`JIRA_URL`) links Jira items whose finding was stored without a link.
    """
    registry = loaded.registry
    start, end = week_bounds(week, registry.tz)
    weeks = weeks_between(shift_week(week, -TREND_WEEKS), week)
    rows = [*store.week_findings(session, start, end), *store.open_registry_gaps(session)]
    base = jira_browse_base.rstrip("/") if jira_browse_base else None
    return DigestInputs(
        week=week,
        now=now,
        scores=[week_score(row) for row in store.scorecards(session, weeks)],
        decisions=[decision(row) for row in store.decisions(session, [shift_week(week, -1),
                                                                      week])],
        reviews=evaluations.review_states(session),
        findings=[finding(row, base) for row in rows],
        dead_alerts=[dead_alert(row) for row in outbox.dead_alerts(session)],
        registry_warnings=[warning(issue) for issue in loaded.warnings],
        reset=_reset(session, loaded, week, now),
    )


def _reset(
    session: Session, loaded: LoadedRegistry, week: str, now: datetime
) -> ResetTracker | None:
    """The reset's checklist as it stands now, when a reset runs in the digest week (like the
    risk reviews, a past week's digest shows today's state)."""
    registry = loaded.registry
    first = monday(week)
    if not running(registry.reset, first, first + timedelta(days=6)):
        return None
    tracker = build_tracker(registry, reset.gather_facts(session, registry,
                                                         local_day(now, registry)))
    return replace(tracker, lines=tuple(
        replace(line, evidence=one_line(line.evidence, REASON_LIMIT)) for line in tracker.lines))


def week_score(row: Scorecard) -> WeekScore:
    """A stored scorecard (`storage.evaluations.week_score`: a row whose exception rate is null
    measured nothing), its recommendation sentence made one safe line."""
    return replace(evaluations.week_score(row), recommendation_rule=one_line(
        row.recommendation_rule or row.recommendation, REASON_LIMIT))


def decision(row: Decision) -> DecisionRecord:
    return DecisionRecord(workflow=row.workflow, week=row.week, decision=row.decision,
                          by=one_line(row.by, ID_LIMIT),
                          note=one_line(row.note, NOTE_LIMIT) if row.note else None,
                          recorded_at=row.recorded_at)


def finding(row: Finding, jira_browse_base: str | None) -> FindingFact:
    details = dict(row.details or {})
    title = details.get("title")
    url = safe_url(details.get("url"))
    item = one_line(row.item, ID_LIMIT) if row.item else None
    if (url is None and item and jira_browse_base and details.get("source") != "pagerduty"
            and _JIRA_KEY.fullmatch(item)):
        url = safe_url(f"{jira_browse_base}/browse/{item}")
    owners = details.get("owners")
    details.update(
        title=one_line(title, TITLE_LIMIT) if isinstance(title, str) and title else None,
        url=url,
    )
    if isinstance(owners, list):
        details["owners"] = [one_line(o, ID_LIMIT) for o in owners]
    return FindingFact(
        key=row.key,
        type=row.type,
        workflow=row.workflow,
        item=item,
        at=row.at,
        reason=one_line(row.reason, REASON_LIMIT),
        actor=one_line(row.actor, ID_LIMIT) if row.actor else None,
        from_ids=tuple(one_line(p, ID_LIMIT) for p in row.from_ids),
        to_ids=tuple(one_line(p, ID_LIMIT) for p in row.to_ids),
        rule=row.rule,
        details=details,
    )


def dead_alert(row: AlertOutbox) -> DeadAlert:
    return DeadAlert(id=row.id, kind=row.kind, workflow=row.workflow, channel=row.channel,
                     recipient=one_line(row.recipient, ID_LIMIT), attempts=row.attempts,
                     error=one_line(row.last_error, ERROR_LIMIT) if row.last_error else None,
                     created_at=row.created_at)


def warning(issue: RegistryIssue) -> str:
    where = f"{issue.path}: " if issue.path else ""
    return one_line(f"registry warning: {where}{issue.message}", REASON_LIMIT)
