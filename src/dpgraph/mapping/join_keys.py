"""Pure mapping of a join-key decision (a log record) to RDF.

A confirmed candidate becomes a declared ``dpg:JoinKey`` like those of registrations (same
IRI scheme, so a key both declared and confirmed is one node), in a named graph of its own
per candidate id: re-registering a product does not drop it, and a later rejection replaces
the graph with nothing.
"""

from __future__ import annotations

from typing import Any

from pyoxigraph import Literal, NamedNode, Triple

from dpgraph import iris
from dpgraph import vocab as v

JOIN_KEY_DECIDED = "join-key.decided"


def decision_graph(candidate_id: str) -> NamedNode:
    return NamedNode(f"{v.ID_NS}graph/join-key/{iris.segment(candidate_id)}")


def decision_triples(payload: dict[str, Any], recorded_at: str, offset: int) -> list[Triple]:
    if payload["decision"] != "confirmed":
        return []
    a, b = payload["from"], payload["to"]
    product = iris.product(a["product"])
    key = iris.join_key(a["product"], a["element"], b["product"], b["element"])
    triples = [
        Triple(key, v.RDF_TYPE, v.JOIN_KEY),
        Triple(product, v.HAS_JOIN_KEY, key),
        Triple(key, v.FROM_ELEMENT, iris.element(a["product"], a["element"])),
        Triple(key, v.TO_ELEMENT, iris.element(b["product"], b["element"])),
        Triple(key, v.JOIN_KIND_OF, v.JOIN_KINDS[payload.get("kind", "foreign-key")]),
        Triple(key, v.CONFIRMED_AT, Literal(recorded_at, datatype=v.XSD_DATETIME)),
        Triple(key, v.LOG_OFFSET, Literal(str(offset), datatype=v.XSD_INTEGER)),
    ]
    if payload.get("by"):
        triples.append(Triple(key, v.CONFIRMED_BY, Literal(payload["by"])))
    if payload.get("reason"):
        triples.append(Triple(key, v.DCT_DESCRIPTION, Literal(payload["reason"])))
    if payload.get("confidence") is not None:
        triples.append(Triple(key, v.INFERRED_CONFIDENCE,
                              Literal(f"{payload['confidence']:.4f}", datatype=v.XSD_DECIMAL)))
    for kind in sorted({e["kind"] for e in payload.get("evidence", [])}):
        triples.append(Triple(key, v.INFERRED_FROM, Literal(kind)))
    return triples
