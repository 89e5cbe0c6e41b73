"""Checking the document against the models, with errors a registry author can act on.

Pydantic reports every type error of the document at once, but a document with one type
error yields no `Registry`, so the cross-reference rules (`validate.py`) would have nothing
to run on. To report those too, the parts that failed are cut out (the person, the workflow,
the list, the unknown key) and the rest is validated again; the cut places are returned so
that rules touching them can stay silent rather than report consequences of the cut.
"""

from __future__ import annotations

import copy
import difflib
import types
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .issues import Loc, Problem
from .models import Person, Registry, Workflow
from .parse import Document

_MAX_ROUNDS: Final = 8
_TOP_PLACEHOLDERS: Final[dict[str, Any]] = {"version": 1, "organization": "?", "timezone": "UTC"}
_OWNER_KEYS: Final[dict[tuple[str, ...], tuple[str, str]]] = {
    ("outcome",): ("outcome owner", "outcome: {owner: <person>}"),
    ("outcome", "owner"): ("outcome owner", "owner: <person>"),
    ("workflow_owner",): ("workflow owner", "workflow_owner: <person>"),
    ("risk_owner",): ("risk owner", "risk_owner: <person>"),
}


@dataclass
class TypeCheck:
    registry: Registry | None
    """The registry, validated from the document minus the cut places; None if impossible."""
    problems: list[Problem] = field(default_factory=list)
    """Type errors, located in the document."""
    cut: list[Loc] = field(default_factory=list)
    """Places removed from the document to get `registry`."""
    marked: Any = None

    def document_loc(self, loc: Loc) -> Loc:
        """A place in `registry` → the same place in the document (items may have been cut)."""
        return _as_loc(_walk(self.marked, loc))


def check_types(doc: Document) -> TypeCheck:
    result = TypeCheck(registry=None, marked=copy.deepcopy(doc.data))
    for round_ in range(_MAX_ROUNDS):
        try:
            result.registry = Registry.model_validate(_compact(result.marked))
            return result
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        if round_ == 0:
            result.problems = [_problem(error, doc) for error in errors]
        changed = False
        for error in errors:
            changed |= _cut(result, error)
        if not changed:
            break
    return result


# --- where an error is -------------------------------------------------------------------
#
# Invalid list items are not deleted but replaced by _CUT in `marked`, so indexes in it stay
# those of the document; the data validated is `marked` without them (`_compact`), and a
# location in that data is mapped back by counting the items that were kept (`_walk`).

_CUT: Final = object()
_ABSENT: Final = object()


def _compact(value: Any) -> Any:
    if isinstance(value, list):
        return [_compact(item) for item in value if item is not _CUT]
    if isinstance(value, dict):
        return {key: _compact(item) for key, item in value.items()}
    return value


def _walk(marked: Any, loc: tuple[str | int, ...]) -> list[tuple[Any, bool]]:
    """Follow a location in the compacted data through `marked`: (key or index, is_index)."""
    parts: list[tuple[Any, bool]] = []
    current = marked
    for part in loc:
        if part == "[key]":  # pydantic: the error is about the key itself
            continue
        if isinstance(current, list) and isinstance(part, int):
            kept = [i for i, item in enumerate(current) if item is not _CUT]
            index = kept[part] if 0 <= part < len(kept) else part
            parts.append((index, True))
            current = current[index] if 0 <= index < len(current) else None
        elif isinstance(current, dict):
            key = (
                part if part in current else next((k for k in current if str(k) == str(part)), part)
            )
            parts.append((key, False))
            current = current.get(key)
        else:
            parts.append((part, isinstance(part, int)))
            current = None
    return parts


def _as_loc(parts: list[tuple[Any, bool]]) -> Loc:
    return tuple(part if is_index else str(part) for part, is_index in parts)


@dataclass(frozen=True)
class _Step:
    depth: int
    """How many parts of the pydantic location lead here."""
    kind: Literal["field", "item", "entry"]
    optional: bool
    type: Any
    """The type expected here, without Optional and Annotated."""


