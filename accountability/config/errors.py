"""Errors the command line turns into a message and an exit code instead of a traceback."""

from __future__ import annotations


class UsageError(Exception):
    """Bad usage or configuration: exit code 2 with a message that says what to fix."""


class ConfigError(UsageError):
    """A setting is missing or invalid; the message names the environment variable."""
