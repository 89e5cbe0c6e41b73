"""The Prefect alert flow is a thin wrapper: its task dispatches with the environment's
settings (run here without Prefect's engine; orchestration is tested for the sync flow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.routing import unauthorized_change_alerts
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from tests.alerts.conftest import SmtpServer, enqueue, load, registry_text, verdict


def test_alert_task_dispatches_with_the_environment_settings(
    tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.alert import alert_flow, dispatch_alerts

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    upgrade(url)
    text = registry_text(without_alerts=True)
    (tmp_path / "registry.yaml").write_text(text, encoding="utf-8")
    engine = make_engine(url)
    try:
        enqueue(session_factory(engine), unauthorized_change_alerts(load(text).registry,
                                                                    verdict(1)))
    finally:
        engine.dispose()
    monkeypatch.chdir(tmp_path)
    for key, value in {"ACCOUNTABILITY_DATABASE_URL": url,
                       "ACCOUNTABILITY_REGISTRY": str(tmp_path / "registry.yaml"),
                       "SMTP_HOST": smtp_server.host, "SMTP_PORT": str(smtp_server.port),
                       "SMTP_STARTTLS": "false"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SMTP_USERNAME", raising=False)
    result = dispatch_alerts.fn()
    assert (result["sent"], result["failed"], result["messages"]) == (2, 0, {"email": 1})
    assert result["line"].startswith("alerts: 2 sent (1 email)")
    assert len(smtp_server.mailroom.received) == 1
    assert alert_flow.name == "alert"
