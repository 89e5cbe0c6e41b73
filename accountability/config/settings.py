"""Configuration from the environment and `.env` (SPEC §9).

Secrets are `SecretStr` so that a settings object printed, logged or put in an exception shows
`**********` instead of the value. A credential is only required by the command that uses it:
`require_*` raise `ConfigError` naming the variable to set, which the CLI turns into exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from accountability.config.errors import ConfigError
from accountability.links import LinkMaker, link_maker
from connectors.http import (
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_RESPONSE_MB,
    DEFAULT_RATE_LIMIT_BUDGET,
    DEFAULT_REQUEST_DEADLINE,
    RequestLimits,
)
from connectors.jira import DEFAULT_CONCURRENCY
from connectors.pagerduty import PAGERDUTY_CONCURRENCY, PAGERDUTY_RATE_LIMIT
from connectors.smtp_security import SmtpSecurity


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Every variable of SPEC §9; field aliases are the environment variable names."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    registry: Path = Field(Path("registry.yaml"), validation_alias=_env("ACCOUNTABILITY_REGISTRY"))
    database_url: str = Field(
        "sqlite:///./accountability.db", validation_alias=_env("ACCOUNTABILITY_DATABASE_URL")
    )
    jira_url: str | None = Field(None, validation_alias=_env("JIRA_URL"))
    jira_email: str | None = Field(None, validation_alias=_env("JIRA_EMAIL"))
    jira_api_token: SecretStr | None = Field(None, validation_alias=_env("JIRA_API_TOKEN"))
    jira_pat: SecretStr | None = Field(None, validation_alias=_env("JIRA_PAT"))
    pagerduty_api_token: SecretStr | None = Field(
        None, validation_alias=_env("PAGERDUTY_API_TOKEN")
    )
    pagerduty_api_url: str = Field(
        "https://api.pagerduty.com", validation_alias=_env("PAGERDUTY_API_URL")
    )
    sync_start: date | None = Field(None, validation_alias=_env("ACCOUNTABILITY_SYNC_START"))
    ca_bundle: Path | None = Field(None, validation_alias=_env("ACCOUNTABILITY_CA_BUNDLE"))
    smtp_host: str = Field("localhost", validation_alias=_env("SMTP_HOST"))
    smtp_port: int = Field(25, ge=1, le=65535, validation_alias=_env("SMTP_PORT"))
    smtp_username: str | None = Field(None, validation_alias=_env("SMTP_USERNAME"))
    smtp_password: SecretStr | None = Field(None, validation_alias=_env("SMTP_PASSWORD"))
    smtp_starttls: bool = Field(False, validation_alias=_env("SMTP_STARTTLS"))
    smtp_security: SmtpSecurity | None = Field(None, validation_alias=_env("SMTP_SECURITY"))
    """`starttls`, `tls` (implicit, port 465) or `none`; unset: `SMTP_STARTTLS` decides."""
    smtp_from: str = Field("accountability@localhost", validation_alias=_env("SMTP_FROM"))
    smtp_timeout: float = Field(30.0, gt=0, validation_alias=_env("SMTP_TIMEOUT"))
    pagerduty_events_url: str = Field(
        "https://events.pagerduty.com", validation_alias=_env("PAGERDUTY_EVENTS_URL")
    )
    alert_max_attempts: int = Field(
        8, ge=1, le=100, validation_alias=_env("ACCOUNTABILITY_ALERT_MAX_ATTEMPTS")
    )
    # Limits of the inbound connectors (docs/sync.md, "Limits"): a rate limit is waited out
    # up to a time budget per request; a misbehaving server costs at most so many pages per
    # query, so many MB per response and so many seconds per request.
    rate_limit_budget: float = Field(
        DEFAULT_RATE_LIMIT_BUDGET, ge=0, le=86400,
        validation_alias=_env("ACCOUNTABILITY_RATE_LIMIT_BUDGET"),
    )
    max_pages: int = Field(
        DEFAULT_MAX_PAGES, ge=1, validation_alias=_env("ACCOUNTABILITY_MAX_PAGES")
    )
    max_response_mb: float = Field(
        DEFAULT_MAX_RESPONSE_MB, gt=0, validation_alias=_env("ACCOUNTABILITY_MAX_RESPONSE_MB")
    )
    request_deadline: float = Field(
        DEFAULT_REQUEST_DEADLINE, gt=0, validation_alias=_env("ACCOUNTABILITY_REQUEST_DEADLINE")
    )

    # PagerDuty: requests a minute this process (and, through the `pagerduty-api` global
    # concurrency limit, every worker) may send with the token; PagerDuty allows 960 a minute
    # per API key (docs/operations.md §3.5). Windows fetched at once by one sync.
    pagerduty_rate_limit: int = Field(
        PAGERDUTY_RATE_LIMIT, ge=2, le=100_000,
        validation_alias=_env("ACCOUNTABILITY_PAGERDUTY_RATE_LIMIT"),
    )
    pagerduty_concurrency: int = Field(
        PAGERDUTY_CONCURRENCY, ge=1, le=64,
        validation_alias=_env("ACCOUNTABILITY_PAGERDUTY_CONCURRENCY"),
    )

    # The web app (SPEC §13, docs/operations.md "Web app"): links in e-mails need both the
    # public URL and the key; `serve` needs the key.
    public_url: str | None = Field(None, validation_alias=_env("ACCOUNTABILITY_PUBLIC_URL"))
    signing_key: SecretStr | None = Field(
        None, validation_alias=_env("ACCOUNTABILITY_SIGNING_KEY")
    )
    trusted_user_header: str | None = Field(
        None, validation_alias=_env("ACCOUNTABILITY_TRUSTED_USER_HEADER")
    )
    link_days: int = Field(14, ge=1, le=90, validation_alias=_env("ACCOUNTABILITY_LINK_DAYS"))

    def link_maker(self) -> LinkMaker | None:
        """What signs the links in alert e-mails and the digest; None (no links) unless both
        `ACCOUNTABILITY_PUBLIC_URL` and `ACCOUNTABILITY_SIGNING_KEY` are set."""
        key = self.signing_key.get_secret_value() if self.signing_key is not None else None
        return link_maker(self.public_url, key, self.link_days)
    jira_concurrency: int = Field(
        DEFAULT_CONCURRENCY, ge=1, le=64, validation_alias=_env("ACCOUNTABILITY_JIRA_CONCURRENCY")
    )
    """Requests one Jira partition keeps in flight at once (issue and changelog bulkfetches,
    Data Center search pages); partitions run side by side, each with its own client."""

    def request_limits(self) -> RequestLimits:
        """The connectors' `RequestLimits` from these settings."""
        return RequestLimits(
            max_pages=self.max_pages,
            max_response_bytes=max(int(self.max_response_mb * 1024 * 1024), 1),
            deadline=self.request_deadline,
        )
    slack_hosts_setting: str = Field(
        "hooks.slack.com", validation_alias=_env("ACCOUNTABILITY_SLACK_HOSTS")
    )
    """Comma-separated hosts a Slack webhook may point at; read it as `slack_hosts`."""

    @property
    def slack_hosts(self) -> tuple[str, ...]:
        """The hosts Slack alerts may be posted to (`ACCOUNTABILITY_SLACK_HOSTS`): a webhook
        URL is read from the environment, and without this list a wrong variable could send
        alerts (and the URL's own secret path) to any host."""
        hosts = (h.strip().lower() for h in self.slack_hosts_setting.split(","))
        return tuple(h for h in hosts if h)


