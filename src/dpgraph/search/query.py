"""A search request from user input: checked, and the text turned into an FTS5 expression
that cannot carry FTS5 syntax (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dpgraph.errors import Finding, InvalidInput
from dpgraph.search.model import TYPES

MAX_QUERY_CHARS = 200
MAX_TERMS = 16
MAX_DOMAINS = 20
_INDEXED = re.compile(r"[^\W_]")  # a letter or a digit: what the tokenizer keeps


@dataclass(frozen=True)
class SearchRequest:
    text: str
    match: str  # the FTS5 expression
    types: tuple[str, ...]
    domains: tuple[str, ...]
    limit: int
    offset: int


def match_expression(terms: list[str]) -> str:
    """Every whitespace-separated term as a quoted FTS5 phrase with a prefix star: all terms
    must match (AND), each as the start of a word, so ``cust`` finds ``customer``. Inside a
    quoted phrase FTS5 operators and punctuation are plain text; ``"`` is doubled."""
    return " ".join(f'"{t.replace(chr(34), chr(34) * 2)}"*' for t in terms)


def parse_request(q: str | None, types: str | None, domains: str | None, limit: int,
                  offset: int) -> SearchRequest:
    """The checked request; InvalidInput names the parameter and the rule broken."""
    text = (q or "").strip()
    if not text:
        _refuse("q", "search:q-required", "q is required: the words to search for")
    if len(text) > MAX_QUERY_CHARS:
        _refuse("q", "search:q-max-length",
                f"q has {len(text)} characters; at most {MAX_QUERY_CHARS} are allowed")
    terms = [t for t in text.split() if _INDEXED.search(t)]
    if not terms:
        _refuse("q", "search:q-no-words", "q must contain at least one letter or digit")
    if len(terms) > MAX_TERMS:
        _refuse("q", "search:q-max-terms",
                f"q has {len(terms)} words; at most {MAX_TERMS} are allowed")
    wanted = _list(types)
    unknown = [t for t in wanted if t not in TYPES]
    if unknown:
        _refuse("type", "search:type-unknown",
                f"unknown type {', '.join(unknown)}; use one or more of {', '.join(TYPES)}",
                value=",".join(unknown))
    in_domains = _list(domains)
    if len(in_domains) > MAX_DOMAINS:
        _refuse("domain", "search:domain-max-count",
                f"domain lists {len(in_domains)} domains; at most {MAX_DOMAINS} are allowed")
    return SearchRequest(text, match_expression(terms), wanted, in_domains, limit, offset)


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x.strip() for x in (value or "").split(",") if x.strip()))


def _refuse(param: str, rule: str, message: str, value: str | None = None) -> None:
    raise InvalidInput(f"invalid search parameter {param}: {message}",
                       errors=[Finding("violation", message, param, rule, value=value)])
