"""What one OpenLineage event says about columns: derivations and output schemas (pure).

The propagation rule (which derivations carry a classification from an input column to the
output column), after the columnLineage facet (spec 1-2: per-input ``transformations`` with a
``type``, a ``subtype`` and a ``masking`` flag; 1-0/1-1: one deprecated ``transformationType``
on the output field, IDENTITY or MASKED):

- DIRECT IDENTITY and DIRECT TRANSFORMATION carry the label: the output holds the value, or a
  function of it that usually still identifies (``lower(email)``, ``concat(first, last)``).
- DIRECT AGGREGATION carries it too, unless flagged ``masking``: an aggregate is not an
  anonymisation (``min(date_of_birth)`` or ``max(email)`` over a group of one *is* the value,
  ``array_agg``/``string_agg`` keep every value). Producers flag the aggregates that do hide
  the value (``count``) with ``masking: true``.
- Any DIRECT derivation flagged ``masking: true``, and the deprecated ``MASKED`` type, stop it
  (a hash, a redaction: "no original data available").
- INDIRECT ones (JOIN, GROUP_BY, FILTER, SORT, WINDOW, CONDITIONAL) do not carry it: the input
  decided which rows or in which order, so the output reveals membership ("this customer has
  an order"), not the input's value. Propagating them would label nearly every column of a
  joined table with the join keys' labels, and make the label meaningless.
- A field whose transformations are not reported (columnLineage 1-0 without
  ``transformationType``) carries it: when in doubt, a missed PII label costs more than a
  finding someone dismisses.

One input field listed with several transformations carries the label when any of them does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dpgraph.lineage.naming import normalize_location

PROPAGATING_SUBTYPES = frozenset({"IDENTITY", "TRANSFORMATION", "AGGREGATION"})

Column = tuple[str, str]  # (normalised dataset location, column name in lower case)


@dataclass(frozen=True, slots=True)
class Derivation:
    """``output`` column is derived from ``source`` column by ``job`` in the stated way."""

    source: Column
    output: Column
    transformation: str  # "DIRECT/IDENTITY", "INDIRECT/JOIN", "MASKED", "UNKNOWN", ...
    masking: bool
    propagates: bool


@dataclass(frozen=True, slots=True)
class RunRef:
    """The run that showed something: its id, event time, job and event type."""

    run_id: str | None
    event_time: str
    job: tuple[str, str] | None
    event_type: str | None

    def to_json(self) -> dict[str, Any]:
        return {"runId": self.run_id, "eventTime": self.event_time,
                "job": None if self.job is None else {"namespace": self.job[0],
                                                       "name": self.job[1]},
                "eventType": self.event_type}


@dataclass(frozen=True, slots=True)
class OutputColumns:
    """The column lineage (maybe empty) and schema (maybe None) of one output dataset."""

    dataset: str  # normalised location
    name: tuple[str, str]  # (namespace, name) as reported
    aliases: tuple[str, ...]  # normalised locations of its symlinks identifiers
    derivations: tuple[Derivation, ...] | None  # None when no columnLineage facet
    schema: tuple[tuple[str, str | None], ...] | None  # (column, type) when a schema facet


@dataclass(frozen=True, slots=True)
class EventColumns:
    run: RunRef
    time: dt.datetime
    outputs: tuple[OutputColumns, ...]
    aliases: tuple[tuple[str, tuple[str, ...]], ...]  # every dataset: (location, aliases)


def derivation_rule(transformations: Any, legacy: Any) -> tuple[str, bool, bool]:
    """(transformation shown, masking, propagates) of one input field, by the rule above."""
    if isinstance(transformations, list) and transformations:
        shown: list[str] = []
        masking = propagates = False
        for t in transformations:
            if not isinstance(t, dict):
                continue
            kind = str(t.get("type") or "").upper()
            sub = str(t.get("subtype") or "").upper()
            masked = t.get("masking") is True
            shown.append(f"{kind}/{sub}" if sub else kind)
            masking = masking or masked
            if kind == "DIRECT" and not masked and (not sub or sub in PROPAGATING_SUBTYPES):
                propagates = True
        return ",".join(shown) or "UNKNOWN", masking, propagates
    if isinstance(legacy, str) and legacy:
        masked = legacy.upper() == "MASKED"
        return legacy.upper(), masked, not masked
    return "UNKNOWN", False, True


def _locations(entry: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    ns, name = entry.get("namespace"), entry.get("name")
    if not (isinstance(ns, str) and isinstance(name, str)):
        return None, ()
    facets = entry.get("facets")
    symlinks = facets.get("symlinks") if isinstance(facets, dict) else None
    idents = symlinks.get("identifiers") if isinstance(symlinks, dict) else None
    aliases = []
    for ident in idents if isinstance(idents, list) else ():
        if isinstance(ident, dict) and isinstance(ident.get("namespace"), str) \
                and isinstance(ident.get("name"), str):
            alias = normalize_location(ident["namespace"], ident["name"])
            if alias:
                aliases.append(alias)
    location = normalize_location(ns, name)
    return location, tuple(dict.fromkeys(a for a in aliases if a != location))


def _schema(facets: dict[str, Any]) -> tuple[tuple[str, str | None], ...] | None:
    schema = facets.get("schema")
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if not isinstance(fields, list) or not fields:
        return None  # no facet, or an empty one: nothing observed about the columns
    out = []
    for f in fields:
        if isinstance(f, dict) and isinstance(f.get("name"), str) and f["name"]:
            out.append((f["name"], f["type"] if isinstance(f.get("type"), str) else None))
    return tuple(out) or None


def _derivations(output: str, facets: dict[str, Any]) -> tuple[Derivation, ...] | None:
    lineage = facets.get("columnLineage")
    fields = lineage.get("fields") if isinstance(lineage, dict) else None
    if not isinstance(fields, dict):
        return None
    out = []
    for field, entry in fields.items():
        if not isinstance(entry, dict):
            continue
        for source in entry.get("inputFields") or []:
            if not isinstance(source, dict) or not isinstance(source.get("field"), str):
                continue
            location, _ = _locations(source)
            if location is None:
                continue
            shown, masking, propagates = derivation_rule(source.get("transformations"),
                                                         entry.get("transformationType"))
            out.append(Derivation((location, source["field"].lower()),
                                  (output, field.lower()), shown, masking, propagates))
    return tuple(out)


def parse_time(value: Any) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def event_columns(event: dict[str, Any]) -> EventColumns:
    """The column facts of one stored OpenLineage event (run or dataset event)."""
    job_obj = event.get("job")
    job = None
    if isinstance(job_obj, dict) and isinstance(job_obj.get("namespace"), str) \
            and isinstance(job_obj.get("name"), str):
        job = (job_obj["namespace"], job_obj["name"])
    run = event.get("run")
    run_id = run.get("runId") if isinstance(run, dict) else None
    event_type = event.get("eventType")
    time = str(event.get("eventTime") or "")
    ref = RunRef(run_id if isinstance(run_id, str) else None, time, job,
                 event_type if isinstance(event_type, str) else None)
    outputs = []
    aliases = []
    entries = [*(event.get("inputs") or []), *(event.get("outputs") or [])]
    if isinstance(event.get("dataset"), dict):  # a DatasetEvent
        entries.append(event["dataset"])
    for entry in entries:
        if isinstance(entry, dict):
            location, alias = _locations(entry)
            if location is not None and alias:
                aliases.append((location, alias))
    out_entries = list(event.get("outputs") or [])
    if isinstance(event.get("dataset"), dict):
        out_entries.append(event["dataset"])
    for entry in out_entries:
        if not isinstance(entry, dict):
            continue
        location, alias = _locations(entry)
        if location is None:
            continue
        facets = entry.get("facets") if isinstance(entry.get("facets"), dict) else {}
        outputs.append(OutputColumns(location, (entry["namespace"], entry["name"]), alias,
                                     _derivations(location, facets), _schema(facets)))
    return EventColumns(ref, parse_time(time), tuple(outputs), tuple(aliases))