_ALIASES = {
    name: str(field.validation_alias.choices[0])
    for name, field in Settings.model_fields.items()
    if isinstance(field.validation_alias, AliasChoices)
}


def load_settings(**overrides: object) -> Settings:
    """Read the environment; an invalid value is a `ConfigError` naming its variable.

    The offending value is never echoed: it may be a secret.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            variable = _ALIASES.get(field, field.upper())
            problems.append(f"{variable}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


@dataclass(frozen=True)
class JiraCredentials:
    """Cloud uses email + API token (basic auth); Data Center a personal access token."""

    url: str
    email: str | None
    token: SecretStr
    is_pat: bool


def require_jira(settings: Settings) -> JiraCredentials:
    if not settings.jira_url:
        raise ConfigError("JIRA_URL is not set: set it to your site, e.g. https://acme.atlassian.net")
    if settings.jira_pat is not None:
        return JiraCredentials(settings.jira_url, None, settings.jira_pat, is_pat=True)
    if not settings.jira_email or settings.jira_api_token is None:
        missing = "JIRA_EMAIL" if not settings.jira_email else "JIRA_API_TOKEN"
        raise ConfigError(
            f"{missing} is not set: Jira Cloud needs JIRA_EMAIL and JIRA_API_TOKEN "
            "(Data Center: JIRA_PAT)"
        )
    return JiraCredentials(settings.jira_url, settings.jira_email, settings.jira_api_token, False)


def require_pagerduty_token(settings: Settings) -> SecretStr:
    if settings.pagerduty_api_token is None:
        raise ConfigError(
            "PAGERDUTY_API_TOKEN is not set: create a REST API key in PagerDuty "
            "(Integrations → API Access Keys) and export it"
        )
    if not settings.pagerduty_api_url.startswith("https://"):
        raise ConfigError(
            "PAGERDUTY_API_URL must start with https:// (the PagerDuty client refuses http)"
        )
    return settings.pagerduty_api_token


SIGNING_KEY_HINT = ('make one with `python -c "import secrets; print(secrets.token_urlsafe(32))"` '
                    "and keep it secret (a .env file with mode 0600, or your secret store)")


def require_signing_key(settings: Settings) -> SecretStr:
    """`accountability serve` signs sessions and links and verifies the links it sent."""
    key = settings.signing_key
    if key is None or not key.get_secret_value().strip():
        raise ConfigError(f"ACCOUNTABILITY_SIGNING_KEY is not set: {SIGNING_KEY_HINT}")
    if len(key.get_secret_value()) < 16:
        raise ConfigError("ACCOUNTABILITY_SIGNING_KEY is too short (at least 16 characters): "
                          + SIGNING_KEY_HINT)
    return key
