"""An in-memory index of the field-level lineage the projection records, for ``GET
/column-lineage`` without SPARQL.

It holds, over every stored event (column lineage is not versioned: the SPARQL reads take the
union of all event graphs, and so does this), exactly the triples
:class:`~dpgraph.services.lineage_columns.ColumnGraph` reads:

- ``ds dpg:hasField f`` (schema fields, nested ones included, and every field named by
  column lineage, column metrics or column assertions);
- per output field its derivations ``(source field, transformationType,
  transformationSubtype, description, masking)``, which also give ``derivedFromField``
  (the mapping writes one derivation at least for every derived-from pair);
- per field the largest ``fieldType``, ``fieldTransformationType`` and
  ``fieldTransformationDescription`` (the reads keep the largest value).

It is fed the raw log records and walks each event the way :mod:`dpgraph.lineage.mapping`
does (the same facet slots, invalid and ``_deleted`` facets skipped, the same value
normalisations), so it needs no store. Adding is a set union, so arrival order does not
matter. A projector follower; built at start-up from the log, cleared on a rebuild.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dpgraph.lineage import iris
from dpgraph.lineage.mapping import _pointer, event_kind_and_time, utc_datetime
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.services.log_follower import EventFactsFollower

# (source field IRI, transformationType, transformationSubtype, description, masking)
Derivation = tuple[str, str | None, str | None, str | None, str | None]
INFO_KEYS = ("type", "kind", "desc")  # fieldType, fieldTransformationType, …Description


@dataclass
class FieldFacts:
    """What one event says about fields, as its projected graph states it."""

    fields: list[tuple[str, str]]  # (dataset IRI, field IRI): ds hasField f
    derivations: list[tuple[str, Derivation]]  # (output field IRI, derivation)
    info: list[tuple[str, str, str]]  # (field IRI, key of INFO_KEYS, value)


def _text(x: Any) -> str | None:
    return x if isinstance(x, str) and x else None


def _ds(ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    ns, name = ref.get("namespace"), ref.get("name")
    if not (isinstance(ns, str) and isinstance(name, str) and ns and name):
        return None
    return iris.dataset_iri(ns, name)


class _Walker:
    """The field-related part of the mapper's walk over one event."""

    def __init__(self, invalid: frozenset[str]) -> None:
        self.invalid = invalid
        self.out = FieldFacts([], [], [])
        self._lineage: list[tuple[str, dict[str, Any]]] = []

    def field(self, ds: str, path: str) -> str:
        f = sys.intern(iris.field_iri(ds, path))
        self.out.fields.append((ds, f))
        return f

    def facets(self, ds: str, facets: Any, pointer: str, names: frozenset[str]) -> None:
        if not isinstance(facets, dict):
            return
        for name, facet in facets.items():
            if (name not in names or _pointer(pointer, name) in self.invalid
                    or not isinstance(facet, dict) or facet.get("_deleted") is True):
                continue
            if name == "schema":
                self.schema_fields(ds, facet.get("fields"), "", top=True)
            elif name == "columnLineage":
                self._lineage.append((ds, facet))  # after every schema, as the mapper does
            elif name == "dataQualityMetrics":
                columns = facet.get("columnMetrics")
                for column, metrics in columns.items() if isinstance(columns, dict) else ():
                    if isinstance(metrics, dict):
                        self.field(ds, column)
            elif name == "dataQualityAssertions":
                assertions = facet.get("assertions")
                for a in assertions if isinstance(assertions, list) else ():
                    column = a.get("column") if isinstance(a, dict) else None
                    if isinstance(column, str) and column:
                        self.field(ds, column)

    def schema_fields(self, ds: str, fields: Any, prefix: str, top: bool) -> None:
        if not isinstance(fields, list):
            return
        for f in fields:
            name = f.get("name") if isinstance(f, dict) else None
            if not isinstance(name, str):
                continue
            path = name if top else f"{prefix}.{name}"
            node = self.field(ds, path)
            ftype = _text(f.get("type"))
            if ftype is not None:
                self.out.info.append((node, "type", ftype))
            self.schema_fields(ds, f.get("fields"), path, top=False)

    def column_lineage(self) -> None:
        for ds, facet in self._lineage:
            fields = facet.get("fields")
            for out_name, spec in fields.items() if isinstance(fields, dict) else ():
                if not isinstance(spec, dict):
                    continue
                out = self.field(ds, out_name)
                for key, attr in (("kind", "transformationType"),
                                  ("desc", "transformationDescription")):
                    value = _text(spec.get(attr))
                    if value is not None:
                        self.out.info.append((out, key, value))
                inputs = spec.get("inputFields")
                for inp in inputs if isinstance(inputs, list) else ():
                    source = self.source_field(inp)
                    if source is not None:
                        for d in _derivations(source, inp):
                            self.out.derivations.append((out, d))
            dataset = facet.get("dataset")
            for inp in dataset if isinstance(dataset, list) else ():
                self.source_field(inp)  # names the field (hasField), no field derivation

    def source_field(self, inp: Any) -> str | None:
        ds = _ds(inp)
        name = inp.get("field") if ds is not None else None
        if ds is None or not isinstance(name, str) or not name:
            return None
        return self.field(ds, name)


