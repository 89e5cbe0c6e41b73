"""The JSON columns' encoder: orjson, with the standard library for what orjson refuses.

Every synced record keeps its raw JSON, so encoding it was a tenth of a sync's CPU with
`json.dumps`; orjson does the same work several times faster. The stored text differs only
in spelling (no spaces after separators, non-ASCII as UTF-8 instead of `\\u` escapes): it
decodes to the same value, so rows written before and after compare equal. What orjson
refuses (an integer beyond 64 bits) goes through `json`. Reading stays with `json.loads`,
which, unlike orjson, keeps such an integer exact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS
_ENCODE = partial(orjson.dumps, option=_OPTIONS)
_CONTAINERS = frozenset((dict, list))


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def dumps_all(values: Sequence[Any]) -> list[str] | None:
    """`dumps` of every value, when every value is an object or an array (a column of raw
    records): encoded and decoded in C, with no Python call per value, which a batch's tens of
    thousands of raw records made a tenth of a sync's write path. None when a value is
    anything else (`None`, which a JSON column may store as SQL NULL, or a marker), or when
    orjson refuses one: the caller then converts value by value."""
    if not set(map(type, values)) <= _CONTAINERS:
        return None
    try:
        return list(map(bytes.decode, map(_ENCODE, values)))
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        return None
