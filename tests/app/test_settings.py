"""Configuration: defaults of SPEC §9, missing credentials named, secrets never shown."""

from __future__ import annotations

import pytest

from accountability.config.errors import ConfigError
from accountability.config.settings import load_settings, require_jira, require_pagerduty_token

SPEC_VARIABLES = (
    "ACCOUNTABILITY_REGISTRY", "ACCOUNTABILITY_DATABASE_URL", "JIRA_URL", "JIRA_EMAIL",
    "JIRA_API_TOKEN", "JIRA_PAT", "PAGERDUTY_API_TOKEN", "PAGERDUTY_API_URL",
    "ACCOUNTABILITY_SYNC_START", "ACCOUNTABILITY_CA_BUNDLE", "SMTP_HOST", "SMTP_PORT",
    "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_FROM",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in SPEC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]  # no stray .env


def test_defaults_match_the_spec() -> None:
    s = load_settings()
    assert str(s.registry) == "registry.yaml"
    assert s.database_url == "sqlite:///./accountability.db"
    assert s.pagerduty_api_url == "https://api.pagerduty.com"
    assert (s.smtp_host, s.smtp_port, s.smtp_starttls) == ("localhost", 25, False)
    assert s.smtp_from == "accountability@localhost"


def test_dotenv_file_is_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    Path(".env").write_text("SMTP_HOST=mail.acme.example\nSMTP_PORT=2525\n", encoding="utf-8")
    s = load_settings()
    assert (s.smtp_host, s.smtp_port) == ("mail.acme.example", 2525)


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "JIRA_URL"),
        ({"JIRA_URL": "https://acme.atlassian.net"}, "JIRA_EMAIL"),
        ({"JIRA_URL": "https://acme.atlassian.net", "JIRA_EMAIL": "a@b.c"}, "JIRA_API_TOKEN"),
    ],
    ids=["no-url", "no-email", "no-token"],
)
def test_missing_jira_credential_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], missing: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=missing):
        require_jira(load_settings())


def test_data_center_pat_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_URL", "https://jira.acme.example")
    monkeypatch.setenv("JIRA_PAT", "pat-secret-value")
    creds = require_jira(load_settings())
    assert creds.is_pat and creds.token.get_secret_value() == "pat-secret-value"


def test_missing_pagerduty_token_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="PAGERDUTY_API_TOKEN"):
        require_pagerduty_token(load_settings())


def test_plain_http_pagerduty_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", "x")
    monkeypatch.setenv("PAGERDUTY_API_URL", "http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="https://"):
        require_pagerduty_token(load_settings())


def test_secrets_never_appear_in_repr_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_API_TOKEN", "tok-SECRET-123")
    monkeypatch.setenv("SMTP_PASSWORD", "pw-SECRET-456")
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", "pd-SECRET-789")
    s = load_settings()
    shown = repr(s) + str(s) + s.model_dump_json()
    assert "SECRET" not in shown


def test_invalid_value_is_named_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PORT", "SECRET-not-a-number")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "SMTP_PORT" in str(info.value)
    assert "SECRET" not in str(info.value)
