"""The latest reported schema of every lineage dataset, for whole-mesh drift questions.

A dataset's schema is restated by every event that reports it, each in its own event graph;
"the latest schema" means scanning all of them per dataset, which a whole-mesh query (the
``schema_drift`` named query) cannot afford. This follower of the projector keeps
``…/graph/lineage-latest-schema``: per dataset, ``dpg:latestSchemaAt`` (the eventTime of
the latest event that reported a typed field of it) and the top-level typed fields of the
events at that time (``dpg:hasField``, ``dpg:fieldName``, ``dpg:fieldType``), and the hash
of those fields' names and types (``dpg:schemaSignature``, dpgraph.schema_signature), which
lets ``schema_drift`` skip every representation whose columns hash the same. The time and
signature of the datasets some representation is are restated in the links graph
(:func:`~dpgraph.services.representation_links.mirror_latest_schemas`), so that the query
joins the 10,000 linked datasets' and not the 250,000 of every dataset (10,000 products).

Each batch reads the stored times of the datasets it reports, then replaces the schema of
those it reports later and adds to those it reports at the same time, in one update. The
update is idempotent (re-applying a batch after a crash lands in the same state) and order
independent (an older event arriving late changes nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode, Quad, Triple

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.lineage.iris import event_iri
from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.schema_signature import signature
from dpgraph.services.projector import LINEAGE_EVENT, feed_projected, lineage_quads
from dpgraph.services.representation_links import (
    LINKS_GRAPH,
    mirror_latest_schemas,
    restate_all_latest_schemas,
)
from dpgraph.store.base import GraphStore, graph_holds

LATEST_SCHEMA_GRAPH = iris.LATEST_SCHEMA_GRAPH


@dataclass
class _Report:
    """A dataset's typed schema as the events of a batch reported it, at its latest time."""

    time: dt.datetime
    at: Literal
    fields: set[Triple] = field(default_factory=set)

    def pairs(self) -> set[tuple[str, str]]:
        """The (name, type) of each field."""
        names: dict[str, str] = {}
        types: dict[str, str] = {}
        for t in self.fields:
            if t.predicate == v.FIELD_NAME:
                names[t.subject.value] = t.object.value
            elif t.predicate == v.FIELD_TYPE:
                types[t.subject.value] = t.object.value
        return {(name, types[f]) for f, name in names.items()}


def _time(term: Literal) -> dt.datetime:
    return dt.datetime.fromisoformat(term.value)


def event_reports(event: str, quads: Sequence[Quad]) -> dict[str, tuple[Literal, set[Triple]]]:
    """Per dataset with a typed field in one event graph: the event time and the triples of
    its top-level typed fields (pure: reads the event's quads only)."""
    at: Literal | None = None
    owner: dict[str, NamedNode] = {}
    names: dict[str, Quad] = {}
    types: dict[str, Quad] = {}
    nested: set[str] = set()
    for q in quads:
        p = q.predicate
        if p == v.EVENT_TIME and q.subject.value == event:
            assert isinstance(q.object, Literal)
            at = q.object
        elif p == v.HAS_FIELD:
            assert isinstance(q.subject, NamedNode)
            owner[q.object.value] = q.subject
        elif p == v.FIELD_TYPE:
            types[q.subject.value] = q
        elif p == v.FIELD_NAME:
            names[q.subject.value] = q
        elif p == v.SUBFIELD_OF:
            nested.add(q.subject.value)
    out: dict[str, tuple[Literal, set[Triple]]] = {}
    if at is None:
        return out
    for f, ds in owner.items():
        if f not in types:
            continue
        _, fields = out.setdefault(ds.value, (at, set()))
        if f not in nested and f in names:
            fields.update((Triple(ds, v.HAS_FIELD, types[f].subject), names[f].triple,
                           types[f].triple))
    return out


