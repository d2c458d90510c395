"""Cypher text for names and values, for servers whose parameters are unsafe to send.

FalkorDB's Bolt listener turns Bolt parameters into a ``CYPHER name=value`` prefix itself, in
a fixed 4 KiB buffer and without escaping quotes, so a large or quoted parameter breaks the
query (or the server). The Bolt backend therefore writes that prefix itself with these
functions and sends no Bolt parameters to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64 = range(-(2**63), 2**63)


def name(identifier: str) -> str:
    """A label, relationship type, property or map key, quoted when it needs to be."""
    if _IDENTIFIER.fullmatch(identifier):
        return identifier
    return "`" + identifier.replace("`", "``") + "`"


def literal(value: Any) -> str:
    """The Cypher literal of a JSON-like value (None, bool, int, float, str, list, map)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value not in _INT64:
            raise ValueError(f"integer {value} does not fit in 64 bits")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no Cypher literal")
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a string with a NUL character cannot be sent as Cypher text")
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{name(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise ValueError(f"no Cypher literal for {type(value).__name__}")


def with_inline_parameters(cypher: str, params: Mapping[str, Any]) -> str:
    """The query with its parameters declared in a ``CYPHER p=value …`` prefix (FalkorDB)."""
    if not params:
        return cypher
    for key in params:
        if not _IDENTIFIER.fullmatch(key):
            raise ValueError(f"parameter name {key!r} is not an identifier")
    return "CYPHER " + " ".join(f"{k}={literal(v)}" for k, v in params.items()) + " " + cypher
