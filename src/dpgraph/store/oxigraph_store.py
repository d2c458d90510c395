"""Embedded store: pyoxigraph (RocksDB) on disk under the data directory.

User queries (``answer_query``) run in separate processes on snapshots of the store, so
they can be killed at their deadline: see :mod:`dpgraph.store.snapshots` and
:mod:`dpgraph.store.query_workers`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pyoxigraph import (
    NamedNode,
    Quad,
    QueryBoolean,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    Triple,
    serialize,
)

from dpgraph.errors import (
    DpgraphError,
    NotAcceptable,
    QuerySyntaxError,
    StoreLocked,
    StoreUnavailable,
)
from dpgraph.store.base import QueryAnswer, UserQuery, register_backend

if TYPE_CHECKING:
    from dpgraph.store.query_workers import QueryWorkers
    from dpgraph.store.snapshots import Snapshots

FLUSH_EVERY_QUADS = 100_000
# From this many quads a write goes through RocksDB's bulk path (sorted files ingested
# whole). Measured on corpus events over a 690k-quad store, CPU per event: a transaction
# ~1.6-1.9 ms whatever its size; the bulk path ~1.7 ms for 25 events (1,700 quads: its
# fixed cost per call dominates), ~1.1 ms for 100 (6,900 quads), ~0.6 ms from 300. It also
# writes new files each call, so small writes stay transactions.
BULK_FROM_QUADS = 5_000
QUERY_WORKERS = 2  # user queries running at once (each in its own process)
WORKER_MODULE = "dpgraph.store.oxigraph_query_worker"


class OxigraphStore:
    kind: ClassVar[str] = "oxigraph"

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._writes = 0  # finished writes: a snapshot is fresh if taken after all of them
        self._compactions = 0
        self._queries: tuple[Snapshots, QueryWorkers] | None = None
        self._queries_lock = threading.Lock()
        try:
            if path is not None:
                path.mkdir(parents=True, exist_ok=True)
            self._store = Store(str(path)) if path is not None else Store()
            self._unflushed = 0
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(f"graph store {path} is opened by another process") from exc
            raise StoreUnavailable(f"cannot open graph store at {path}") from exc

    def replace_graphs(self, graphs: Mapping[NamedNode, Sequence[Triple]]) -> None:
        # One SPARQL update is one oxigraph transaction: readers see the old graphs or the
        # new ones, never a mix. Only the difference is written: a re-registration usually
        # changes a handful of triples, and oxigraph writes ~100k quads/s.
        deletes, inserts = [], []
        for graph, triples in graphs.items():
            old = set(self.graph_triples(graph))
            new = set(triples)
            if old - new:
                deletes.append(_graph_block(graph, old - new))
            if new - old:
                inserts.append(_graph_block(graph, new - old))
        operations = []
        if deletes:
            operations.append("DELETE DATA {\n" + "\n".join(deletes) + "\n}")
        if inserts:
            operations.append("INSERT DATA {\n" + "\n".join(inserts) + "\n}")
        if operations:
            self._store.update(" ;\n".join(operations))
            self._writes += 1

    def add_quads(self, quads: Sequence[Quad]) -> None:
        """Add quads. A large write is not one transaction: a reader may see part of it
        until it ends, and a crash may leave part of it. Callers re-apply the whole write
        after a crash (the projector does, from the log), and adding a quad twice is a
        no-op, so nothing is lost or doubled."""
        if len(quads) >= BULK_FROM_QUADS:
            self._store.bulk_extend(quads)
            self._writes += 1
            return
        self._store.extend(quads)
        self._writes += 1
        # RocksDB keeps written quads in memtables until a flush: measured ~750 bytes of
        # RSS per quad without one (1.4 GiB after 1.8M quads), ~150 with a flush every
        # 100k. Flushing bounds the server's memory under a steady stream of events.
        self._unflushed += len(quads)
        if self._unflushed >= FLUSH_EVERY_QUADS:
            self._store.flush()
            self._unflushed = 0

    def update(self, sparql: str) -> None:
        self._store.update(sparql)
        self._writes += 1

    def select(self, sparql: str) -> QuerySolutions:
        result = self._store.query(sparql, use_default_graph_as_union=True)
        assert isinstance(result, QuerySolutions)
        return result

    def ask(self, sparql: str) -> bool:
        result = self._store.query(sparql, use_default_graph_as_union=True)
        assert isinstance(result, QueryBoolean)
        return bool(result)

    def construct(self, sparql: str) -> list[Triple]:
        result = self._store.query(sparql, use_default_graph_as_union=True)
        assert isinstance(result, QueryTriples)
        return list(result)

    def graph_triples(self, graph: NamedNode) -> list[Triple]:
        return [q.triple for q in self._store.quads_for_pattern(None, None, None, graph)]

    def quads(self) -> Iterator[Quad]:
        return iter(self._store)

    def clear(self) -> None:
        self._store.clear()
        self._writes += 1

    def optimize(self) -> None:
        # RocksDB's full compaction (see services/store_compaction.py for why and when).
        self._store.optimize()
        # The next user query's snapshot links the compacted files. A counter of its own:
        # `+=` on the writes' counter from this thread could lose one of theirs.
        self._compactions += 1

    def answer_query(self, query: UserQuery) -> QueryAnswer:
        deadline = time.monotonic() + query.timeout
        snapshots, workers = self._query_parts()
        snapshot = snapshots.acquire()
        try:
            reply = workers.run((str(snapshot.path), query), deadline)
        finally:
            snapshots.release(snapshot)
        kind, *rest = reply
        if kind == "ok":
            return QueryAnswer(rest[0], rest[1])
        if kind == "syntax":
            raise QuerySyntaxError(rest[0], extra=_position(rest[0]))
        if kind == "not-acceptable":
            raise NotAcceptable(rest[0])
        raise DpgraphError(f"query failed in its worker: {rest[0]}")

    def close(self) -> None:
        if self._queries is not None:
            self._queries[1].close()
            self._queries[0].close()
        self._store.flush()
        del self._store

    def _query_parts(self) -> tuple[Snapshots, QueryWorkers]:
        with self._queries_lock:
            if self._queries is None:
                if self._path is None:
                    raise StoreUnavailable("user queries need an on-disk store")
                from dpgraph.store.query_workers import QueryWorkers
                from dpgraph.store.snapshots import Snapshots

                snapshots = Snapshots(self._path.with_name(self._path.name + "-snapshots"),
                                      self._store.backup,
                                      lambda: self._writes + self._compactions)
                self._queries = (snapshots, QueryWorkers(QUERY_WORKERS, WORKER_MODULE))
            return self._queries


def _position(message: str) -> dict[str, object]:
    """oxigraph's parser says where it failed as "error at LINE:COLUMN: ..." (1-based)."""
    match = _ERROR_AT.match(message)
    return {"line": int(match[1]), "column": int(match[2])} if match else {}


_ERROR_AT = re.compile(r"error at (\d+):(\d+)")


def _graph_block(graph: NamedNode, triples: set[Triple]) -> str:
    body = serialize(list(triples), format=RdfFormat.N_TRIPLES).decode("utf-8")
    return f"GRAPH <{graph.value}> {{\n{body}}}"


register_backend("oxigraph", lambda settings: OxigraphStore(settings.data_dir / "graph"))
