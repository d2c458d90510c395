"""JSON text in and out on the hot paths, through orjson where it gives exactly what the
standard library gives, and through the standard library everywhere else.

Every event is parsed (request body, log record) and dumped as canonical JSON (its digest,
its log text, its facets' literals) at least once; the standard library spends ~30 µs per
corpus event dumping and ~18 µs parsing where orjson spends ~3 and ~9. But the two differ in
a few places, and the canonical text must not change: it is the digest a retried event is
recognised by, and the text of facet literals in the graph. Measured differences:

- orjson reads an integer past 64 bits as a float (the standard library keeps it exact);
  it refuses what the standard library reads (lone surrogates, ``1E400`` as infinity,
  non-UTF-8 encodings). A text with a run of 19 digits, or that orjson refuses, is read by
  the standard library.
- orjson writes floats in [1e-5, 1e-4) as ``0.0000…`` and exponents without the sign and
  padding of Python's ``repr`` (``1e-7`` against ``1e-07``); it refuses integers past 64
  bits, non-string keys and lone surrogates. A text with ``0.0000`` or a digit followed by
  an exponent, or that orjson refuses, is written by the standard library (such texts in
  strings make the check fail safe: the slower path, the same result).

``tests/test_jsontext.py`` checks both against the standard library on random documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# Checks on the text's bytes with every digit made 0: bytes.translate and `in` run in C, where
# a regular expression over a 4 KB event costs ~40 µs, more than the parse it guards.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_INTEGER = b"0" * 19
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def loads(text: str, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text, parse_constant=...)``; ``parse_constant`` is only ever called on
    the standard library's path (orjson refuses NaN and Infinity)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: orjson refuses it, the standard library reads it
        return json.loads(text, parse_constant=parse_constant)
    if _LONG_INTEGER not in data.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library's own error, or its reading of what orjson refuses
    return json.loads(text, parse_constant=parse_constant)


def canonical(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII as is: ``json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)``, byte for byte."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError is one
        return _CANONICAL.encode(value)
    if b"0.0000" in data or _has_exponent_number(data.translate(_DIGITS_AS_ZERO)):
        return _CANONICAL.encode(value)
    return data.decode("utf-8")


def _has_exponent_number(zeroed: bytes) -> bool:
    """Whether canonical text (digits made 0) has a number token with an exponent: ``0e``
    inside ``[:,[]-?0+(.0+)?e[-+]?0+[,]}]``. A UUID's ``5e-4`` is one of the hits looked at."""
    at = zeroed.find(b"0e")
    while at >= 0:
        start = at
        while start > 0 and zeroed[start - 1] in b"0.":
            start -= 1
        if start > 0 and zeroed[start - 1] == ord("-"):
            start -= 1
        end = at + 2
        if end < len(zeroed) and zeroed[end] in b"+-":
            end += 1
        digits = end
        while end < len(zeroed) and zeroed[end] == ord("0"):
            end += 1
        if (end > digits and (start == 0 or zeroed[start - 1] in b":,[")
                and (end == len(zeroed) or zeroed[end] in b",]}")):
            return True
        at = zeroed.find(b"0e", at + 1)
    return False
