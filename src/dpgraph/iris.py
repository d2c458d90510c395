"""IRIs minted for registered things.

Every node of a registration gets a stable IRI derived from descriptor ids (no blank
nodes): re-registering the same descriptor yields the same triples, graphs compare by plain
set equality, and a SHACL focus node can be traced back to the descriptor field it came from.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from pyoxigraph import NamedNode

from dpgraph.vocab import ID_NS


@lru_cache(maxsize=65536)
def segment(value: str) -> str:
    return quote(value, safe="")


def product(product_id: str) -> NamedNode:
    return NamedNode(f"{ID_NS}product/{segment(product_id)}")


def product_graph(product_id: str) -> NamedNode:
    return NamedNode(f"{ID_NS}graph/product/{segment(product_id)}")


def element(product_id: str, name: str) -> NamedNode:
    return NamedNode(f"{product(product_id).value}/element/{segment(name)}")


def representation(product_id: str, rep_id: str) -> NamedNode:
    return NamedNode(f"{product(product_id).value}/representation/{segment(rep_id)}")


def attribute(product_id: str, rep_id: str, column: str) -> NamedNode:
    return NamedNode(f"{representation(product_id, rep_id).value}/attribute/{segment(column)}")


def port(product_id: str, port_id: str) -> NamedNode:
    return NamedNode(f"{product(product_id).value}/port/{segment(port_id)}")


def contract(product_id: str) -> NamedNode:
    return NamedNode(f"{product(product_id).value}/contract")


def quality_rule(product_id: str, rule_id: str) -> NamedNode:
    return NamedNode(f"{product(product_id).value}/quality-rule/{segment(rule_id)}")


def join_key(
    product_id: str, element_name: str, target_product: str, target_element: str
) -> NamedNode:
    tail = f"{segment(element_name)}--{segment(target_product)}.{segment(target_element)}"
    return NamedNode(f"{product(product_id).value}/join-key/{tail}")


def reference_mapping(product_id: str, element_name: str, list_id: str) -> NamedNode:
    tail = f"{segment(element_name)}--{segment(list_id)}"
    return NamedNode(f"{product(product_id).value}/reference-mapping/{tail}")


def lineage_job_ref(product_id: str, namespace: str, name: str) -> NamedNode:
    tail = f"{segment(namespace)}/{segment(name)}"
    return NamedNode(f"{product(product_id).value}/lineage-job/{tail}")


def reference(kind: str, entity_id: str) -> NamedNode:
    """A reference entity (domain, owner, application, term, classification, reference-list)."""
    return NamedNode(f"{ID_NS}{kind}/{segment(entity_id)}")


def reference_graph(kind: str, entity_id: str) -> NamedNode:
    return NamedNode(f"{ID_NS}graph/{kind}/{segment(entity_id)}")


def reference_value(list_id: str, code: str) -> NamedNode:
    return NamedNode(f"{reference('reference-list', list_id).value}/value/{segment(code)}")


GLOSSARY = NamedNode(f"{ID_NS}glossary")
ONTOLOGY_GRAPH = NamedNode(f"{ID_NS}graph/ontology")
# Graphs two followers of the projection write (README, "Named graphs")
LINEAGE_LINKS_GRAPH = NamedNode(f"{ID_NS}graph/lineage-links")
LATEST_SCHEMA_GRAPH = NamedNode(f"{ID_NS}graph/lineage-latest-schema")
PRODUCT_PREFIX = f"{ID_NS}product/"


def product_id_of(iri: str) -> str | None:
    """The product id of a product IRI, or None when the IRI is not one."""
    if not iri.startswith(PRODUCT_PREFIX):
        return None
    rest = iri[len(PRODUCT_PREFIX):]
    return None if "/" in rest or not rest else rest
