"""YAML text → plain Python data, with the line of every value.

PyYAML's own loader is not used as is: it silently keeps the last of two equal keys, loses
line numbers, and expands aliases without limit (a "billion laughs" document of a few hundred
bytes becomes 10⁹ values). Instead the text is composed into a node graph (safe tags only;
libyaml parses when present, the composer is PyYAML's and counts what it composes), the
graph's expanded size is measured before anything is built, and the data is built by walking
the nodes, which yields duplicate keys and the line of each document path on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from .issues import Loc, Problem

MAX_NODES: Final = 100_000
"""Values in the document once aliases are expanded; the example registry has about 600."""

_MAP: Final = "tag:yaml.org,2002:map"
_SEQ: Final = "tag:yaml.org,2002:seq"
_MERGE: Final = "tag:yaml.org,2002:merge"


class YamlProblem(Exception):
    """The text is not a YAML document we can read; nothing else can be checked."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Document:
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    plain_text: dict[Loc, str] = field(default_factory=dict)
    """Source text of unquoted scalars, to explain what YAML made of them (`NO` → false)."""
    problems: list[Problem] = field(default_factory=list)
    """Problems that do not stop the checks, such as duplicate keys."""

    def line(self, loc: Loc) -> int | None:
        """Line of `loc`, or of its nearest ancestor present in the document."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


MAX_FLOW_DEPTH: Final = 64
"""Nested [ and { brackets; PyYAML's pure-Python scanner slows down quadratically with them."""


class _Counting(Composer):
    """Stops composing once the document holds more nodes than any registry would.

    Without this a 1 MB list of numbers would be composed in full (seconds) before
    `_check_size` refused it.
    """

    nodes_seen = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.nodes_seen += 1
        if self.nodes_seen > MAX_NODES:
            event = self.peek_event()  # type: ignore[attr-defined]  # the parser's
            line = None if event is None else int(event.start_mark.line) + 1
            raise YamlProblem(line, _too_many_nodes(MAX_NODES))
        return super().compose_node(parent, index)


_FastLoader: type[SafeConstructor] | None
try:
    from yaml._yaml import CParser

    class _Fast(_Counting, CParser, SafeConstructor, Resolver):
        """libyaml scans and parses (fast, nesting capped at 1000); composing stays in Python."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _FastLoader = _Fast
except ImportError:  # PyYAML built without libyaml
    _FastLoader = None


class _PureLoader(_Counting, yaml.SafeLoader):
    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= MAX_FLOW_DEPTH:
            raise YamlProblem(int(self.get_mark().line) + 1, _TOO_DEEP)
        super().fetch_flow_collection_start(token_class)


_TOO_DEEP: Final = "the document is nested too deeply to be a registry"


def _too_many_nodes(limit: int) -> str:
    return (
        f"refusing to load: the document has more than {limit:,} values (counting every use "
        "of an alias such as *name); a registry needs far fewer"
    )


def _loader(text: str) -> Any:
    return (_FastLoader or _PureLoader)(text)  # type: ignore[call-arg]


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def parse_yaml(text: str) -> Document:
    """Parse one YAML document; raise YamlProblem when it cannot be read."""
    try:
        loader = _loader(text)
    except yaml.YAMLError as exc:  # the reader checks every character up front
        raise _problem(exc, text) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _problem(exc, text) from None
        except RecursionError:
            raise YamlProblem(None, _TOO_DEEP) from None
        if node is None:
            raise YamlProblem(None, "the registry is empty: it holds no YAML document")
        _check_size(node, MAX_NODES)
        builder = _Builder(loader)
        try:
            data = builder.build(node, ())
        except RecursionError:
            raise YamlProblem(None, _TOO_DEEP) from None
        builder.doc.data = data
        return builder.doc
    finally:
        loader.dispose()


def _problem(exc: yaml.YAMLError, text: str) -> YamlProblem:
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        return YamlProblem(
            text.count("\n", 0, exc.position) + 1,
            f"character {shown} is not allowed in YAML: remove it or save the file as UTF-8",
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else int(mark.line) + 1
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context == "expected a single document in the stream":
            return YamlProblem(line, "the file holds more than one YAML document (a second ---)")
        if _is_tab(text, exc.problem_mark):
            return YamlProblem(line, "invalid YAML: a tab character; indent with spaces")
        if "maximum nesting depth" in problem:
            return YamlProblem(line, _TOO_DEEP)
        message = f"invalid YAML: {problem}"
        if exc.context and exc.problem and exc.context_mark is not None:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        return YamlProblem(line, message)
    return YamlProblem(None, f"invalid YAML: {exc}")


def _is_tab(text: str, mark: Any) -> bool:
    if mark is None:
        return False
    lines = text.splitlines()
    line, column = int(mark.line), int(mark.column)
    return 0 <= line < len(lines) and lines[line][column : column + 1] == "\t"


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_size(root: Node, limit: int) -> None:
    """Refuse alias bombs and recursive aliases, measuring the graph without expanding it.

    Every node's expanded size is computed once (post-order, iterative), so the cost is
    linear in the text even when the expansion is astronomically large.
    """
    in_progress = -1
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[id(node)] = size
            if size > limit:
                raise YamlProblem(_line(node), _too_many_nodes(limit))
            continue
        if id(node) in sizes:
            continue
        sizes[id(node)] = in_progress
        stack.append((node, True))
        for child in _children(node):
            state = sizes.get(id(child))
            if state == in_progress:
                raise YamlProblem(
                    _line(child), "an alias refers to a value that contains it (a loop)"
                )
            if state is None:
                stack.append((child, False))


class _Builder:
    def __init__(self, loader: SafeConstructor) -> None:
        self.loader = loader
        self.doc = Document(data=None)

    def build(self, node: Node, loc: Loc) -> Any:
        if not loc:
            self.doc.lines[loc] = _line(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node, loc)
        if isinstance(node, SequenceNode):
            self._expect_tag(node, _SEQ)
            items = []
            for index, child in enumerate(node.value):
                self.doc.lines[(*loc, index)] = _line(child)
                items.append(self.build(child, (*loc, index)))
            return items
        if isinstance(node, MappingNode):
            self._expect_tag(node, _MAP)
            return self._mapping(node, loc)
        raise YamlProblem(_line(node), f"unsupported YAML node {type(node).__name__}")

    def _expect_tag(self, node: Node, tag: str) -> None:
        if node.tag != tag:
            raise YamlProblem(_line(node), f"unsupported YAML tag '{node.tag}'")

    def _scalar(self, node: ScalarNode, loc: Loc) -> Any:
        if not node.style:  # plain: '' from libyaml, None from PyYAML
            self.doc.plain_text[loc] = node.value
        return self._construct(node)

    def _key(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise YamlProblem(_line(node), "a key must be a plain value, not a list or mapping")
        return self._construct(node)

    def _construct(self, node: ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:  # an unknown tag such as !!python/object
            raise _problem(exc, "") from None
        except (ValueError, TypeError, OverflowError):
            # Looks like a date or number but is not one (2026-02-30): keep the text and let
            # the model say what it expected.
            return node.value

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merges = [pair for pair in node.value if pair[0].tag == _MERGE]
        # `<<: *defaults` supplies keys the mapping does not set itself; of several merged
        # mappings the first wins, so they are applied last to first, then the explicit keys.
        for _, value_node in merges:
            for source in reversed(self._merge_sources(value_node)):
                result.update(self._mapping(source, loc))
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._key(key_node)
            line = _line(key_node)
            path = (*loc, str(key))
            if key in first_line:
                message = (
                    f"duplicate key '{key}' (first on line {first_line[key]}); "
                    "YAML would silently keep only the last one"
                )
                self.doc.problems.append(Problem("error", path, message, line))
            else:
                first_line[key] = line
            self.doc.lines[path] = line
            result[key] = self.build(value_node, path)
        return result

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            return list(node.value)
        raise YamlProblem(_line(node), "'<<' must be followed by a mapping or a list of mappings")
