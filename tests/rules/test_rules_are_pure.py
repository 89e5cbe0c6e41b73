"""SPEC §2: `rules/` is pure logic. It imports neither `connectors/`, `flows/`, `storage/` nor
the application shell (`accountability/`), and does no I/O: plain data in, plain data out, so
it is testable without a database or network. Checked on the source of every module under
`rules/`, subpackages included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
SOURCES = sorted(RULES.rglob("*.py"))

# The project's other rooms, and the modules that reach files, processes, the network, the
# environment or the clock.
FORBIDDEN_MODULES = frozenset({
    "connectors", "flows", "storage", "accountability", "sandbox",
    "httpx", "requests", "socket", "ssl", "http", "urllib", "smtplib", "aiosmtplib",
    "sqlalchemy", "sqlite3", "psycopg", "prefect",
    "os", "io", "pathlib", "shutil", "tempfile", "subprocess", "time",
})
# Called by name: the builtins that read or write outside the process, or import by name.
FORBIDDEN_BUILTINS = frozenset({"open", "print", "input", "__import__", "exec", "eval"})
# Called as a method: file access, dynamic imports, the clock (`today` is passed in, never read).
FORBIDDEN_METHODS = frozenset({
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "import_module",
    "now", "today", "utcnow",
})


def _module(source: Path) -> str:
    return ".".join(source.relative_to(REPO).with_suffix("").parts)


def _imported_roots(node: ast.AST, source: Path) -> set[str]:
    """The top-level packages an import statement reaches (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level == 0:
        return {(node.module or "").split(".")[0]}
    package = _module(source).split(".")[:-1]  # a module's package, or an __init__'s own
    base = package[: max(0, len(package) - (node.level - 1))]
    resolved = [*base, *(node.module or "").split(".")]
    return {next(part for part in resolved if part)} if any(resolved) else set()


def _forbidden_call(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
        return func.id
    if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_METHODS:
        # A method of the module's own class (`self.open()`, rules/findings.py) is checked
        # where it is defined; it reaches nothing outside.
        if isinstance(func.value, ast.Name) and func.value.id == "self":
            return None
        return func.attr
    return None


def _violations(code: str, source: Path) -> list[str]:
    """`line: imports X` / `line: calls Y` for each forbidden import or call in `code`."""
    found = []
    for node in ast.walk(ast.parse(code, str(source))):
        for root in sorted(_imported_roots(node, source) & FORBIDDEN_MODULES):
            found.append(f"{node.lineno}: imports {root}")
        if isinstance(node, ast.Call) and (name := _forbidden_call(node)) is not None:
            found.append(f"{node.lineno}: calls {name}")
    return found


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import httpx", ["1: imports httpx"]),
        ("from storage.models import Finding", ["1: imports storage"]),
        # relative imports are resolved (the sample sits in rules/registry/)
        ("from ...connectors import jira", ["1: imports connectors"]),
        ("from .. import facts", []),
        ("import os.path", ["1: imports os"]),
        ("import re\ntext = open('registry.yaml').read()", ["2: calls open"]),
        ("text = Path('registry.yaml').read_text()", ["1: calls read_text"]),
        ("at = datetime.now(UTC)", ["1: calls now"]),
        ("print('hello')", ["1: calls print"]),
        ("running = self.open()", []),
    ],
)
def test_the_check_finds_what_it_looks_for(code: str, expected: list[str]) -> None:
    assert _violations(code, RULES / "registry" / "load.py") == expected


def test_every_rules_module_is_checked() -> None:
    assert SOURCES, f"no Python source found under {RULES}"
    names = {path.relative_to(REPO).as_posix() for path in SOURCES}
    assert {
        "rules/__init__.py",
        "rules/authority.py",
        "rules/scorecard.py",
        "rules/registry/__init__.py",
        "rules/registry/load.py",
    } <= names


@pytest.mark.parametrize(
    "source", SOURCES, ids=[path.relative_to(RULES).as_posix() for path in SOURCES]
)
def test_rules_are_pure(source: Path) -> None:
    violations = _violations(source.read_text(encoding="utf-8"), source)
    assert violations == [], f"{source.relative_to(REPO).as_posix()}: {violations}"
