"""Migrations match the models, and the schema guard tells the user what to run."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Engine, inspect, make_url, text

from storage.engine import make_engine
from storage.errors import SchemaNotMigrated, SchemaOutdated, SchemaTooNew, StorageError
from storage.migrate import MIGRATIONS_DIR, alembic_config, check_schema, head_revision, upgrade
from storage.models import Base
from tests.conftest import create_pg_database, drop_pg_database

EXPECTED_TABLES = {
    "registry_snapshots",
    "people",
    "jira_issues",
    "jira_changelog_items",
    "pd_incidents",
    "pd_log_entries",
    "ownership_events",
    "findings",
    "ratifications",
    "risk_reviews",
    "scorecards",
    "decisions",
    "alert_outbox",
    "sync_cursors",
    "quarantine",
    "digest_sends",
    "jira_issue_workflows",
    "alert_breakers",
    "reset_confirmations",
    "map_writes",
    "web_audit",
}


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_models_declare_every_table() -> None:
    assert set(Base.metadata.tables) == EXPECTED_TABLES


def test_upgrade_creates_every_table_matching_the_models(blank_url: str) -> None:
    upgrade(blank_url)
    upgrade(blank_url)  # a second run is a no-op
    engine = make_engine(blank_url)
    try:
        assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES | {"alembic_version"}
        assert _diff(engine) == []
        check_schema(engine)
        with engine.begin() as connection:  # the comparison does see a difference
            connection.execute(text("DROP INDEX ix_findings_type_status"))
        assert [entry[0] for entry in _diff(engine)] == ["add_index"]  # type: ignore[index]
    finally:
        engine.dispose()


def test_downgrade_removes_everything_and_upgrade_restores_it(blank_url: str) -> None:
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(blank_url)
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_check_schema_on_an_empty_database_says_to_upgrade(blank_url: str) -> None:
    engine = make_engine(blank_url)
    try:
        with pytest.raises(SchemaNotMigrated) as caught:
            check_schema(engine)
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "has no schema" in message
    assert "run `accountability db upgrade`" in message
    assert make_url(blank_url).database in message  # type: ignore[operator]
    assert isinstance(caught.value, StorageError)


def test_check_schema_on_a_newer_database_says_to_upgrade_the_tool(blank_url: str) -> None:
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00d_future'"))
        with pytest.raises(SchemaTooNew) as caught:
            check_schema(engine)
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "newer version of accountability-stack" in message
    assert "revision f00d_future unknown" in message
    assert "upgrade the tool" in message


def test_check_schema_on_an_older_revision_says_to_upgrade(blank_url: str) -> None:
    upgrade(blank_url, revision="0001")
    engine = make_engine(blank_url)
    try:
        with pytest.raises(SchemaOutdated) as caught:
            check_schema(engine)
    finally:
        engine.dispose()
    assert "is at revision 0001" in str(caught.value)
    assert "run `accountability db upgrade`" in str(caught.value)


def test_upgrade_from_an_older_revision_reaches_head(blank_url: str) -> None:
    upgrade(blank_url, revision="0001")
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        check_schema(engine)
        assert _diff(engine) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_schema_errors_never_show_the_password(pg_admin_url: URL) -> None:
    url = create_pg_database(pg_admin_url)
    if url.password is None:
        url = url.set(password="s3cret-pw")  # trust auth: accepted and ignored
    try:
        engine = make_engine(url.render_as_string(hide_password=False))
        try:
            with pytest.raises(SchemaNotMigrated) as caught:
                check_schema(engine)
        finally:
            engine.dispose()
    finally:
        drop_pg_database(pg_admin_url, url)
    assert str(url.password) not in str(caught.value)
    assert "***" in str(caught.value)


def test_head_is_the_newest_revision_file() -> None:
    versions = sorted(
        p.name.split("_")[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
    )
    assert head_revision() == versions[-1]


def test_upgrading_past_0006_keeps_every_issue_and_its_changelog(blank_url: str) -> None:
    """0006 rebuilds `jira_issues` on SQLite: the parent of changelog rows whose foreign key
    cascades on delete. Nothing synced may be lost, and two issues may then share a key."""
    upgrade(blank_url, revision="0005")
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO jira_issues (id, key, project, created, updated, raw, synced_at) "
                "VALUES ('1', 'SUP-1', 'SUP', '2026-11-02 09:00:00', '2026-11-02 09:00:00', "
                "'{}', '2026-11-02 09:00:00')"))
            connection.execute(text(
                "INSERT INTO jira_changelog_items (history_id, item_index, issue_id, issue_key, "
                "created, field, raw) VALUES ('h1', 0, '1', 'SUP-1', '2026-11-02 10:00:00', "
                "'assignee', '{}')"))
    finally:
        engine.dispose()
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        assert _diff(engine) == []
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM jira_changelog_items")) == 1
            connection.execute(text(
                "INSERT INTO jira_issues (id, key, project, created, updated, raw, synced_at) "
                "VALUES ('2', 'SUP-1', 'SUP', '2026-11-02 09:00:00', '2026-11-02 09:00:00', "
                "'{}', '2026-11-02 09:00:00')"))
            assert connection.scalar(text("SELECT count(*) FROM jira_issues")) == 2
            if engine.dialect.name == "sqlite":
                assert connection.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        engine.dispose()


def test_0007_adds_the_breaker_table_and_keeps_the_outbox(blank_url: str) -> None:
    """0007 adds `alert_breakers` beside an outbox that may hold pending alerts: they stay as
    they were, and a downgrade removes only the new table."""
    upgrade(blank_url, revision="0006")
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO alert_outbox (dedup_key, kind, workflow, channel, recipient, "
                "subject_ref, payload, status, attempts, next_attempt_at, created_at) VALUES "
                "('k', 'unauthorized_change', 'support', 'email', 'maria', 'f', '{}', "
                "'pending', 2, '2026-11-28 09:01:00', '2026-11-28 09:00:00')"))
    finally:
        engine.dispose()
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        assert _diff(engine) == []
        with engine.begin() as connection:
            assert connection.execute(text(
                "SELECT status, attempts FROM alert_outbox")).all() == [("pending", 2)]
            assert connection.scalar(text("SELECT count(*) FROM alert_breakers")) == 0
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0006")
        assert "alert_breakers" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM alert_outbox")) == 1
    finally:
        engine.dispose()


def test_0008_adds_the_origin_of_governance_actions_and_keeps_earlier_ones(
    blank_url: str,
) -> None:
    """Decisions, ratifications and review acknowledgements recorded before 0008 stay, with
    no origin ("not recorded", never a guess); new ones can carry it; a downgrade keeps them."""
    upgrade(blank_url, revision="0007")
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO decisions (workflow, week, decision, by, note, recorded_at) "
                "VALUES ('support', '2026-W46', 'pause', 'dana', NULL, '2026-11-23 08:00:00')"))
            connection.execute(text(
                "INSERT INTO risk_reviews (id, workflow, week, owner, status, opened_at, due, "
                "breaches, acknowledged_at, acknowledged_by) VALUES ('support-2026-W46', "
                "'support', '2026-W46', 'lee', 'acknowledged', '2026-11-23 08:00:00', "
                "'2026-11-30', '[]', '2026-11-23 09:00:00', 'lee')"))
    finally:
        engine.dispose()
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        assert _diff(engine) == []
        with engine.begin() as connection:
            assert connection.execute(text(
                "SELECT by, os_user, host, flow_run_id FROM decisions")).all() == [
                    ("dana", None, None, None)]
            assert connection.execute(text(
                "SELECT acknowledged_by, acknowledged_os_user, acknowledged_host, "
                "closed_os_user FROM risk_reviews")).all() == [("lee", None, None, None)]
            connection.execute(text(
                "UPDATE decisions SET os_user = 'omar', host = 'laptop-7', flow_run_id = 'r1'"))
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0007")
        columns = {c["name"] for c in inspect(engine).get_columns("decisions")}
        assert "os_user" not in columns and "by" in columns
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM decisions")) == 1
            assert connection.scalar(text("SELECT count(*) FROM risk_reviews")) == 1
    finally:
        engine.dispose()


def test_upgrading_past_0009_keeps_log_entries_and_events_and_orders_new_ones(
    blank_url: str,
) -> None:
    """0009 adds the same-second order: rows synced before keep their data (no rank: the id
    breaks ties as before; events at place 0), and new rows can store a rank and a place."""
    upgrade(blank_url, revision="0008")
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO pd_log_entries (id, incident_id, type, created_at, assignees, raw, "
                "synced_at) VALUES ('R1', 'Q1', 'assign_log_entry', '2026-11-02 09:00:00', "
                "'[]', '{}', '2026-11-02 09:00:00')"))
            connection.execute(text(
                "INSERT INTO ownership_events (source_ref, source, item, at, actor_ref, "
                "actor_kind, from_refs, to_refs, event_type) VALUES ('pagerduty:R1', "
                "'pagerduty', 'Q1', '2026-11-02 09:00:00', 'pagerduty:P1', 'service', '[]', "
                "'[]', 'assign_log_entry')"))
    finally:
        engine.dispose()
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        assert _diff(engine) == []
        with engine.begin() as connection:
            assert connection.execute(text(
                "SELECT id, tie_rank FROM pd_log_entries")).all() == [("R1", None)]
            assert connection.execute(text(
                "SELECT source_ref, seq FROM ownership_events")).all() == [("pagerduty:R1", 0)]
            connection.execute(text("UPDATE pd_log_entries SET tie_rank = 2"))
            assert connection.scalar(text("SELECT tie_rank FROM pd_log_entries")) == 2
    finally:
        engine.dispose()
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0008")
        columns = {c["name"] for c in inspect(engine).get_columns("pd_log_entries")}
        assert "tie_rank" not in columns
    finally:
        engine.dispose()


def test_0010_adds_the_reset_tables_empty_and_keeps_decisions(blank_url: str) -> None:
    """0010 adds `reset_confirmations` and `map_writes`, empty, beside decisions recorded
    before; a confirmation of an item the tracker does not know is refused by the CHECK; a
    downgrade removes only the two tables."""
    upgrade(blank_url, revision="0009")
    engine = make_engine(blank_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO decisions (workflow, week, decision, by, note, recorded_at) "
                "VALUES ('support', '2026-W46', 'pause', 'dana', NULL, '2026-11-23 08:00:00')"))
    finally:
        engine.dispose()
    upgrade(blank_url)
    engine = make_engine(blank_url)
    try:
        assert _diff(engine) == []
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM reset_confirmations")) == 0
            assert connection.scalar(text("SELECT count(*) FROM map_writes")) == 0
            assert connection.scalar(text("SELECT count(*) FROM decisions")) == 1
            connection.execute(text(
                "INSERT INTO reset_confirmations (workflow, started, item, by, at) VALUES "
                "('support', '2026-11-30', 'decision-rights', 'dana', '2026-12-08 09:00:00')"))
        with pytest.raises(Exception, match="(?i)check"), engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO reset_confirmations (workflow, started, item, by, at) VALUES "
                "('support', '2026-11-30', 'owners', 'dana', '2026-12-08 09:00:00')"))
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0009")
        tables = set(inspect(engine).get_table_names())
        assert {"reset_confirmations", "map_writes"}.isdisjoint(tables)
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM decisions")) == 1
    finally:
        engine.dispose()