class LatestSchemas:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def apply(self, records: Sequence[LogRecord]) -> None:
        self.apply_mapped(records, {})

    def apply_mapped(self, records: Sequence[LogRecord], mapped: Mapping[int, list[Quad]]
                     ) -> None:
        latest: dict[str, _Report] = {}
        for record in records:
            if record.kind != LINEAGE_EVENT:
                continue
            quads = mapped.get(record.offset)
            reports = event_reports(event_iri(record.digest),
                                    quads if quads is not None else lineage_quads(record))
            for ds, (at, fields) in reports.items():
                time = _time(at)
                current = latest.get(ds)
                if current is None or time > current.time:
                    latest[ds] = current = _Report(time, at)
                if time == current.time:
                    current.fields |= fields
        if latest:
            update = self._update(latest)
            if update:
                self._store.update(update)

    def _update(self, latest: dict[str, _Report]) -> str:
        stored = self._stored_times(latest)
        replaced = [ds for ds, r in latest.items() if ds not in stored or r.time > stored[ds]]
        added = [ds for ds, r in latest.items() if ds in stored and r.time == stored[ds]]
        g = LATEST_SCHEMA_GRAPH.value
        parts: list[str] = []
        if replaced:
            values = " ".join(f"<{ds}>" for ds in replaced)
            parts.append(f"""DELETE {{ GRAPH <{g}> {{ ?f ?p ?o }} }} WHERE {{
                VALUES ?ds {{ {values} }}
                GRAPH <{g}> {{ ?ds <{v.HAS_FIELD.value}> ?f . ?f ?p ?o }} }}""")
            parts.append(f"""DELETE {{ GRAPH <{g}> {{ ?ds ?p ?o }} }} WHERE {{
                VALUES ?ds {{ {values} }} GRAPH <{g}> {{ ?ds ?p ?o }} }}""")
        # Same-instant reports from an earlier batch are stored: the signature is of the
        # union, so theirs are read back (rare: one instant split across batches).
        stored_pairs = self._stored_pairs(added) if added else {}
        if added:
            values = " ".join(f"<{ds}>" for ds in added)
            parts.append(f"""DELETE {{ GRAPH <{g}> {{ ?ds <{v.SCHEMA_SIGNATURE.value}> ?s }} }}
                WHERE {{ VALUES ?ds {{ {values} }}
                         GRAPH <{g}> {{ ?ds <{v.SCHEMA_SIGNATURE.value}> ?s }} }}""")
        triples: list[str] = []
        for ds in [*replaced, *added]:
            report = latest[ds]
            triples.append(f"<{ds}> <{v.LATEST_SCHEMA_AT.value}> {report.at} .")
            triples += [f"{t.subject} {t.predicate} {t.object} ." for t in report.fields]
            sig = signature(report.pairs() | stored_pairs.get(ds, set()))
            if sig is not None:
                triples.append(f"<{ds}> <{v.SCHEMA_SIGNATURE.value}> {Literal(sig)} .")
        if triples:
            parts.append(f"INSERT DATA {{ GRAPH <{g}> {{ {' '.join(triples)} }} }}")
            parts.append(mirror_latest_schemas([*replaced, *added]))
        return " ;\n".join(parts)

    def _stored_times(self, latest: Mapping[str, _Report]) -> dict[str, dt.datetime]:
        values = " ".join(f"<{ds}>" for ds in latest)
        rows = self._store.select(
            f"SELECT ?ds ?t WHERE {{ VALUES ?ds {{ {values} }} "
            f"GRAPH <{LATEST_SCHEMA_GRAPH.value}> {{ ?ds <{v.LATEST_SCHEMA_AT.value}> ?t }} }}")
        out: dict[str, dt.datetime] = {}
        for row in rows:
            t = row["t"]
            assert isinstance(t, Literal)
            out[row["ds"].value] = _time(t)
        return out

    def _stored_pairs(self, datasets: Sequence[str] | None
                      ) -> dict[str, set[tuple[str, str]]]:
        """The (name, type) of the stored latest fields of ``datasets`` (None: of all)."""
        values = "" if datasets is None \
            else f"VALUES ?ds {{ {' '.join(f'<{ds}>' for ds in datasets)} }}"
        rows = self._store.select(
            f"SELECT ?ds ?name ?type WHERE {{ {values} GRAPH <{LATEST_SCHEMA_GRAPH.value}> {{ "
            f"?ds <{v.HAS_FIELD.value}> ?f . ?f <{v.FIELD_NAME.value}> ?name ; "
            f"<{v.FIELD_TYPE.value}> ?type }} }}")
        out: dict[str, set[tuple[str, str]]] = {}
        for row in rows:
            out.setdefault(row["ds"].value, set()).add((row["name"].value, row["type"].value))
        return out

    def backfill(self, log: SqliteLog, page: int = 1000) -> None:
        """Fill the graph from the events already projected when it is empty and the store
        has events (a data directory projected before this follower existed). A graph from
        before the signatures gets them, then the links graph restates them: two checks, so
        that a start interrupted between the two still restates (a linked dataset without
        restated facts would be skipped by ``schema_drift``; one without a signature is
        only compared in full)."""
        if graph_holds(self._store, LATEST_SCHEMA_GRAPH):
            if not graph_holds(self._store, LATEST_SCHEMA_GRAPH, v.SCHEMA_SIGNATURE):
                self._sign_stored()
            if graph_holds(self._store, LINKS_GRAPH, v.REPRESENTED_BY) \
                    and not graph_holds(self._store, LINKS_GRAPH, v.LATEST_SCHEMA_AT):
                self._store.update(restate_all_latest_schemas())
            return
        if not self._store.ask(f"ASK {{ ?e a <{v.LINEAGE_EVENT.value}> }}"):
            return
        feed_projected(log, self.apply, page)

    def _sign_stored(self) -> None:
        rows = self._store.select(
            f"SELECT ?ds WHERE {{ GRAPH <{LATEST_SCHEMA_GRAPH.value}> {{ "
            f"?ds <{v.LATEST_SCHEMA_AT.value}> ?t }} }}")
        fields = self._stored_pairs(None)
        signed: list[Quad] = []
        for row in rows:
            ds = row["ds"]
            sig = signature(fields.get(ds.value, set()))
            if sig is not None:
                signed.append(Quad(ds, v.SCHEMA_SIGNATURE, Literal(sig), LATEST_SCHEMA_GRAPH))
        self._store.add_quads(signed)

    def clear(self) -> None:
        """Nothing held in memory: the graph is cleared with the store on a rebuild."""
