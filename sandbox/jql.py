"""A small JQL: the subset a sync connector emits, parsed and executed the way Jira Cloud does.

Supported: `AND`, `OR`, `NOT`, parentheses, `ORDER BY f [ASC|DESC], ...`; the fields `project`,
`key`/`issuekey`/`id`, `updated`, `created`, `resolutiondate`, `labels`, `status`, `assignee`,
`reporter`, `priority`, `issuetype`, `resolution`; the operators `= != > >= < <= IN NOT IN IS
IS NOT`; values as words, quoted strings, lists, `EMPTY`/`NULL`, and the functions `currentUser()`,
`now()`, `startOfDay()`.

Dates follow Jira: an unquoted number is epoch milliseconds; `yyyy-MM-dd HH:mm`, `yyyy/MM/dd HH:mm`,
`yyyy-MM-dd` and `yyyy/MM/dd` are wall-clock times in the *searching account's* time zone (the
`timeZone` of `/myself`), at minute precision; `-5d`, `4w 2d` are periods relative to now. A query
with no project, key or date restriction is refused as unbounded, as `/search/jql` refuses one.
Errors carry Jira's own sentences where known (see docs/sandbox.md).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import re
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from .data import Issue, World
from .timefmt import DAY_MS, HOUR_MS, MINUTE_MS, to_ms, zone

UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
BAD_TOKEN = "The provided nextPageToken is invalid or has expired."
DATE_FORMATS = (
    "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'"
)


class JqlError(ValueError):
    """A JQL the sandbox (like Jira) refuses; `messages` go into `errorMessages`."""

    def __init__(self, *messages: str) -> None:
        super().__init__(messages[0] if messages else "")
        self.messages = list(messages)


# --- tokens ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|>=|<=|!~|=|>|<|~)
      | (?P<punct>[(),])
      | (?P<word>[^\s()=,!<>~"']+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # "string" | "op" | "punct" | "word" | "end"
    text: str
    pos: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


#: Characters Jira reserves outside quotes (`.`, `/`, `:` and `-` stay usable in dates and ids).
RESERVED = frozenset("^$#@[];?|*%+")


def tokenize(text: str) -> list[Tok]:
    tokens: list[Tok] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(
                _at(
                    text, position, f"The character '{text[position]}' is a reserved JQL character."
                )
            )
        kind = match.lastgroup or "word"
        raw = match.group(kind)
        start = match.start(kind)
        reserved = next((c for c in raw if c in RESERVED), None) if kind == "word" else None
        if reserved is not None:
            raise JqlError(
                _at(
                    text,
                    start + raw.index(reserved),
                    (
                        f"The character '{reserved}' is a reserved JQL character. You must "
                        "enclose it in a string "
                        "or use the escape '\\u0025' instead."
                    ),
                )
            )
        if kind == "string":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append(Tok(kind, raw, start))
        position = match.end()
    tokens.append(Tok("end", "", len(text)))
    return tokens


def _at(text: str, position: int, message: str) -> str:
    return f"Error in the JQL Query: {message} (line 1, character {position + 1})"


# --- syntax tree ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Value:
    kind: str  # "text" | "number" | "empty" | "func" | "list"
    text: str = ""
    items: list[Value] = field(default_factory=list)
    quoted: bool = False


@dataclass(slots=True)
class Clause:
    field: str
    op: str
    value: Value
    pos: int


@dataclass(slots=True)
class Node:
    kind: str  # "and" | "or" | "not"
    children: list[Node | Clause]


Expr = Node | Clause


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def tok(self) -> Tok:
        return self.tokens[self.index]

    def take(self) -> Tok:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, message: str) -> JqlError:
        return JqlError(_at(self.text, self.tok.pos, message))

    def parse(self) -> tuple[Expr | None, list[tuple[str, bool, int]]]:
        where: Expr | None = None
        if not (self.tok.kind == "end" or self.tok.is_kw("ORDER")):
            where = self.or_expr()
        order: list[tuple[str, bool, int]] = []
        if self.tok.is_kw("ORDER"):
            self.take()
            if not self.tok.is_kw("BY"):
                raise self.fail(f"Expecting 'by' but got '{self.tok.text}'.")
            self.take()
            while True:
                if self.tok.kind not in ("word", "string"):
                    raise self.fail(f"Expecting a field name but got '{self.tok.text}'.")
                name = self.take()
                descending = False
                if self.tok.is_kw("ASC", "DESC"):
                    descending = self.take().text.upper() == "DESC"
                order.append((name.text, descending, name.pos))
                if self.tok.kind == "punct" and self.tok.text == ",":
                    self.take()
                    continue
                break
        if self.tok.kind != "end":
            raise self.fail(f"Expecting either 'OR' or 'AND' but got '{self.tok.text}'.")
        return where, order

    def or_expr(self) -> Expr:
        children = [self.and_expr()]
        while self.tok.is_kw("OR"):
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Node("or", children)

    def and_expr(self) -> Expr:
        children = [self.not_expr()]
        while self.tok.is_kw("AND"):
            self.take()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else Node("and", children)

    def not_expr(self) -> Expr:
        if self.tok.is_kw("NOT"):
            self.take()
            return Node("not", [self.not_expr()])
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.take()
            inner = self.or_expr()
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise self.fail(
                    f"Expecting ')' but got '{self.tok.text or 'the end of the query'}'."
                )
            self.take()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        if self.tok.kind not in ("word", "string") or self.tok.is_kw("AND", "OR", "ORDER"):
            raise self.fail(
                f"Expecting a field name but got '{self.tok.text or 'the end of the query'}'."
            )
        name = self.take()
        op = self.operator()
        value = self.list_value() if op in ("in", "not in") else self.value()
        return Clause(name.text.lower(), op, value, name.pos)

    def operator(self) -> str:
        token = self.tok
        if token.kind == "op":
            self.take()
            return token.text
        if token.is_kw("IN"):
            self.take()
            return "in"
        if token.is_kw("NOT") and self.tokens[self.index + 1].is_kw("IN"):
            self.index += 2
            return "not in"
        if token.is_kw("IS"):
            self.take()
            if self.tok.is_kw("NOT"):
                self.take()
                return "is not"
            return "is"
        raise self.fail(
            "Expecting operator but got '{}'. Valid operators are '=', '!=', '<', '>', '<=', '>=', "
            "'~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.".format(
                token.text or "the end of the query"
            )
        )

    def list_value(self) -> Value:
        if not (self.tok.kind == "punct" and self.tok.text == "("):
            return Value("list", items=[self.value()])
        self.take()
        items = [self.value()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.take()
            items.append(self.value())
        if not (self.tok.kind == "punct" and self.tok.text == ")"):
            raise self.fail(f"Expecting ')' but got '{self.tok.text or 'the end of the query'}'.")
        self.take()
        return Value("list", items=items)

    def value(self) -> Value:
        token = self.tok
        if token.kind == "string":
            self.take()
            return Value("text", token.text, quoted=True)
        if token.kind != "word" or token.is_kw("AND", "OR", "ORDER", "IN", "IS"):
            got = token.text or "the end of the query"
            raise self.fail(f"Expecting either a value, list or function but got '{got}'.")
        self.take()
        if token.is_kw("EMPTY", "NULL"):
            return Value("empty")
        if (
            self.tok.kind == "punct"
            and self.tok.text == "("
            and re.fullmatch(r"[A-Za-z]\w*", token.text)
        ):
            self.take()
            args = []
            while not (self.tok.kind == "punct" and self.tok.text == ")"):
                if self.tok.kind == "end":
                    raise self.fail("Expecting ')' but got the end of the query.")
                argument = self.take()
                if argument.kind != "punct":
                    args.append(Value("text", argument.text))
            self.take()
            return Value("func", token.text, items=args)
        if re.fullmatch(r"-?\d+", token.text):
            return Value("number", token.text)
        return Value("text", token.text)


# --- compilation ----------------------------------------------------------------------------------

Predicate = Callable[[Issue], bool]
FIELD_ALIASES = {
    "project": "project",
    "key": "key",
    "issuekey": "key",
    "issue": "key",
    "id": "key",
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
    "resolutiondate": "resolutiondate",
    "resolved": "resolutiondate",
    "labels": "labels",
    "label": "labels",
    "status": "status",
    "assignee": "assignee",
    "reporter": "reporter",
    "priority": "priority",
    "issuetype": "issuetype",
    "type": "issuetype",
    "resolution": "resolution",
}
DATE_FIELDS = ("updated", "created", "resolutiondate")
SORTABLE = {
    "updated": "updated",
    "created": "created",
    "key": "key",
    "id": "key",
    "issuekey": "key",
    "updateddate": "updated",
    "createddate": "created",
    "resolutiondate": "resolutiondate",
    "resolved": "resolutiondate",
    "status": "status",
    "priority": "priority",
    "assignee": "assignee",
}


@dataclass(slots=True)
class Query:
    """A compiled JQL: a predicate plus what the executor may use from the indexes."""

    text: str
    predicate: Predicate
    order: list[tuple[str, bool]]
    projects: frozenset[str] | None = None
    keys: frozenset[str] | None = None
    updated_lo: int | None = None  # inclusive
    updated_hi: int | None = None  # inclusive

    @property
    def fingerprint(self) -> str:
        """Ties a page token to its query (a fingerprint, not security)."""
        return hashlib.sha1(self.text.strip().encode()).hexdigest()[:12]

    @property
    def by_updated(self) -> bool:
        return len(self.order) == 1 and self.order[0][0] == "updated"


class _Compiler:
    def __init__(self, world: World, account_id: str, now_ms: int) -> None:
        self.world = world
        self.account_id = account_id
        self.now_ms = now_ms
        self.tz = zone(world.jira_time_zone)

    # values ---------------------------------------------------------------------------------------

    def texts(self, clause: Clause) -> list[str | None]:
        """The values of a clause as strings (None for EMPTY), functions resolved."""
        value = clause.value
        items = value.items if value.kind == "list" else [value]
        out: list[str | None] = []
        for item in items:
            if item.kind == "empty":
                out.append(None)
            elif item.kind == "func":
                out.append(self.function(clause, item))
            else:
                out.append(item.text)
        return out

    def function(self, clause: Clause, item: Value) -> str:
        name = item.text.lower()
        if name == "currentuser":
            return self.account_id
        if name == "now":
            return str(self.now_ms)
        if name == "startofday":
            today = datetime.fromtimestamp(self.now_ms / 1000, self.tz)
            return str(to_ms(today.replace(hour=0, minute=0, second=0, microsecond=0)))
        raise JqlError(f"Unable to find JQL function '{item.text}()'.")

    def date(self, clause: Clause, text: str) -> tuple[int, int]:
        """A date value as (start ms, length ms) read in the account's zone."""
        cleaned = text.strip()
        if re.fullmatch(r"-?\d+", cleaned) and (clause.value.kind == "number" or len(cleaned) > 8):
            return int(cleaned), 1
        match = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?", cleaned)
        if match:
            year, month, day = int(match[1]), int(match[2]), int(match[3])
            try:
                if match[4] is None:
                    moment = datetime(year, month, day, tzinfo=self.tz)
                    return to_ms(moment), DAY_MS
                moment = datetime(year, month, day, int(match[4]), int(match[5]), tzinfo=self.tz)
                return to_ms(moment), MINUTE_MS
            except ValueError:
                pass
        period = re.fullmatch(r"([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)", cleaned)
        if period:
            sign = -1 if period[1] == "-" else 1
            units = {"w": 7 * DAY_MS, "d": DAY_MS, "h": HOUR_MS, "m": MINUTE_MS}
            total = sum(int(n) * units[u] for n, u in re.findall(r"(\d+)\s*([wdhm])", period[2]))
            return self.now_ms + sign * total, MINUTE_MS
        raise JqlError(
            f"Date value '{text}' for field '{clause.field}' is invalid. Valid formats include: "
            f"{DATE_FORMATS}."
        )

    # clauses --------------------------------------------------------------------------------------

    def compile(self, expr: Expr) -> Predicate:
        if isinstance(expr, Clause):
            return self.clause(expr)
        parts = [self.compile(child) for child in expr.children]
        if expr.kind == "and":
            return lambda issue: all(part(issue) for part in parts)
        if expr.kind == "or":
            return lambda issue: any(part(issue) for part in parts)
        inner = parts[0]
        return lambda issue: not inner(issue)

    def clause(self, clause: Clause) -> Predicate:
        name = FIELD_ALIASES.get(clause.field)
        if name is None:
            raise JqlError(
                f"Field '{clause.field}' does not exist or you do not have permission to view it."
            )
        if name in DATE_FIELDS:
            return self.date_clause(clause, name)
        allowed = {"=", "!=", "in", "not in", "is", "is not"}
        if clause.op not in allowed:
            raise JqlError(
                f"The operator '{clause.op}' is not supported by the '{clause.field}' field."
            )
        values = self.texts(clause)
        if clause.op in ("is", "is not") and values != [None]:
            raise JqlError(
                f"The operator '{clause.op.upper()}' can only be used with the values 'EMPTY' "
                "or 'NULL'."
            )
        getter, wanted = self.resolve(clause, name, values)
        negate = clause.op in ("!=", "not in", "is not")
        if name == "labels":

            def labels(issue: Issue) -> bool:
                have = set(issue.labels)
                hit = bool(have & wanted) or (None in wanted and not have)
                return hit != negate

            return labels

        def simple(issue: Issue) -> bool:
            return (getter(issue) in wanted) != negate

        return simple

    def resolve(
        self, clause: Clause, name: str, values: list[str | None]
    ) -> tuple[Callable[[Issue], str | None], set[str | None]]:
        world = self.world
        if name == "project":
            wanted: set[str | None] = set()
            for value in values:
                project = self.project(value)
                if project is None:
                    raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
                wanted.add(project)
            return (lambda issue: issue.project), wanted
        if name == "key":
            keys: set[str | None] = set()
            for value in values:
                found = world.issue(value) if value else None
                if found is None:
                    raise JqlError(
                        f"An issue with key '{value}' does not exist for field '{clause.field}'."
                    )
                keys.add(found.key)
            return (lambda issue: issue.key), keys
        if name == "status":
            statuses: set[str | None] = set()
            for value in values:
                status = self.status(value)
                if status is None:
                    raise JqlError(f"The value '{value}' does not exist for the field 'status'.")
                statuses.add(status)
            return (lambda issue: issue.status), statuses
        if name in ("assignee", "reporter"):
            getter: Callable[[Issue], str | None] = (
                (lambda issue: issue.assignee)
                if name == "assignee"
                else (lambda issue: issue.reporter)
            )
            return getter, set(values)
        if name == "labels":
            return (lambda issue: None), set(values)
        if name == "priority":
            return (lambda issue: issue.priority.lower()), {v.lower() if v else v for v in values}
        if name == "issuetype":
            return (lambda issue: issue.issuetype.lower()), {v.lower() if v else v for v in values}
        return (lambda issue: issue.resolution.lower() if issue.resolution else None), {
            v.lower() if v else v for v in values
        }

    def project(self, value: str | None) -> str | None:
        if value is None:
            return None
        for project in self.world.projects.values():
            if (
                value.upper() == project.key
                or value == project.id
                or value.lower() == project.name.lower()
            ):
                return project.key
        return None

    def status(self, value: str | None) -> str | None:
        if value is None:
            return None
        if value in self.world.status_by_id:
            return self.world.status_by_id[value].name
        for name in self.world.statuses:
            if name.lower() == value.lower():
                return name
        return None

    def date_clause(self, clause: Clause, name: str) -> Predicate:
        op = clause.op
        if op in ("in", "not in", "~", "!~"):
            raise JqlError(f"The operator '{op}' is not supported by the '{clause.field}' field.")
        values = self.texts(clause)

        def get(issue: Issue) -> int | None:
            if name == "updated":
                return issue.updated
            if name == "created":
                return issue.created
            return issue.resolutiondate

        if op in ("is", "is not"):
            if values != [None]:
                raise JqlError(
                    f"The operator '{op.upper()}' can only be used with the values 'EMPTY' or "
                    "'NULL'."
                )
            return (
                (lambda issue: get(issue) is None)
                if op == "is"
                else (lambda issue: get(issue) is not None)
            )
        if values[0] is None:
            raise JqlError(
                f"The operator '{op}' is not supported by the '{clause.field}' field for EMPTY."
            )
        start, length = self.date(clause, values[0])
        tests: dict[str, Callable[[int], bool]] = {
            "=": lambda v: start <= v < start + length,
            "!=": lambda v: not start <= v < start + length,
            ">": lambda v: v > start,
            ">=": lambda v: v >= start,
            "<": lambda v: v < start,
            "<=": lambda v: v <= start,
        }
        test = tests[op]

        def predicate(issue: Issue) -> bool:
            value = get(issue)
            return value is not None and test(value)

        return predicate