def _derivations(source: str, inp: dict[str, Any]) -> list[Derivation]:
    found = inp.get("transformations")
    items = [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []
    out = []
    for t in items or [{}]:
        masking = t.get("masking")
        out.append((source, _text(t.get("type")), _text(t.get("subtype")),
                    _text(t.get("description")),
                    ("true" if masking else "false") if isinstance(masking, bool) else None))
    return out


_DATASET = frozenset({"schema", "columnLineage", "dataQualityMetrics", "dataQualityAssertions"})
_INPUT = frozenset({"dataQualityMetrics", "dataQualityAssertions"})


def field_facts(event: dict[str, Any], invalid_facets: frozenset[str] = frozenset()
                ) -> FieldFacts:
    """The field facts of one event; raises ValueError where the mapping does."""
    kind, event_time = event_kind_and_time(event)
    utc_datetime(event_time)
    walker = _Walker(invalid_facets)
    if kind == "dataset":
        ds = _ds(event["dataset"])
        if ds is None:
            raise ValueError("dataset.namespace and dataset.name are required")
        walker.facets(ds, event["dataset"].get("facets"), "/dataset/facets", _DATASET)
    else:
        job = event["job"]
        if not (isinstance(job.get("namespace"), str) and isinstance(job.get("name"), str)):
            raise ValueError("job.namespace and job.name are required")
        if kind == "run":
            run_id = event["run"].get("runId")
            if not isinstance(run_id, str) or not run_id:
                raise ValueError("run.runId is required")
        for side in ("inputs", "outputs"):
            entries = event.get(side)
            for i, entry in enumerate(entries if isinstance(entries, list) else ()):
                ds = _ds(entry)
                if ds is None:
                    continue
                walker.facets(ds, entry.get("facets"), f"/{side}/{i}/facets", _DATASET)
                if side == "inputs":
                    walker.facets(ds, entry.get("inputFacets"), f"/{side}/{i}/inputFacets",
                                  _INPUT)
    walker.column_lineage()
    return walker.out


def record_field_facts(record: LogRecord) -> FieldFacts:
    p = record.payload
    return field_facts(p["event"], frozenset(p.get("invalidFacets", ())))


class ColumnLineageIndex(EventFactsFollower[FieldFacts]):
    """The field-level lineage of every stored event; readers get copies."""

    def _reset(self) -> None:
        super()._reset()
        self._fields: dict[str, set[str]] = {}  # dataset -> its fields
        self._derivations: dict[str, set[Derivation]] = {}  # output field -> derivations
        self._derived: dict[str, set[str]] = {}  # source field -> output fields
        self._info: dict[str, dict[str, str]] = {}  # field -> key -> largest value

    def apply(self, records: Sequence[LogRecord]) -> None:
        """Add the lineage event records (others are ignored), fed in log order; adding one
        twice changes nothing."""
        self._feed(records)

    def _facts_of(self, record: LogRecord) -> FieldFacts:
        return record_field_facts(record)

    def _add(self, f: FieldFacts) -> None:
        for ds, field in f.fields:
            self._fields.setdefault(ds, set()).add(field)
        for out, d in f.derivations:
            self._derivations.setdefault(out, set()).add(d)
            self._derived.setdefault(d[0], set()).add(out)
        for field, key, value in f.info:
            slot = self._info.setdefault(field, {})
            if value > slot.get(key, ""):
                slot[key] = value

    # ---------------------------------------------------------------- reads
    def fields_of(self, datasets: Iterable[str]) -> set[str]:
        with self._lock:
            return {f for d in datasets for f in self._fields.get(d, ())}

    def derivation_rows(self, fields: Iterable[str]
                        ) -> list[tuple[str, str, str | None, str | None, str | None,
                                        str | None]]:
        """(output, source, type, subtype, description, masking) of the given outputs."""
        with self._lock:
            return [(f, *d) for f in fields for d in self._derivations.get(f, ())]

    def derived_from(self, sources: Iterable[str]) -> set[str]:
        """The fields derived from any of ``sources``."""
        with self._lock:
            return {o for s in sources for o in self._derived.get(s, ())}

    def info_rows(self, fields: Iterable[str]) -> list[tuple[str, str, str]]:
        """(field, key, value) of the given fields; key one of :data:`INFO_KEYS`."""
        with self._lock:
            return [(f, k, x) for f in fields for k, x in self._info.get(f, {}).items()]
