"""Text → `LoadedRegistry`, or a `RegistryError` listing every problem (pure: no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .issues import Loc, Problem, RegistryError, RegistryIssue, Severity, format_path, sort_issues
from .models import Registry
from .parse import Document, YamlProblem, parse_yaml
from .schema import check_types
from .validate import Names, check, check_ids, related


@dataclass(frozen=True)
class LoadedRegistry:
    registry: Registry
    warnings: list[RegistryIssue]
    content_hash: str
    """sha256 of the text (UTF-8): tells which registry a run used."""
    source: str
    text: str = ""
    """The registry's text as read, for a snapshot of the version a run used."""


def parse_registry(text: str, source: str = "registry.yaml") -> LoadedRegistry:
    """Parse and validate a registry; raise RegistryError with every error found."""
    content_hash = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    try:
        doc = parse_yaml(text)
    except YamlProblem as exc:
        raise RegistryError([RegistryIssue("error", source, exc.line, "", exc.message)]) from None
    stop = _shape_problem(doc)
    if stop is not None:
        raise RegistryError(_locate([stop], doc, source))

    problems = list(doc.problems)  # duplicate keys
    problems += check_ids(doc.data)
    typed = check_types(doc)
    problems += typed.problems
    if typed.registry is not None:
        for problem in check(typed.registry, Names.from_document(doc.data), typed.cut):
            loc = typed.document_loc(problem.loc)
            if not any(related(loc, cut) for cut in typed.cut):
                problems.append(problem._replace(loc=loc))

    issues = _locate(dict.fromkeys(problems), doc, source)
    errors = sort_issues(i for i in issues if i.severity == "error")
    warnings = sort_issues(i for i in issues if i.severity == "warning")
    if errors or typed.registry is None:
        raise RegistryError(errors, warnings)
    return LoadedRegistry(typed.registry, warnings, content_hash, source, text)


def _shape_problem(doc: Document) -> Problem | None:
    """Problems that make the rest meaningless: not a mapping, or another format version."""
    if not isinstance(doc.data, dict):
        found = "a list" if isinstance(doc.data, list) else f"'{doc.data}'"
        return Problem(
            "error",
            (),
            "a registry is a YAML mapping with keys such as version, "
            f"organization, people and workflows; found {found}",
        )
    version = doc.data.get("version", 1)
    if type(version) is not int or version != 1:
        shown = str(version).lower() if isinstance(version, bool) else repr(version)
        return Problem(
            "error",
            ("version",),
            f"unsupported registry version {shown}: this program reads version 1",
        )
    return None


def _locate(problems: Iterable[Problem], doc: Document, source: str) -> list[RegistryIssue]:
    return [
        RegistryIssue(p.severity, source, p.line or doc.line(p.loc), format_path(p.loc), p.message)
        for p in problems
    ]


def issue_at(
    loaded: LoadedRegistry, loc: Loc, message: str, severity: Severity = "error"
) -> RegistryIssue:
    """A problem found after loading (Jira's verdict on a workflow's jql), located by file,
    line and path like the registry's own, so the author reads it the same way."""
    try:
        line = parse_yaml(loaded.text).line(loc) if loaded.text else None
    except YamlProblem:
        line = None
    return RegistryIssue(severity, loaded.source, line, format_path(loc), message)
