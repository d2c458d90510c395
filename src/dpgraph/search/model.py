"""The rows of the search index and how a log record changes them (values only, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

TYPES = ("product", "element", "column", "term", "domain", "owner", "application", "dataset",
         "job")

# The indexed fields, in the order of the FTS5 columns, with their bm25 weights: names and
# labels rank above titles and identifiers, those above free text.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 10.0,
    "label": 10.0,
    "title": 6.0,
    "id": 5.0,
    "fields": 4.0,
    "businessTerm": 3.0,
    "element": 3.0,
    "representation": 2.0,
    "dataset": 2.0,
    "namespace": 2.0,
    "status": 2.0,
    "description": 1.0,
    "definition": 1.0,
    "documentation": 1.0,
    "fieldDescriptions": 0.5,
    "sql": 0.5,
}
FIELDS = tuple(FIELD_WEIGHTS)
# Free text: long, so it weighs on bm25's length normalisation (see index.py).
TEXT_FIELDS = ("description", "definition", "documentation", "fieldDescriptions", "sql")
SHORT_FIELDS = tuple(f for f in FIELDS if f not in TEXT_FIELDS)

Text = str | tuple[str, ...]


@dataclass(frozen=True)
class Doc:
    """One searchable thing. ``text`` is what is indexed (field → text, or a list of texts
    for many-valued fields); ``show`` is what a hit displays; ``scope`` groups the rows one
    registration replaces together."""

    key: str
    type: str
    text: dict[str, Text]
    show: dict[str, Any]
    scope: str
    domain: str | None = None
    namespace: str | None = None  # lineage rows: what the domain filter matches on
    name: str | None = None
    location: str | None = None

    def merged(self, newer: Doc) -> Doc:
        """This row updated by a newer sighting of the same thing: many-valued fields are
        united (first-seen order), single values replaced when the newer one has one."""
        text = dict(self.text)
        for k, value in newer.text.items():
            old = text.get(k)
            if isinstance(value, tuple):
                text[k] = tuple(dict.fromkeys((*(old if isinstance(old, tuple) else ()),
                                               *value)))
            elif value:
                text[k] = value
        show = {**self.show, **{k: x for k, x in newer.show.items() if x is not None}}
        return replace(self, text=text, show=show, domain=newer.domain or self.domain,
                       location=newer.location or self.location)


@dataclass(frozen=True)
class Attribution:
    """A product claiming lineage: a namespace, a job (``ns\\x1fname``) or a location."""

    kind: str  # "namespace" | "job" | "location"
    value: str


@dataclass
class Change:
    """What one log record does to the index, applied in this order."""

    drop_scope: str | None = None  # remove every row of this scope first
    put: list[Doc] = field(default_factory=list)  # insert or replace by key
    merge: list[Doc] = field(default_factory=list)  # merge into the row of the same key
    # (product, its domain, its attributions): replaces what the product claimed before
    attributions: tuple[str, str | None, list[Attribution]] | None = None


def fts_text(value: Text | None) -> str:
    if value is None:
        return ""
    return ", ".join(value) if isinstance(value, tuple) else value


def sep(*parts: str) -> str:
    """Parts of a key joined by a separator no name contains."""
    return "\x1f".join(parts)
