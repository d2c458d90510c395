"""Projects log records into the graph store. The log is the truth; this is a pure replay.

Every projection is idempotent (replace a named graph, or a DELETE/INSERT that lands in the
same state), so re-applying a record after a crash between the store commit and the
bookkeeping of the projected offset changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from pyoxigraph import Literal, Quad, RdfFormat, Triple, parse

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.log.kinds import (
    CATALOG_REGISTERED,
    LINEAGE_EVENT,
    PRODUCT_DEPRECATED,
    PRODUCT_REGISTERED,
)
from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.mapping.catalog import catalog_to_rdf
from dpgraph.mapping.join_keys import JOIN_KEY_DECIDED, decision_graph, decision_triples
from dpgraph.mapping.product import product_to_rdf
from dpgraph.store.base import GraphStore

PROJECTION = "graph"
# The projection offset the graph store was last compacted at (services/store_compaction.py).
STORE_COMPACTED = "graph-compacted"


def lineage_quads(record: LogRecord) -> list[Quad]:
    """The graph of one stored OpenLineage event (pure mapping of the raw event)."""
    from dpgraph.lineage.mapping import event_to_quads

    p = record.payload
    return event_to_quads(p["event"], event_id=record.digest, received_at=record.recorded_at,
                          warnings=p.get("warnings") or None,
                          invalid_facets=frozenset(p.get("invalidFacets", ())))


def feed_projected(log: SqliteLog, apply: Callable[[list[LogRecord]], None],
                   page: int = 1000) -> None:
    """Hand ``apply`` every record the graph projection already holds, a page at a time:
    how a follower added to an existing store catches up with it."""
    projected = log.projected(PROJECTION)
    batch: list[LogRecord] = []
    for record in log.read():
        if record.offset > projected:
            break
        batch.append(record)
        if len(batch) >= page:
            apply(batch)
            batch = []
    apply(batch)


def registration_triples(record: LogRecord, mapped: list[Triple] | None = None) -> list[Triple]:
    """The product graph of a registration record; ``mapped`` saves re-mapping in the live
    path, where the registry has just mapped the same descriptor to validate it."""
    if mapped is None:
        mapped = product_to_rdf(ProductDescriptor.model_validate(
            record.payload["descriptor"])).triples
    product = iris.product(record.payload["descriptor"]["id"])
    return [
        *mapped,
        Triple(product, v.REGISTERED_AT, Literal(record.recorded_at, datatype=v.XSD_DATETIME)),
        Triple(product, v.LOG_OFFSET, Literal(str(record.offset), datatype=v.XSD_INTEGER)),
    ]


def product_identifiers_backfill() -> str:
    """``dpg:productIdentifier`` for every product, in the product's own graph."""
    return f"""
        INSERT {{ GRAPH ?g {{ ?p <{v.PRODUCT_IDENTIFIER.value}> ?id }} }}
        WHERE {{ GRAPH ?g {{ ?p a <{v.DATA_PRODUCT.value}> ; <{v.DCT_IDENTIFIER.value}> ?id }} }}"""


def deprecation_update(record: LogRecord) -> str:
    p = record.payload
    product = iris.product(p["id"]).value
    graph = iris.product_graph(p["id"]).value
    extra = [f'<{v.DEPRECATED_AT.value}> "{record.recorded_at}"^^<{v.XSD_DATETIME.value}>']
    if p.get("reason"):
        extra.append(f"<{v.DEPRECATION_REASON.value}> {Literal(p['reason'])}")
    if p.get("successor"):
        extra.append(f"<{v.SUCCESSOR.value}> <{iris.product(p['successor']).value}>")
    status = v.LIFECYCLE[p.get("status", "deprecated")].value
    return f"""
        DELETE {{ GRAPH <{graph}> {{ <{product}> ?p ?o }} }}
        WHERE {{ GRAPH <{graph}> {{ <{product}> ?p ?o
            FILTER (?p IN (<{v.DPROD_LIFECYCLE_STATUS.value}>, <{v.DEPRECATED_AT.value}>,
                           <{v.DEPRECATION_REASON.value}>, <{v.SUCCESSOR.value}>)) }} }} ;
        INSERT DATA {{ GRAPH <{graph}> {{
            <{product}> <{v.DPROD_LIFECYCLE_STATUS.value}> <{status}> ;
                {" ; ".join(extra)} }} }}"""


class EventSink(Protocol):
    """Told about lineage events once they are stored (an in-memory index of them)."""

    def add(self, records: list[LogRecord]) -> None: ...

    def clear(self) -> None: ...


