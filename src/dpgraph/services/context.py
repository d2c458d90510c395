"""Fetch the validation context of a registration from the store.

The context is every node the registration points at but does not define itself (its
domain, owner, golden source, glossary terms, classification labels, reference lists, join-key
targets), with their own triples and the identifiers of the domains they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyoxigraph import NamedNode, Triple

from dpgraph import vocab as v
from dpgraph.store.base import GraphStore


def referenced_nodes(triples: Iterable[Triple], own: set[str]) -> list[str]:
    refs = {t.object.value for t in triples
            if isinstance(t.object, NamedNode) and t.predicate != v.RDF_TYPE}
    return sorted(r for r in refs if r.startswith(v.ID_NS) and r not in own)


def fetch_context(store: GraphStore, nodes: list[str]) -> list[Triple]:
    if not nodes:
        return []
    values = " ".join(f"<{n}>" for n in nodes)
    return store.construct(
        f"""PREFIX dpg: <{v.DPG_NS}>
        PREFIX dct: <{v.DCT_NS}>
        CONSTRUCT {{ ?s ?p ?o . ?d dct:identifier ?did . ?d a ?dtype }}
        WHERE {{
            VALUES ?s {{ {values} }}
            ?s ?p ?o .
            OPTIONAL {{ ?s dpg:belongsToDomain ?d . ?d dct:identifier ?did ; a ?dtype }}
        }}""")
