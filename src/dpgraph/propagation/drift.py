"""Schema drift: the columns a run reported vs the registered physical attributes (pure).

Columns match by name, case-insensitively (as lineage fields match attributes elsewhere).
Types are compared after normalisation with sqlglot's ``DataType`` parser, so that the
spellings of one type by different tools are not drift:

- every character type is one type, its length ignored (``string``, ``TEXT``, ``VARCHAR``,
  ``varchar(16)``, ``char(2)``): producers report ``string`` for a ``varchar(n)`` column;
- aliases are one type (``INT``/``INTEGER``, ``long``/``bigint``/``int64``, ``bool``/
  ``boolean``, ``timestamp-millis``/``TIMESTAMP``);
- parameters count when both sides give them (``DECIMAL(18,2)`` vs ``DECIMAL(10,2)`` is a
  change, ``DECIMAL`` vs ``DECIMAL(18,2)`` is not);
- an Avro nullable union ``union{null,T}`` is ``T``;
- a type sqlglot cannot parse is compared as written, lower-cased; a side without a type is
  not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_UNION = re.compile(r"^\s*union\s*[{\[<(](.*)[}\]>)]\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NormalType:
    family: str
    params: str | None  # "18, 2"; None when not given (or not meaningful)

    def same_as(self, other: NormalType) -> bool:
        if self.family != other.family:
            return False
        return self.params is None or other.params is None or self.params == other.params


def _strip_nullable_union(written: str) -> str:
    match = _UNION.match(written)
    if match is None:
        return written
    members = [m.strip() for m in match[1].split(",") if m.strip().lower() != "null"]
    return members[0] if len(members) == 1 else written


def _text_as_one(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.DataType) and node.this in exp.DataType.TEXT_TYPES:
        return exp.DataType.build("TEXT")
    return node


@lru_cache(maxsize=4096)
def normal_type(written: str) -> NormalType:
    from sqlglot import exp
    from sqlglot.errors import ParseError

    text = _strip_nullable_union(written.strip())
    try:
        dt = exp.DataType.build(text)
    except (ParseError, ValueError, TypeError):
        return NormalType(text.lower(), None)
    if dt.this in exp.DataType.TEXT_TYPES:
        return NormalType("TEXT", None)
    if dt.this in exp.DataType.NESTED_TYPES:  # ARRAY<TEXT>, STRUCT<a INT>: compared whole
        return NormalType(dt.transform(_text_as_one).sql(), None)
    family, _, rest = dt.sql().partition("(")
    return NormalType(family, rest.rstrip(")") or None)


def same_type(a: str | None, b: str | None) -> bool:
    if a is None or b is None or not a.strip() or not b.strip():
        return True
    return normal_type(a).same_as(normal_type(b))


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    change: str  # added | removed | type-changed
    column: str
    registered_type: str | None = None
    observed_type: str | None = None
    element: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"change": self.change, "column": self.column,
                "registeredType": self.registered_type, "observedType": self.observed_type,
                "element": self.element}


def compare_schema(observed: tuple[tuple[str, str | None], ...],
                   attributes: list[dict[str, Any]]) -> list[ColumnDrift]:
    """Added (observed, not registered), removed (registered, not observed) and
    type-changed columns, in registered order then observed order."""
    seen = {name.lower(): (name, typ) for name, typ in observed}
    registered = {str(a["name"]).lower(): a for a in attributes}
    out: list[ColumnDrift] = []
    for key, a in registered.items():
        if key not in seen:
            out.append(ColumnDrift("removed", a["name"], a.get("type"), None, a.get("element")))
        elif not same_type(a.get("type"), seen[key][1]):
            out.append(ColumnDrift("type-changed", a["name"], a.get("type"), seen[key][1],
                                   a.get("element")))
    for key, (name, typ) in seen.items():
        if key not in registered:
            out.append(ColumnDrift("added", name, None, typ))
    return out
