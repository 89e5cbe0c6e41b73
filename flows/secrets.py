"""Secrets for deployed flows from Prefect Secret blocks, when the environment lacks them.

A worker host need not carry credentials in its environment: an operator can store each one
as a Prefect Secret block named after its variable in lower case with dashes
(`JIRA_API_TOKEN` → `jira-api-token`, `SLACK_WEBHOOK_SUPPORT` → `slack-webhook-support`).
At the start of a flow run, every secret variable the project reads (the fixed ones below, and
the `env:NAME` references of the registry's alert channels) that is set neither in the
environment nor in `.env` is looked up once; a block found is placed in this flow-run process's
environment, where the settings and channels read it like any other variable. The environment
wins over a block, so a local override needs no Prefect change. Values are registered for
redaction and never logged; only variable names are.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from accountability.config.registry_file import load_registry_file
from accountability.config.settings import Settings, load_settings
from accountability.sources import SOURCES
from connectors.outbound import register_secret
from rules.channels import CHANNELS
from rules.registry import Registry, RegistryError

SECRET_VARIABLES = (*(v for source in SOURCES for v in source.secret_variables), "SMTP_PASSWORD")

log = logging.getLogger(__name__)
_lock = threading.Lock()
_looked_up: set[str] = set()


def block_name(variable: str) -> str:
    """The Secret block that may hold `variable` (block names allow lower case and dashes)."""
    return variable.lower().replace("_", "-")


def flow_settings() -> Settings:
    """`load_settings()`, after filling missing secrets from Prefect Secret blocks."""
    settings = load_settings()
    fill_from_secret_blocks(secret_variables(_registry(settings.registry)))
    return load_settings()


def secret_variables(registry: Registry | None) -> list[str]:
    names = list(SECRET_VARIABLES)
    for workflow in registry.workflows.values() if registry else ():
        for channel in CHANNELS:
            reference = channel.setting_of(workflow.alerts) if channel.secret else None
            if isinstance(reference, str) and reference.startswith("env:"):
                names.append(reference[4:])
    return sorted(set(names))


def fill_from_secret_blocks(variables: list[str], env_file: Path = Path(".env")) -> list[str]:
    """Set each of `variables` missing from the environment and `.env` from its Secret block;
    returns the names it set. Each variable is looked up at most once per process."""
    dotenv = dotenv_values(env_file) if env_file.is_file() else {}
    with _lock:
        wanted = [v for v in variables
                  if v not in _looked_up and not os.environ.get(v) and not dotenv.get(v)]
        _looked_up.update(wanted)
    filled = []
    for variable in wanted:
        value = _read_block(block_name(variable))
        if value:
            register_secret(value)
            os.environ[variable] = value
            filled.append(variable)
    if filled:
        log.info("secrets read from Prefect Secret blocks: %s", ", ".join(filled))
    return filled


def _read_block(name: str) -> str | None:
    from prefect.blocks.system import Secret

    try:
        block: Any = Secret.load(name, _sync=True)  # type: ignore[call-arg]
    except ValueError:  # no block by that name
        return None
    value = block.get()
    return value if isinstance(value, str) and value else None


def _registry(path: Path) -> Registry | None:
    """The registry if it parses; if not, the flow's preflight reports it properly."""
    try:
        return load_registry_file(path).registry
    except RegistryError:
        return None