def _unwrap(tp: Any) -> Any:
    if get_origin(tp) is Annotated:
        return _unwrap(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        args = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _steps(pydantic_loc: tuple[str | int, ...]) -> list[_Step]:
    """What the models expect along a location, as far as the models describe it."""
    steps: list[_Step] = []
    tp: Any = Registry
    for depth, part in enumerate(pydantic_loc, start=1):
        if _is_model(tp):
            info = tp.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                break
            tp = _unwrap(info.annotation)
            steps.append(_Step(depth, "field", not info.is_required(), tp))
        elif get_origin(tp) is list:
            tp = _unwrap(get_args(tp)[0])
            steps.append(_Step(depth, "item", False, tp))
        elif get_origin(tp) is dict:
            tp = _unwrap(get_args(tp)[1])
            steps.append(_Step(depth, "entry", False, tp))
        else:
            break
    return steps


def _model_at(pydantic_loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    if not pydantic_loc:
        return Registry
    steps = _steps(pydantic_loc)
    if len(steps) == len(pydantic_loc) and _is_model(steps[-1].type):
        model: type[BaseModel] = steps[-1].type
        return model
    return None


# --- cutting out what failed ---------------------------------------------------------------


def _plans(error: ErrorDetails) -> list[tuple[int, str]]:
    """Ways to make `error` go away, the smallest cut first: (location depth, action)."""
    loc = error["loc"]
    if error["type"] == "extra_forbidden":
        return [(len(loc), "delete")]
    plans: list[tuple[int, str]] = []
    for step in _steps(loc):
        if step.kind == "item":
            plans.append((step.depth, "cut-item"))
        elif step.kind == "entry" or step.optional:
            plans.append((step.depth, "delete"))
        elif step.type is str:
            plans.append((step.depth, "placeholder"))
        elif get_origin(step.type) is list:
            plans.append((step.depth, "empty-list"))
        elif get_origin(step.type) is dict:
            plans.append((step.depth, "empty-dict"))
    if loc and loc[0] in _TOP_PLACEHOLDERS:
        plans.append((1, "top-placeholder"))
    return sorted(plans, key=lambda plan: -plan[0])  # stable: equal depths keep their order


def _cut(result: TypeCheck, error: ErrorDetails) -> bool:
    """Apply the first plan that changes the document; False if none did."""
    for depth, action in _plans(error):
        parts = _walk(result.marked, error["loc"][:depth])
        if parts and _apply(result.marked, parts, action):
            result.cut.append(_as_loc(parts))
            return True
    return False


_PLACEHOLDER: Final = "\x00cut"
"""Stands in for a required text that was invalid; YAML text cannot contain NUL."""


def _apply(marked: Any, parts: list[tuple[Any, bool]], action: str) -> bool:
    parent = marked
    for part, _ in parts[:-1]:
        in_dict = isinstance(parent, dict) and part in parent
        in_list = isinstance(parent, list) and isinstance(part, int) and 0 <= part < len(parent)
        if not (in_dict or in_list):
            return False
        parent = parent[part]
    key, is_index = parts[-1]
    if is_index:
        if action != "cut-item" or not isinstance(parent, list) or parent[key] is _CUT:
            return False
        parent[key] = _CUT
        return True
    if not isinstance(parent, dict) or action == "cut-item":
        return False
    if action == "delete":
        return parent.pop(key, _ABSENT) is not _ABSENT
    new: Any = {
        "placeholder": _PLACEHOLDER,
        "empty-list": [],
        "empty-dict": {},
        "top-placeholder": _TOP_PLACEHOLDERS.get(str(key)),
    }[action]
    if key in parent and parent[key] == new and type(parent[key]) is type(new):
        return False
    parent[key] = new
    return True


# --- what to say ---------------------------------------------------------------------------


def _problem(error: ErrorDetails, doc: Document) -> Problem:
    loc = _as_loc(_walk(doc.data, error["loc"]))
    return Problem("error", loc, _message(error, loc, doc))


def _message(error: ErrorDetails, loc: Loc, doc: Document) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    owner = _owner_message(kind, value, loc)
    if owner:
        return owner
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    if kind == "extra_forbidden":
        return _unknown_key(error["loc"])
    got = _got(value, doc.plain_text.get(loc))
    expected = {
        "string_type": "expected text",
        "int_type": "expected a whole number",
        "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_type": "expected a number",
        "float_parsing": "expected a number",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
        "list_type": "expected a list ([a, b] or one '- item' per line)",
        "dict_type": "expected a mapping (key: value)",
        "model_type": "expected a mapping (key: value)",
        "model_attributes_type": "expected a mapping (key: value)",
        "date_type": "expected a date (YYYY-MM-DD)",
        "date_parsing": "expected a date (YYYY-MM-DD)",
        "date_from_datetime_parsing": "expected a date (YYYY-MM-DD)",
        "date_from_datetime_inexact": "expected a date (YYYY-MM-DD) without a time",
        "literal_error": f"must be {ctx.get('expected')}",
    }.get(kind)
    if expected:
        hint = ""
        if kind == "string_type" and value is not None and loc in doc.plain_text:
            hint = " (put it in quotes)"
        return f"{expected}, {got}{hint}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, {got}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}, {got}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def _owner_message(kind: str, value: Any, loc: Loc) -> str | None:
    """A workflow without one of its owners gets a message naming the owner (SPEC §3)."""
    if len(loc) < 3 or loc[0] != "workflows":
        return None
    if kind not in ("missing", "string_too_short") and value is not None:
        return None
    what = _OWNER_KEYS.get(tuple(str(part) for part in loc[2:]))
    if what is None:
        return None
    role, example = what
    return f"workflow '{loc[1]}' has no {role}: add {example}"


def _unknown_key(pydantic_loc: tuple[str | int, ...]) -> str:
    key = str(pydantic_loc[-1])
    model = _model_at(pydantic_loc[:-1])
    message = f"unknown key '{key}'"
    if model is not None:
        filled_in = model in (Person, Workflow)  # their id is the mapping key
        allowed = [name for name in model.model_fields if not (filled_in and name == "id")]
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        else:
            message += f" (allowed: {', '.join(allowed)})"
    return message


def _got(value: Any, text: str | None) -> str:
    if value is None:
        return "got nothing"
    if isinstance(value, bool):
        word = "true" if value else "false"
        if text is not None and text.lower() != word:
            return f"got {text}, which YAML reads as {word}"
        return f"got {word}"
    if isinstance(value, int | float):
        if text is not None and text != str(value):
            return f"got {text}, which YAML reads as the number {value}"
        return f"got the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"got '{shown}'"
    if isinstance(value, datetime):
        return "got a date and time"
    if isinstance(value, date):
        return f"got the date {value.isoformat()}"
    if isinstance(value, list):
        return "got a list"
    if isinstance(value, dict):
        return "got a mapping"
    return f"got {type(value).__name__}"