def _hints(where: Expr | None, compiler: _Compiler, query: Query) -> None:
    """Index hints from the top-level conjunction only (anything deeper is just filtered)."""
    conjuncts: list[Expr] = []
    if isinstance(where, Node) and where.kind == "and":
        conjuncts = where.children
    elif where is not None:
        conjuncts = [where]
    for part in conjuncts:
        if not isinstance(part, Clause):
            continue
        name = FIELD_ALIASES.get(part.field)
        values = compiler.texts(part)
        if name == "project" and part.op in ("=", "in"):
            projects = frozenset(p for p in (compiler.project(v) for v in values) if p)
            query.projects = projects if query.projects is None else query.projects & projects
        elif name == "key" and part.op in ("=", "in"):
            keys = frozenset(i.key for i in (compiler.world.issue(v) for v in values if v) if i)
            query.keys = keys if query.keys is None else query.keys & keys
        elif name == "updated" and values and values[0] is not None:
            start, length = compiler.date(part, values[0])
            low = {">": start + 1, ">=": start, "=": start}.get(part.op)
            high = {"<": start - 1, "<=": start, "=": start + length - 1}.get(part.op)
            if low is not None:
                query.updated_lo = low if query.updated_lo is None else max(query.updated_lo, low)
            if high is not None:
                query.updated_hi = high if query.updated_hi is None else min(query.updated_hi, high)


