"""Pure mapping of a catalog descriptor (reference entities) to RDF, one graph per entity."""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.descriptor import (
    Application,
    CatalogDescriptor,
    ClassificationLabel,
    Domain,
    GlossaryTerm,
    Owner,
    ReferenceListModel,
)
from dpgraph.mapping.product import MappedGraph, text, typed


@dataclass(frozen=True)
class EntityGraph:
    kind: str
    entity_id: str
    graph: NamedNode
    mapped: MappedGraph


def catalog_to_rdf(c: CatalogDescriptor) -> list[EntityGraph]:
    out: list[EntityGraph] = []
    sections = (
        ("domain", "domains", c.domains, _domain),
        ("owner", "owners", c.owners, _owner),
        ("application", "applications", c.applications, _application),
        ("term", "glossary", c.glossary, _term),
        ("classification", "classifications", c.classifications, _classification),
        ("reference-list", "referenceLists", c.referenceLists, _reference_list),
    )
    for kind, key, items, mapper in sections:
        for i, item in enumerate(items):
            g = MappedGraph()
            mapper(g, item, f"{key}[{i}]")
            out.append(EntityGraph(kind, item.id, iris.reference_graph(kind, item.id), g))
    return out


def _named(g: MappedGraph, kind: str, entity_id: str, path: str, *types: NamedNode) -> NamedNode:
    node = g.node(iris.reference(kind, entity_id), path, *types)
    g.add(node, v.DCT_IDENTIFIER, Literal(entity_id))
    return node


def _domain(g: MappedGraph, d: Domain, path: str) -> None:
    n = _named(g, "domain", d.id, path, v.DOMAIN)
    g.add(n, v.DCT_TITLE, text(d.name))
    g.add(n, v.DCT_DESCRIPTION, text(d.description))


def _owner(g: MappedGraph, o: Owner, path: str) -> None:
    n = _named(g, "owner", o.id, path, v.OWNER, v.TEAM if o.kind == "team" else v.PERSON)
    g.add(n, v.DCT_TITLE, text(o.name))
    g.add(n, v.FOAF_MBOX, NamedNode(f"mailto:{o.email}") if o.email else None)
    g.add(n, v.BELONGS_TO_DOMAIN, iris.reference("domain", o.domain) if o.domain else None)
    g.add(n, v.ACTIVE, typed(str(o.active).lower(), v.XSD_BOOLEAN))


def _application(g: MappedGraph, a: Application, path: str) -> None:
    n = _named(g, "application", a.id, path, v.SOURCE_APPLICATION)
    g.add(n, v.DCT_TITLE, text(a.name))
    g.add(n, v.DCT_DESCRIPTION, text(a.description))
    g.add(n, v.BELONGS_TO_DOMAIN, iris.reference("domain", a.domain) if a.domain else None)
    for ns in a.lineage.namespaces if a.lineage else ():
        g.add(n, v.LANDS_IN_NAMESPACE, text(ns))


def _term(g: MappedGraph, t: GlossaryTerm, path: str) -> None:
    n = _named(g, "term", t.id, path, v.BUSINESS_TERM, v.SKOS_CONCEPT)
    g.add(n, v.SKOS_PREF_LABEL, text(t.label))
    g.add(n, v.SKOS_DEFINITION, text(t.definition))
    g.add(n, v.SKOS_IN_SCHEME, iris.GLOSSARY)
    g.add(n, v.IDENTIFIER_ROLE_OF, v.IDENTIFIER_ROLES.get(t.identifierRole or ""))
    g.add(n, v.SKOS_BROADER, iris.reference("term", t.broader) if t.broader else None)


def _classification(g: MappedGraph, c: ClassificationLabel, path: str) -> None:
    n = _named(g, "classification", c.id, path, v.CLASSIFICATION, v.SKOS_CONCEPT)
    g.add(n, v.SKOS_PREF_LABEL, text(c.label))
    g.add(n, v.SKOS_DEFINITION, text(c.definition))
    g.add(n, v.SKOS_IN_SCHEME, v.SCHEMES["classification"])
    g.add(n, v.SENSITIVITY_RANK, typed(c.rank, v.XSD_INTEGER))


def _reference_list(g: MappedGraph, r: ReferenceListModel, path: str) -> None:
    n = _named(g, "reference-list", r.id, path, v.REFERENCE_LIST, v.SKOS_CONCEPT_SCHEME)
    g.add(n, v.DCT_TITLE, text(r.name))
    for i, value in enumerate(r.values):
        node = g.node(iris.reference_value(r.id, value.code), f"{path}.values[{i}]",
                      v.REFERENCE_VALUE, v.SKOS_CONCEPT)
        g.add(node, v.SKOS_NOTATION, Literal(value.code))
        g.add(node, v.SKOS_PREF_LABEL, text(value.label))
        g.add(node, v.SKOS_IN_SCHEME, n)
