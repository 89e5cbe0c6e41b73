"""The findings page reads its keys in `ix_findings_at_key_cover`'s order whatever the filters
(SQLite): a plan that takes another index sorts every match, which at a million events costs
the page hundreds of milliseconds (docs/benchmarks.md, "Web pages")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import and_, select, text

from storage import web_queries as q
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import Finding

WEEK = (datetime(2026, 11, 15, 23, tzinfo=UTC), datetime(2026, 11, 22, 23, tzinfo=UTC))


@pytest.mark.parametrize("wanted", [
    q.FindingFilter(),
    q.FindingFilter(type="unauthorized_change"),
    q.FindingFilter(status="ratified"),
    q.FindingFilter(workflow="support"),
    q.FindingFilter(workflow="support", type="unauthorized_change", status="open"),
    q.FindingFilter(since=WEEK[0], until=WEEK[1], type="ownership_churn"),
    q.FindingFilter(person="sam", source="jira"),
], ids=["none", "type", "status", "workflow", "workflow-type-status", "week-type",
        "person-source"])
def test_findings_keys_come_in_index_order(tmp_path: Path, wanted: q.FindingFilter) -> None:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            query = (select(Finding.key).where(and_(*q._finding_conditions(session, wanted)))
                     .order_by(Finding.at.desc(), Finding.key.desc()).limit(51).offset(9950))
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = " | ".join(row[-1] for row in session.execute(
                text(f"EXPLAIN QUERY PLAN {compiled}")))
    finally:
        engine.dispose()
    assert "ix_findings_at_key_cover" in plan
    assert "TEMP B-TREE" not in plan, plan