def _bounded(expr: Expr | None) -> bool:
    """Bounded when a project, key or date restriction constrains every way to match."""
    if expr is None:
        return False
    if isinstance(expr, Clause):
        name = FIELD_ALIASES.get(expr.field)
        if name in ("project", "key"):
            return expr.op in ("=", "in")
        return name in DATE_FIELDS and expr.op not in ("!=", "is not")
    if expr.kind == "and":
        return any(_bounded(child) for child in expr.children)
    if expr.kind == "or":
        return all(_bounded(child) for child in expr.children)
    return False


def compile_jql(
    world: World, text: str | None, *, account_id: str, now_ms: int | None = None
) -> Query:
    """Parse, validate and compile; raises `JqlError` with Jira's messages."""
    if text is None or not text.strip():
        raise JqlError(UNBOUNDED)
    parser = _Parser(text)
    where, order_spec = parser.parse()
    compiler = _Compiler(
        world, account_id, now_ms if now_ms is not None else int(time.time() * 1000)
    )
    predicate = compiler.compile(where) if where is not None else (lambda issue: True)
    if not _bounded(where):
        raise JqlError(UNBOUNDED)
    order: list[tuple[str, bool]] = []
    for name, descending, _pos in order_spec:
        canonical = SORTABLE.get(name.lower())
        if canonical is None:
            if name.lower() in FIELD_ALIASES:
                raise JqlError(f"Field '{name}' does not support sorting.")
            raise JqlError(
                f"Field '{name}' does not exist or you do not have permission to view it."
            )
        order.append((canonical, descending))
    query = Query(text=text, predicate=predicate, order=order or [("key", True)])
    _hints(where, compiler, query)
    return query


