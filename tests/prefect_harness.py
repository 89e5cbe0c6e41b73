"""Prefect's test harness, started once per test session: a temporary API server on its own
SQLite database, shared by the flow tests (tests/digest/test_digest_flow.py,
tests/pipeline/test_run_flow.py, tests/sync/test_sync_flow.py) that ask for `prefect_api`.

A plugin (registered by tests/conftest.py) rather than a fixture of one directory, so that the
three directories get the same server instead of one each. Prefect is imported only when a test
asks for the fixture: the rest of the suite does not pay for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # a generous start-up timeout: the temporary server takes far longer than its default 30 s
    # on a loaded machine (benchmarks running beside the tests)
    with prefect_test_harness(server_startup_timeout=180), temporary_settings(
        {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    ):
        yield
