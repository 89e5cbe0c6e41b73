"""Problems found in a registry, located by file, line and document path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]

Loc = tuple[str | int, ...]
"""A place in the document: mapping keys (str) and list indexes (int), from the top."""


def format_path(loc: Loc) -> str:
    """`('workflows', 'support', 'stages', 2, 'owner')` → `workflows.support.stages[2].owner`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class Problem(NamedTuple):
    """A problem before it is given a file and line."""

    severity: Severity
    loc: Loc
    message: str
    line: int | None = None
    """Set when the line is not simply the line of `loc` (a duplicate key's second use)."""


@dataclass(frozen=True)
class RegistryIssue:
    severity: Severity
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"


def sort_issues(issues: Iterable[RegistryIssue]) -> list[RegistryIssue]:
    """In file order; issues about the whole file first."""
    return sorted(issues, key=lambda i: (i.line is not None, i.line or 0))


class RegistryError(Exception):
    """The registry is invalid. `issues` holds every error; `warnings` any warnings found too."""

    def __init__(
        self, issues: list[RegistryIssue], warnings: list[RegistryIssue] | None = None
    ) -> None:
        self.issues = issues
        self.warnings = warnings or []
        super().__init__("\n".join(str(issue) for issue in issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)


class UnknownWorkflowError(LookupError):
    """The workflow id is not in the registry; the message lists the known ones."""
