"""Join keys and join paths: reads over the join index, and governance decisions on candidates.

A decision (confirm or reject a candidate) is a log record like any write: validated, appended,
then projected into the graph (a confirmed candidate becomes a declared ``dpg:JoinKey``) and
into the join index. Reads wait for the projection to hold every acknowledged write.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

from dpgraph.errors import Conflict, Finding, InvalidInput, NotFound
from dpgraph.joins.graph import JoinGraph
from dpgraph.joins.model import ElementRef, JoinEdge, combine, parse_pair_id
from dpgraph.joins.paths import join_paths, no_path_reason
from dpgraph.log.sqlite_log import NewRecord, SqliteLog
from dpgraph.mapping.join_keys import JOIN_KEY_DECIDED
from dpgraph.services.join_index import JoinIndex
from dpgraph.services.projection_worker import ProjectionWorker

STATUSES = ("declared", "candidate", "rejected")
DECISIONS = {"confirm": "confirmed", "reject": "rejected"}


class JoinKeys:
    def __init__(self, index: JoinIndex, log: SqliteLog, projection: ProjectionWorker) -> None:
        self._index = index
        self._log = log
        self._projection = projection
        self._write_lock = threading.Lock()

    def _graph(self) -> JoinGraph:
        self._projection.wait_for_log()
        return self._index.graph()

    def _require_product(self, g: JoinGraph, product_id: str, field: str) -> None:
        if product_id not in g.products:
            raise NotFound(f"product {product_id!r} is not registered (or is retired)",
                           errors=[Finding("violation", f"no active product {product_id!r}",
                                           field, "join-paths:known-product",
                                           value=product_id)])

    # ------------------------------------------------------------------ reads
    def list(self, product: str | None, status: str | None, limit: int, offset: int
             ) -> dict[str, Any]:
        g = self._graph()
        if product is not None:
            self._require_product(g, product, "product")
        items = list(itertools.islice(_iterate(g, product, status), offset, offset + limit + 1))
        return {"product": product, "status": status, "limit": limit, "offset": offset,
                "hasMore": len(items) > limit,
                "joinKeys": [e.as_dict() for e in items[:limit]]}

    def paths(self, source: str, target: str, max_hops: int, limit: int) -> dict[str, Any]:
        g = self._graph()
        self._require_product(g, source, "from")
        self._require_product(g, target, "to")
        if source == target:
            raise InvalidInput("from and to name the same product", errors=[Finding(
                "violation", "a join path links two different products", "to",
                "join-paths:distinct-products", value=target)])
        paths = join_paths(g, source, target, max_hops, limit)
        return {"from": source, "to": target, "maxHops": max_hops, "paths": paths,
                "reason": None if paths else no_path_reason(g, source, target, max_hops)}

    # ------------------------------------------------------------------ decisions
    def decide(self, candidate_id: str, action: str, *, by: str | None = None,
               reason: str | None = None, kind: str | None = None,
               from_product: str | None = None) -> dict[str, Any]:
        decision = DECISIONS[action]
        try:
            a, b = parse_pair_id(candidate_id)
        except ValueError as exc:
            raise InvalidInput(f"candidate id {candidate_id!r}: {exc}", errors=[Finding(
                "violation", str(exc), "id", "join-keys:candidate-id",
                value=candidate_id)]) from exc
        with self._write_lock:
            g = self._graph()
            edge = self._candidate(g, candidate_id, a, b)
            if any(e.kind == "registration" for e in edge.declared_by):
                raise Conflict(f"{candidate_id} is declared by a registration; change the "
                               f"product descriptor's joinKeys instead")
            if edge.decision is not None and edge.decision["status"] == decision:
                return {**edge.as_dict(), "unchanged": True}
            first, second = edge.a, edge.b
            if from_product is not None:
                if from_product not in (a.product, b.product):
                    raise InvalidInput(f"from {from_product!r} is not a product of the pair",
                                       errors=[Finding("violation", "from names one of the "
                                                       "pair's two products", "from",
                                                       "join-keys:from-in-pair",
                                                       value=from_product)])
                if first.product != from_product:
                    first, second = second, first
            payload: dict[str, Any] = {
                "id": candidate_id, "decision": decision,
                "from": {"product": first.product, "element": first.element},
                "to": {"product": second.product, "element": second.element},
                "kind": kind or edge.kind,
                "confidence": combine(e.confidence for e in edge.inferred),
                "evidence": [e.as_dict() for e in edge.inferred],
            }
            payload.update({k: x for k, x in (("by", by), ("reason", reason)) if x})
            (written,) = self._log.append([NewRecord(JOIN_KEY_DECIDED, candidate_id, payload)])
            self._projection.submit(written.offset)
            self._projection.wait_for(written.offset)
        updated = self._index.graph().edges[candidate_id]
        return {**updated.as_dict(), "logOffset": written.offset, "unchanged": False}

    def _candidate(self, g: JoinGraph, candidate_id: str, a: ElementRef, b: ElementRef
                   ) -> JoinEdge:
        for ref in (a, b):
            product = g.products.get(ref.product)
            if product is None or ref.element not in product.elements:
                raise NotFound(f"{candidate_id}: {ref} is not an element of an active "
                               f"registered product")
        edge = g.edge(a, b)
        if edge is None:
            raise NotFound(f"{candidate_id} is not a join-key candidate: nothing links "
                           f"{a} and {b} (no shared identifier term, SQL join or lineage)")
        return edge


def _iterate(g: JoinGraph, product: str | None, status: str | None) -> Iterator[JoinEdge]:
    """Materialised edges (declared, candidates seen in SQL or lineage, rejected), by
    confidence; then, for candidates, the pairs implied by shared identifier terms."""
    wanted = STATUSES if status is None else (status,)
    edges = [e for e in g.edges.values() if e.status in wanted
             and (product is None or product in (e.a.product, e.b.product))]
    edges.sort(key=lambda e: (STATUSES.index(e.status), -e.confidence, e.id))
    yield from edges
    if "candidate" in wanted:
        yield from g.term_pairs(product)