# --- execution ------------------------------------------------------------------------------------


def encode_token(query: Query, cursor: list[int]) -> str:
    payload = json.dumps({"q": query.fingerprint, "c": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(query: Query, token: str) -> list[int]:
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = payload["c"]
        if payload["q"] != query.fingerprint or not all(isinstance(v, int) for v in cursor):
            raise ValueError("token for another query")
        return [int(v) for v in cursor]
    except (ValueError, KeyError, TypeError) as exc:
        raise JqlError(BAD_TOKEN) from exc


def execute(
    world: World, query: Query, token: str | None, limit: int
) -> tuple[list[Issue], str | None]:
    """One page of results and the token for the next page (None when this page is the last).

    Ordered by `updated` (the connector's query) it pages with a search-after cursor over the
    indexes: an issue updated between two pages moves behind the cursor and comes back later,
    as on Jira, instead of shifting every later page. Other orders materialise and page by offset.
    """
    cursor = decode_token(query, token) if token else None
    if query.by_updated and query.keys is None:
        descending = query.order[0][1]
        page = list(
            _take(_by_updated(world, query, cursor, descending), query.predicate, limit + 1)
        )
        more = len(page) > limit
        page = page[:limit]
        next_token = encode_token(query, [page[-1].updated, page[-1].id]) if more and page else None
        return page, next_token
    offset = cursor[0] if cursor else 0
    matches = _sorted(world, query)
    page = matches[offset : offset + limit]
    more = offset + limit < len(matches)
    return page, encode_token(query, [offset + limit]) if more else None


def _take(candidates: Iterator[Issue], predicate: Predicate, count: int) -> Iterator[Issue]:
    taken = 0
    for issue in candidates:
        if predicate(issue):
            yield issue
            taken += 1
            if taken >= count:
                return


def _by_updated(
    world: World, query: Query, cursor: list[int] | None, descending: bool
) -> Iterator[Issue]:
    sources = (
        [world.project_index[p] for p in sorted(query.projects) if p in world.project_index]
        if query.projects is not None
        else [world.updated_index]
    )
    low = (query.updated_lo, -1) if query.updated_lo is not None else None
    high = (query.updated_hi, 1 << 62) if query.updated_hi is not None else None
    after = (cursor[0], cursor[1]) if cursor else None
    streams = []
    for keys in sources:
        start = bisect_left(keys, low) if low else 0
        end = bisect_right(keys, high) if high else len(keys)
        if after is not None:
            if descending:
                end = min(end, bisect_left(keys, after))
            else:
                start = max(start, bisect_right(keys, after))
        streams.append(_walk(keys, start, end, descending))
    merged = (
        heapq.merge(*streams, reverse=descending)
        if len(streams) > 1
        else (streams[0] if streams else iter(()))
    )
    issues = world.issues
    return (issues[issue_id] for _, issue_id in merged)


def _walk(
    keys: list[tuple[int, int]], start: int, end: int, descending: bool
) -> Iterator[tuple[int, int]]:
    """keys[start:end] lazily, in either direction (a function, so each stream binds its list)."""
    positions = range(end - 1, start - 1, -1) if descending else range(start, end)
    for position in positions:
        yield keys[position]


def _sorted(world: World, query: Query) -> list[Issue]:
    if query.keys is not None:
        candidates = [world.issues_by_key[k] for k in query.keys]
    elif query.projects is not None:
        candidates = [
            world.issues[i] for p in query.projects for _, i in world.project_index.get(p, [])
        ]
    else:
        candidates = list(world.issues.values())
    matches = [issue for issue in candidates if query.predicate(issue)]
    matches.sort(key=lambda issue: issue.id)
    for name, descending in reversed(query.order):
        matches.sort(key=_sort_key(world, name), reverse=descending)
    return matches


def _sort_key(world: World, name: str) -> Callable[[Issue], tuple[int, str, int]]:
    def key(issue: Issue) -> tuple[int, str, int]:
        if name == "updated":
            return (issue.updated, "", 0)
        if name == "created":
            return (issue.created, "", 0)
        if name == "resolutiondate":
            return (issue.resolutiondate or 0, "", 0)
        if name == "status":
            return (0, issue.status, 0)
        if name == "priority":
            return (int(_PRIORITY_RANK.get(issue.priority, 9)), "", 0)
        if name == "assignee":
            return (
                0,
                world.users[issue.assignee].display_name if issue.assignee in world.users else "",
                0,
            )
        return (0, issue.project, int(issue.key.rsplit("-", 1)[1]))

    return key


_PRIORITY_RANK = {"Lowest": 1, "Low": 2, "Medium": 3, "High": 4, "Highest": 5}


# --- /rest/api/3/jql/parse ------------------------------------------------------------------------


def parse_structure(
    world: World, text: str, *, account_id: str, now_ms: int | None = None
) -> dict[str, object]:
    """Parse and validate `text` as `POST /rest/api/3/jql/parse?validation=strict` does: the
    syntax tree in Jira's shape (`where`, `orderBy`), or `JqlError` with Jira's messages.

    Unlike a search, an unbounded query is fine here: the endpoint only judges the text (the
    registry check sends a workflow's clause on its own)."""
    if not text.strip():
        raise JqlError("The JQL query is empty.")
    where, order_spec = _Parser(text).parse()
    compiler = _Compiler(
        world, account_id, now_ms if now_ms is not None else int(time.time() * 1000)
    )
    if where is not None:
        compiler.compile(where)
    fields: list[dict[str, object]] = []
    for name, descending, _pos in order_spec:
        if SORTABLE.get(name.lower()) is None:
            if name.lower() in FIELD_ALIASES:
                raise JqlError(f"Field '{name}' does not support sorting.")
            raise JqlError(
                f"Field '{name}' does not exist or you do not have permission to view it."
            )
        fields.append({"field": {"name": name}, "direction": "desc" if descending else "asc"})
    structure: dict[str, object] = {}
    if where is not None:
        structure["where"] = _clause_structure(where)
    if fields:
        structure["orderBy"] = {"fields": fields}
    return structure


def _clause_structure(expr: Expr) -> dict[str, object]:
    """A compound clause `{clauses, operator}` or a field clause `{field, operator, operand}`
    (Jira's `JqlQueryClause`)."""
    if isinstance(expr, Node):
        return {"clauses": [_clause_structure(c) for c in expr.children], "operator": expr.kind}
    return {"field": {"name": expr.field}, "operator": expr.op.lower(),
            "operand": _operand_structure(expr.value)}


def _operand_structure(value: Value) -> dict[str, object]:
    if value.kind == "list":
        return {"values": [_operand_structure(item) for item in value.items]}
    if value.kind == "empty":
        return {"keyword": "empty"}
    if value.kind == "func":
        return {"function": value.text, "arguments": [item.text for item in value.items]}
    return {"value": value.text}
