"""Shared fixtures.

``engine``: a migrated, empty database, once on SQLite and once on PostgreSQL. The
PostgreSQL database is created for the test run and dropped at its end; every test
starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator, Iterator

import pytest
from sqlalchemy import URL, Engine, make_url, text
from sqlalchemy.pool import NullPool

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Base

# Prefect under test: no telemetry (its "database is locked" noise), quiet logs. Set before any
# test imports prefect so the settings are read with these values.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_UNREACHABLE = "PostgreSQL not reachable at"


def _admin_engine(url: URL) -> Engine:
    return make_engine(
        url.render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",  # CREATE/DROP DATABASE refuse to run in a transaction
        poolclass=NullPool,
        connect_args={"connect_timeout": 3},
    )


def _unreachable(url: URL) -> str:
    return (
        f"{PG_UNREACHABLE} {url.host or 'localhost'}:{url.port or 5432} — start it (pg_ctlcluster "
        "--skip-systemctl-redirect $(ls /etc/postgresql) main start) or set "
        "ACCOUNTABILITY_TEST_PG_URL"
    )


@pytest.fixture(scope="session")
def pg_admin_url() -> URL:
    """The server's maintenance URL. Skips when PostgreSQL is unreachable, fails if CI=true."""
    url = make_url(os.environ.get("ACCOUNTABILITY_TEST_PG_URL", PG_DEFAULT_URL))
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = _unreachable(url)
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} ({type(exc).__name__}: {exc})".replace("\n", " "))
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


def create_pg_database(admin_url: URL) -> URL:
    """A brand-new empty database on the server of ``admin_url``."""
    name = f"acct_test_{secrets.token_hex(6)}"
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return admin_url.set(database=name)


def drop_pg_database(admin_url: URL, url: URL) -> None:
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_database(pg_admin_url: URL) -> Iterator[str]:
    """The URL of a migrated PostgreSQL database that lives for the test run."""
    url = create_pg_database(pg_admin_url)
    try:
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        drop_pg_database(pg_admin_url, url)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report every "PostgreSQL not reachable" skip at one place, so ``-ra`` folds them into
    one line instead of one per test."""
    report = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and PG_UNREACHABLE in str(longrepr[2]):
        report.longrepr = (__file__, _unreachable.__code__.co_firstlineno, longrepr[2])
    return report


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database with empty tables: a fresh SQLite file, or the run's PostgreSQL
    database truncated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'accountability.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("pg_database")
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            with engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield engine
    finally:
        engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """Under `python -m tests.clock` the clock must really be a year ahead: a guard that
    silently ran on today's date would prove nothing."""
    from tests.clock import AHEAD, REAL_TIME_VARIABLE

    real = os.environ.get(REAL_TIME_VARIABLE)
    if real is not None:
        import time

        if time.time() < int(real) + AHEAD.total_seconds() - 3600:
            raise pytest.UsageError(
                f"{REAL_TIME_VARIABLE} is set but the clock is not {AHEAD.days} days ahead: "
                "libfaketime did not load (see tests/clock.py)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-stress", action="store_true",
                     help="run the `stress` tests: races repeated many times (make test-stress)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`stress` tests repeat a race until a one-in-ten failure would show: minutes, so they
    run in CI (`make test-stress`) and on request, not in every `make test`."""
    if config.getoption("--run-stress"):
        return
    skip = pytest.mark.skip(reason="a stress test: run with --run-stress (make test-stress; CI "
                                   "runs it)")
    for item in items:
        if "stress" in item.keywords:
            item.add_marker(skip)


# `prefect_api`: one Prefect test harness for the whole session (tests/prefect_harness.py).
pytest_plugins = ["tests.prefect_harness"]