class Follower(Protocol):
    """Another projection of the log (search index, join index), fed the batches the graph
    gets, in log order. A persistent one keeps its own offset with its data and skips records
    it already holds; an in-memory one is loaded from the log at start."""

    def apply(self, records: Sequence[LogRecord]) -> None: ...

    def clear(self) -> None: ...


class Projector:
    def __init__(self, store: GraphStore, log: SqliteLog, ontology: Path,
                 events: EventSink | None = None, followers: Sequence[Follower] = ()) -> None:
        self._store = store
        self._log = log
        self._ontology = ontology
        self._events = events
        self._followers = followers
        self._handlers: dict[str, Callable[[LogRecord], None]] = {
            PRODUCT_DEPRECATED: lambda r: self._store.update(deprecation_update(r)),
            CATALOG_REGISTERED: self._catalog_registered,
            JOIN_KEY_DECIDED: self._join_key_decided,
        }

    def apply(self, record: LogRecord, prepared: list[Triple] | None = None) -> None:
        """Project one record; ``prepared`` is its already-mapped product graph, if any."""
        self.apply_batch([record], {record.offset: prepared} if prepared else None)

    def apply_batch(self, records: list[LogRecord],
                    prepared: dict[int, list[Triple]] | None = None) -> None:
        """Project records in order. Consecutive lineage events go into the store in one
        transaction: each is a handful of quads, and per-event transactions would cap the
        projection far below the rate events arrive at."""
        events: list[LogRecord] = []
        mapped: dict[int, list[Quad]] = {}  # event quads of this batch, for the followers
        for record in records:
            if record.kind == LINEAGE_EVENT:
                events.append(record)
                continue
            self._flush_events(events, mapped)
            if record.kind == PRODUCT_REGISTERED:
                self._product_registered(record, (prepared or {}).get(record.offset))
            else:
                handler = self._handlers.get(record.kind)
                if handler is not None:  # kinds of later features are skipped, not failed
                    handler(record)
        self._flush_events(events, mapped)
        for follower in self._followers:
            with_quads = getattr(follower, "apply_mapped", None)
            if with_quads is not None:  # saves it mapping every event a second time
                with_quads(records, mapped)
            else:
                follower.apply(records)
        if records:
            self._log.set_projected(PROJECTION, records[-1].offset)

    def _flush_events(self, events: list[LogRecord], mapped: dict[int, list[Quad]]) -> None:
        if events:
            for r in events:
                mapped[r.offset] = lineage_quads(r)
            self._store.add_quads([q for r in events for q in mapped[r.offset]])
            if self._events is not None:
                self._events.add(events)
            events.clear()

    def bootstrap(self) -> None:
        """Load the ontology into its own graph, so queries see labels and notations, and
        give the products of a graph projected before ``dpg:productIdentifier`` existed that
        property (the mapping states it now)."""
        with self._ontology.open("rb") as fh:
            triples = [q.triple for q in parse(fh, format=RdfFormat.TURTLE)]
        self._store.replace_graphs({iris.ONTOLOGY_GRAPH: triples})
        if (not self._store.ask(f"ASK {{ ?p <{v.PRODUCT_IDENTIFIER.value}> ?id }}")
                and self._store.ask(f"ASK {{ ?p a <{v.DATA_PRODUCT.value}> }}")):
            self._store.update(product_identifiers_backfill())

    def catch_up(self, page: int = 1000) -> int:
        """Project every record not yet projected; returns how many were applied."""
        n = 0
        batch: list[LogRecord] = []
        for record in self._log.read(after=self._log.projected(PROJECTION)):
            batch.append(record)
            if len(batch) >= page:
                self.apply_batch(batch)
                n, batch = n + len(batch), []
        self.apply_batch(batch)
        return n + len(batch)

    def rebuild(self) -> int:
        self._store.clear()
        if self._events is not None:
            self._events.clear()
        for follower in self._followers:
            follower.clear()
        self._log.set_projected(PROJECTION, 0)
        self._log.set_projected(STORE_COMPACTED, 0)  # a rebuilt store is compacted anew
        self.bootstrap()
        return self.catch_up()

    def _product_registered(self, record: LogRecord, prepared: list[Triple] | None) -> None:
        pid = record.payload["descriptor"]["id"]
        self._store.replace_graphs(
            {iris.product_graph(pid): registration_triples(record, prepared)})

    def _catalog_registered(self, record: LogRecord) -> None:
        catalog = CatalogDescriptor.model_validate(record.payload["catalog"])
        self._store.replace_graphs(
            {entity.graph: entity.mapped.triples for entity in catalog_to_rdf(catalog)})

    def _join_key_decided(self, record: LogRecord) -> None:
        p = record.payload
        self._store.replace_graphs({decision_graph(p["id"]): decision_triples(
            p, record.recorded_at, record.offset)})
