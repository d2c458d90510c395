"""Pure mapping of a product descriptor to RDF triples (no I/O).

Besides the triples it returns ``field_paths``: for every node it minted, the descriptor path
it came from (``elements[2]``, ``representations[0].attributes[1]``). The validation service
uses it to tell a person which field of *their file* a SHACL finding is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pyoxigraph import Literal, NamedNode, Triple

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.descriptor import (
    Contract,
    DataElement,
    JoinKey,
    OutputPort,
    ProductDescriptor,
    QualityRule,
    ReferenceMapping,
    Representation,
)
from dpgraph.lineage.iris import job_iri
from dpgraph.lineage.naming import normalize_uri


@dataclass
class MappedGraph:
    triples: list[Triple] = field(default_factory=list)
    field_paths: dict[str, str] = field(default_factory=dict)

    def add(self, s: NamedNode, p: NamedNode, o: NamedNode | Literal | None) -> None:
        if o is not None:
            self.triples.append(Triple(s, p, o))

    def node(self, iri: NamedNode, path: str, *types: NamedNode) -> NamedNode:
        self.field_paths[iri.value] = path
        for t in types:
            self.triples.append(Triple(iri, v.RDF_TYPE, t))
        return iri


def text(value: str | None) -> Literal | None:
    return Literal(value) if value else None


def typed(value: object, datatype: NamedNode) -> Literal | None:
    return None if value is None else Literal(str(value), datatype=datatype)


def classification_iri(label: str | None) -> NamedNode | None:
    if label is None:
        return None
    return v.CLASSIFICATIONS.get(label) or iris.reference("classification", label)


def product_to_rdf(d: ProductDescriptor) -> MappedGraph:
    g = MappedGraph()
    p = g.node(iris.product(d.id), "", v.DATA_PRODUCT, v.DPROD_DATA_PRODUCT)
    g.add(p, v.DCT_IDENTIFIER, Literal(d.id))
    g.add(p, v.PRODUCT_IDENTIFIER, Literal(d.id))
    g.add(p, v.DCT_TITLE, text(d.name))
    g.add(p, v.DCT_DESCRIPTION, text(d.description))
    g.add(p, v.DPROD_DOMAIN, iris.reference("domain", d.domain) if d.domain else None)
    g.add(p, v.DPROD_OWNER, iris.reference("owner", d.owner) if d.owner else None)
    app = iris.reference("application", d.sourceApplication) if d.sourceApplication else None
    g.add(p, v.GOLDEN_SOURCE, app)
    g.add(p, v.DPROD_LIFECYCLE_STATUS, v.LIFECYCLE[d.lifecycleStatus])
    g.add(p, v.DCAT_VERSION, text(d.version))
    for i, el in enumerate(d.elements):
        _element(g, d.id, p, el, f"elements[{i}]")
    for i, rep in enumerate(d.representations):
        _representation(g, d.id, p, rep, f"representations[{i}]")
    for i, port in enumerate(d.outputPorts):
        _port(g, d.id, p, port, f"outputPorts[{i}]")
    if d.contract is not None:
        _contract(g, d.id, p, d.contract)
    for i, rule in enumerate(d.qualityRules):
        _quality_rule(g, d.id, p, rule, f"qualityRules[{i}]")
    for i, key in enumerate(d.joinKeys):
        _join_key(g, d.id, p, key, f"joinKeys[{i}]")
    for i, mapping in enumerate(d.referenceMappings):
        _reference_mapping(g, d.id, p, mapping, f"referenceMappings[{i}]")
    _lineage(g, d)
    return g


def _element(g: MappedGraph, pid: str, p: NamedNode, el: DataElement, path: str) -> None:
    e = g.node(iris.element(pid, el.name), path, v.DATA_ELEMENT)
    g.add(p, v.HAS_DATA_ELEMENT, e)
    g.add(e, v.DCT_IDENTIFIER, Literal(el.name))
    g.add(e, v.DCT_TITLE, text(el.title))
    g.add(e, v.DCT_DESCRIPTION, text(el.description))
    term = iris.reference("term", el.businessTerm) if el.businessTerm else None
    g.add(e, v.BUSINESS_TERM_OF, term)
    g.add(e, v.CLASSIFICATION_OF, classification_iri(el.classification))
    g.add(e, v.DATA_TYPE, text(el.dataType))


def _representation(g: MappedGraph, pid: str, p: NamedNode, rep: Representation, path: str) -> None:
    r = g.node(iris.representation(pid, rep.id), path, v.PHYSICAL_REPRESENTATION)
    g.add(p, v.HAS_REPRESENTATION, r)
    g.add(r, v.DCT_IDENTIFIER, Literal(rep.id))
    g.add(r, v.REPRESENTATION_KIND, text(rep.kind))
    g.add(r, v.LOCATION, typed(rep.location, v.XSD_ANYURI) if rep.location else None)
    if rep.location and "://" in rep.location:
        g.add(r, v.NORMALIZED_LOCATION, Literal(normalize_uri(rep.location)))
    g.add(r, v.FORMAT, text(rep.format))
    g.add(r, v.STORAGE_LAYER_OF, v.STORAGE_LAYERS.get(rep.storageLayer or ""))
    g.add(r, v.HISTORIZATION, v.HISTORIZATIONS.get(rep.historization or ""))
    for j, attr in enumerate(rep.attributes):
        a = g.node(iris.attribute(pid, rep.id, attr.name), f"{path}.attributes[{j}]",
                   v.PHYSICAL_ATTRIBUTE)
        g.add(r, v.HAS_ATTRIBUTE, a)
        g.add(a, v.COLUMN_NAME, Literal(attr.name))
        g.add(a, v.DATA_TYPE, text(attr.type))
        g.add(a, v.MAPS_TO_ELEMENT, iris.element(pid, attr.element) if attr.element else None)


def _port(g: MappedGraph, pid: str, p: NamedNode, port: OutputPort, path: str) -> None:
    o = g.node(iris.port(pid, port.id), path, v.OUTPUT_PORT)
    g.add(p, v.DPROD_OUTPUT_PORT, o)
    g.add(o, v.DCT_IDENTIFIER, Literal(port.id))
    g.add(o, v.DCT_DESCRIPTION, text(port.description))
    g.add(o, v.PORT_KIND_OF, v.PORT_KINDS.get(port.kind or ""))
    g.add(o, v.VISIBILITY, v.VISIBILITIES.get(port.visibility or ""))
    exposed = iris.representation(pid, port.representation) if port.representation else None
    g.add(o, v.EXPOSES, exposed)
    g.add(o, v.ENDPOINT, text(port.endpoint))


def _contract(g: MappedGraph, pid: str, p: NamedNode, c: Contract) -> None:
    node = g.node(iris.contract(pid), "contract", v.DATA_CONTRACT)
    g.add(p, v.HAS_CONTRACT, node)
    g.add(node, v.DCAT_VERSION, text(c.version))
    g.add(node, v.REFRESH_CYCLE, typed(c.refreshCycle, v.XSD_DURATION))
    g.add(node, v.SERVICE_LEVEL, text(c.serviceLevel))
    g.add(node, v.TERMS_OF_USE, text(c.termsOfUse))
    g.add(node, v.VALID_UNTIL, typed(c.validUntil, v.XSD_DATE))


def _quality_rule(g: MappedGraph, pid: str, p: NamedNode, rule: QualityRule, path: str) -> None:
    q = g.node(iris.quality_rule(pid, rule.id), path, v.QUALITY_RULE)
    g.add(p, v.HAS_QUALITY_RULE, q)
    g.add(q, v.DCT_IDENTIFIER, Literal(rule.id))
    g.add(q, v.DCT_DESCRIPTION, text(rule.description))
    g.add(q, v.METRIC, v.QUALITY_METRICS.get(rule.metric or ""))
    g.add(q, v.COMPARATOR, Literal(rule.comparator))
    threshold = None if rule.threshold is None else format(Decimal(str(rule.threshold)), "f")
    g.add(q, v.THRESHOLD, typed(threshold, v.XSD_DECIMAL))
    g.add(q, v.ON_ELEMENT, iris.element(pid, rule.element) if rule.element else None)


def _join_key(g: MappedGraph, pid: str, p: NamedNode, key: JoinKey, path: str) -> None:
    ref = key.references
    k = g.node(iris.join_key(pid, key.element, ref.product, ref.element), path, v.JOIN_KEY)
    g.add(p, v.HAS_JOIN_KEY, k)
    g.add(k, v.FROM_ELEMENT, iris.element(pid, key.element))
    g.add(k, v.TO_ELEMENT, iris.element(ref.product, ref.element))
    g.add(k, v.JOIN_KIND_OF, v.JOIN_KINDS[key.kind])
    g.add(k, v.DCT_DESCRIPTION, text(key.description))


def _reference_mapping(
    g: MappedGraph, pid: str, p: NamedNode, m: ReferenceMapping, path: str
) -> None:
    # One ReferenceMapping node per local value: each is a plain (local -> enterprise) pair.
    base = iris.reference_mapping(pid, m.element, m.referenceList).value
    for local, code in sorted(m.values.items()):
        node = g.node(NamedNode(f"{base}/{iris.segment(local)}"), f"{path}.values.{local}",
                      v.REFERENCE_MAPPING)
        g.add(p, v.HAS_REFERENCE_MAPPING, node)
        g.add(node, v.ON_ELEMENT, iris.element(pid, m.element))
        g.add(node, v.REFERENCE_LIST_OF, iris.reference("reference-list", m.referenceList))
        g.add(node, v.LOCAL_VALUE, Literal(local))
        g.add(node, v.ENTERPRISE_VALUE, iris.reference_value(m.referenceList, code))


def _lineage(g: MappedGraph, d: ProductDescriptor) -> None:
    p = iris.product(d.id)
    for ns in d.lineage.namespaces:
        g.add(p, v.PRODUCED_BY_NAMESPACE, Literal(ns))
    for i, job in enumerate(d.lineage.jobs):
        ref = g.node(iris.lineage_job_ref(d.id, job.namespace, job.name),
                     f"lineage.jobs[{i}]", v.LINEAGE_JOB_REF)
        g.add(p, v.PRODUCED_BY_JOB, ref)
        g.add(ref, v.JOB_NAMESPACE, Literal(job.namespace))
        g.add(ref, v.JOB_NAME, Literal(job.name))
        # The lineage job's own IRI, so that queries join on it rather than compute it.
        g.add(ref, v.REFERS_TO_JOB, NamedNode(job_iri(job.namespace, job.name)))
