"""The `accountability` command: its commands, the tables it prints, the demo."""

from accountability.cli.commands import main

__all__ = ["main"]
