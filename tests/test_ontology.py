"""The ontology declares every term the code uses and aligns only to terms that really exist.

External terms are checked against the official vocabulary files in ``shared/vocab`` (see its
README). That directory is found through ``DPGRAPH_SHARED_DIR`` and defaults to ``shared/``
beside the repository. Each file's sha256 is pinned here and must also be the one the README
lists, so a changed or swapped file fails the suite instead of silently passing a check.

A term "exists" when it is the subject of at least one triple in its official file: some real
terms (DCAT 3 and PROV inverse properties) have no ``rdf:type`` at all.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph
from rdflib import OWL, RDF, RDFS, SKOS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection

from dpgraph import vocab

ONTOLOGY_PATH = Path(__file__).resolve().parents[1] / "ontology" / "dpgraph.ttl"
ONTOLOGY_IRI = URIRef("https://w3id.org/dpgraph/ns")
DPG = Namespace("https://w3id.org/dpgraph/ns#")
DCT = Namespace("http://purl.org/dc/terms/")
DPROD = Namespace("https://ekgf.github.io/dprod/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
ORG = Namespace("http://www.w3.org/ns/org#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
PROV = Namespace("http://www.w3.org/ns/prov#")
# A plain Namespace: rdflib's XSD warns whenever pytest probes module attributes.
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")


def shared_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared"
    return Path(os.environ.get("DPGRAPH_SHARED_DIR", default))


@dataclass(frozen=True)
class Official:
    file: str
    rdf_format: str
    namespace: str
    sha256: str


# Pinned from shared/vocab/README.md; test_pinned_hashes_match_the_readme keeps the two in step.
OFFICIAL: dict[str, Official] = {
    "dprod": Official(
        "dprod-ontology.ttl",
        "turtle",
        "https://ekgf.github.io/dprod/",
        "20da401db3ca14e6b7900db9f17cdc4f326a422ba46d638158b1052ddc6dd833",
    ),
    "dcat": Official(
        "dcat3.ttl",
        "turtle",
        "http://www.w3.org/ns/dcat#",
        "d1624d3bbf364f6fc1d43b9a188bbb9e67639b1a7d46a5cb7ea3f5d47d02b62f",
    ),
    "prov": Official(
        "prov.ttl",
        "turtle",
        "http://www.w3.org/ns/prov#",
        "d7ea634dbcd31347eba38157197f69d314077ef7f88fd4f90e4f24a78bfe1097",
    ),
    "skos": Official(
        "skos.rdf",
        "xml",
        "http://www.w3.org/2004/02/skos/core#",
        "e79633b8d0564816cee8a99f5c9acf9a0e6fc7257c7209acd684ecad53a89dd6",
    ),
    "dqv": Official(
        "dqv.ttl",
        "turtle",
        "http://www.w3.org/ns/dqv#",
        "cc333223d13c663e027456ea43b15a63c1a25505bc752599953f380420573863",
    ),
    "odrl": Official(
        "ODRL22.ttl",
        "turtle",
        "http://www.w3.org/ns/odrl/2/",
        "7895765e80d86d1d0349d945a28b8a2479f03169572345080a5b3e561ef31457",
    ),
    "dct": Official(
        "dcterms.ttl",
        "turtle",
        "http://purl.org/dc/terms/",
        "77cf6a86e4a44e371db0b91906153670570f34cf1ceda8de9d520284d944215e",
    ),
    "org": Official(
        "org.ttl",
        "turtle",
        "http://www.w3.org/ns/org#",
        "3e01f89a17475a88f8b1606ca0fae04800d34dbbf93adc6db12dc30929848729",
    ),
    "foaf": Official(
        "foaf.ttl",
        "turtle",
        "http://xmlns.com/foaf/0.1/",
        "61cf7ce2211c2a04c5615ceefc5c2d34cf93a348d98857d8d344b9c11a9b4ab3",
    ),
}

# Namespaces that have no official file here; vocab.py may use only the terms listed.
XSD_DATATYPES = frozenset(
    {
        "string",
        "boolean",
        "decimal",
        "integer",
        "long",
        "int",
        "short",
        "byte",
        "double",
        "float",
        "date",
        "dateTime",
        "dateTimeStamp",
        "time",
        "duration",
        "dayTimeDuration",
        "yearMonthDuration",
        "anyURI",
        "base64Binary",
        "hexBinary",
        "language",
        "token",
        "normalizedString",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
        "gYear",
        "gYearMonth",
        "gMonth",
        "gMonthDay",
        "gDay",
        "Name",
        "NCName",
        "NMTOKEN",
    }
)
RDF_TERMS = frozenset({"type", "Property", "JSON", "langString", "List", "first", "rest", "nil"})

# Controlled-value dicts of vocab.py: dict name -> (class of its values, concept scheme).
CONTROLLED = {
    "LIFECYCLE": (vocab.LIFECYCLE_STATUS, vocab.SCHEMES["lifecycle"]),
    "STORAGE_LAYERS": (vocab.STORAGE_LAYER, vocab.SCHEMES["storage-layer"]),
    "HISTORIZATIONS": (vocab.HISTORIZATION_STYLE, vocab.SCHEMES["historization"]),
    "PORT_KINDS": (vocab.PORT_KIND, vocab.SCHEMES["port-kind"]),
    "VISIBILITIES": (vocab.PORT_VISIBILITY, vocab.SCHEMES["visibility"]),
    "CLASSIFICATIONS": (vocab.CLASSIFICATION, vocab.SCHEMES["classification"]),
    "JOIN_KINDS": (vocab.JOIN_KIND, vocab.SCHEMES["join-kind"]),
    "IDENTIFIER_ROLES": (vocab.IDENTIFIER_ROLE, vocab.SCHEMES["identifier-role"]),
    "QUALITY_METRICS": (vocab.QUALITY_METRIC, pyoxigraph.NamedNode(DPG.QualityMetricScheme)),
    "RUN_STATES": (vocab.RUN_STATE, pyoxigraph.NamedNode(DPG.RunStateScheme)),
    "LINEAGE_METRICS": (vocab.LINEAGE_METRIC, vocab.LINEAGE_METRIC_SCHEME),
}

ALIGNMENT_PREDICATES = (
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    RDFS.domain,
    RDFS.range,
    RDF.type,
)
CLASS_TYPES = (OWL.Class, RDFS.Class)
PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property)


# --- loading --------------------------------------------------------------------------------


@cache
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_PATH, format="turtle")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def official_graph(prefix: str) -> Graph:
    spec = OFFICIAL[prefix]
    path = shared_dir() / "vocab" / spec.file
    assert path.is_file(), f"{path} is missing; set DPGRAPH_SHARED_DIR to the shared/ directory"
    assert sha256(path) == spec.sha256, f"{path} is not the pinned official file"
    return Graph().parse(path, format=spec.rdf_format)


@cache
def ontology_with_officials() -> Graph:
    union = Graph()
    union += ontology()
    for prefix in OFFICIAL:
        union += official_graph(prefix)
    return union


def readme_hashes() -> dict[str, str]:
    text = (shared_dir() / "vocab" / "README.md").read_text(encoding="utf-8")
    rows = re.finditer(r"^\| `([^`]+)` \|.*?`([0-9a-f]{64})`", text, flags=re.MULTILINE)
    return {row[1]: row[2] for row in rows}


# --- the existence checker ------------------------------------------------------------------


def official_prefix(iri: str) -> str | None:
    """The prefix of the official vocabulary whose namespace holds ``iri`` as a term."""
    for prefix, spec in OFFICIAL.items():
        local = iri.removeprefix(spec.namespace)
        if local != iri and local and not re.search(r"[/#?]", local):
            return prefix
    return None


def exists_officially(iri: str) -> bool:
    """True when ``iri`` is a term of an official vocabulary: a subject in its file."""
    prefix = official_prefix(iri)
    return prefix is not None and (URIRef(iri), None, None) in official_graph(prefix)


def in_official_namespace(iri: str) -> bool:
    return any(iri.startswith(spec.namespace) for spec in OFFICIAL.values())


def referenced_external_terms(graph: Graph, predicates: Iterable[URIRef] | None) -> set[URIRef]:
    """IRIs in official namespaces that ``graph`` uses as objects of ``predicates`` (or anywhere,
    when ``predicates`` is None), the namespace IRIs themselves excepted."""
    if predicates is None:
        nodes = {node for triple in graph for node in triple}
    else:
        nodes = {o for p in predicates for o in graph.objects(None, p)}
    return {
        node
        for node in nodes
        if isinstance(node, URIRef)
        and in_official_namespace(node)
        and node not in {URIRef(spec.namespace) for spec in OFFICIAL.values()}
    }


def unknown_external_terms(graph: Graph, predicates: Iterable[URIRef] | None) -> set[URIRef]:
    return {t for t in referenced_external_terms(graph, predicates) if not exists_officially(t)}


# --- helpers over the ontology --------------------------------------------------------------


def declared(graph: Graph, node: URIRef) -> bool:
    return (node, RDF.type, None) in graph


def dpg_terms(graph: Graph, types: Iterable[URIRef]) -> set[URIRef]:
    return {
        s
        for t in types
        for s in graph.subjects(RDF.type, t)
        if isinstance(s, URIRef) and s.startswith(DPG)
    }


def english(graph: Graph, node: URIRef, predicate: URIRef) -> list[str]:
    return [
        str(o)
        for o in graph.objects(node, predicate)
        if isinstance(o, Literal) and o.language == "en" and str(o).strip()
    ]


def vocab_named_nodes() -> dict[str, pyoxigraph.NamedNode]:
    """Every NamedNode constant of dpgraph.vocab, including values of its dicts."""
    found: dict[str, pyoxigraph.NamedNode] = {}
    for name, value in vars(vocab).items():
        if isinstance(value, pyoxigraph.NamedNode):
            found[name] = value
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, pyoxigraph.NamedNode):
                    found[f"{name}[{key!r}]"] = item
    return found


def iri(node: pyoxigraph.NamedNode) -> URIRef:
    return URIRef(node.value)


# --- 0. the official files are the pinned ones ----------------------------------------------


def test_pinned_hashes_match_the_readme() -> None:
    listed = readme_hashes()
    for spec in OFFICIAL.values():
        assert listed.get(spec.file) == spec.sha256, f"README lists another hash for {spec.file}"


def test_official_files_have_the_pinned_hashes() -> None:
    for prefix, spec in OFFICIAL.items():
        assert sha256(shared_dir() / "vocab" / spec.file) == spec.sha256, prefix


def test_vocab_namespaces_are_the_official_ones() -> None:
    assert str(DPG) == vocab.DPG_NS
    for prefix, spec in OFFICIAL.items():
        assert vocab.PREFIXES[prefix] == spec.namespace, prefix


# --- 1. the ontology parses and documents every term ----------------------------------------


def test_ontology_parses_with_rdflib_and_pyoxigraph() -> None:
    with ONTOLOGY_PATH.open("rb") as stream:
        oxigraph_triples = list(pyoxigraph.parse(stream, format=pyoxigraph.RdfFormat.TURTLE))
    assert len(ontology()) > 500
    assert len(oxigraph_triples) == len(ontology())


def test_ontology_header() -> None:
    g = ontology()
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in g
    assert english(g, ONTOLOGY_IRI, DCT.title)
    assert english(g, ONTOLOGY_IRI, DCT.description)
    assert g.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    assert isinstance(g.value(ONTOLOGY_IRI, DCT.license), URIRef)


def test_every_class_and_property_is_labelled_commented_and_defined_here() -> None:
    g = ontology()
    terms = dpg_terms(g, CLASS_TYPES + PROPERTY_TYPES)
    assert len(terms) > 100
    problems = []
    for term in sorted(terms):
        comments = english(g, term, RDFS.comment)
        if not english(g, term, RDFS.label):
            problems.append(f"{term}: no rdfs:label@en")
        if not comments or not all(c.endswith(".") and len(c.split()) >= 6 for c in comments):
            problems.append(f"{term}: no rdfs:comment@en that is a sentence")
        if (term, RDFS.isDefinedBy, ONTOLOGY_IRI) not in g:
            problems.append(f"{term}: not rdfs:isDefinedBy the ontology")
    assert not problems, "\n".join(problems)


def test_every_dpg_iri_the_ontology_mentions_is_declared() -> None:
    g = ontology()
    mentioned = {n for triple in g for n in triple if isinstance(n, URIRef) and n.startswith(DPG)}
    assert sorted(n for n in mentioned if not declared(g, n)) == []


def test_properties_are_object_or_datatype_properties_with_fitting_ranges() -> None:
    g = ontology()
    problems = []
    for prop in sorted(dpg_terms(g, PROPERTY_TYPES)):
        is_object = (prop, RDF.type, OWL.ObjectProperty) in g
        is_datatype = (prop, RDF.type, OWL.DatatypeProperty) in g
        ranges = set(g.objects(prop, RDFS.range))
        literal_ranges = {r for r in ranges if r.startswith(XSD) or r in (RDF.JSON, RDFS.Literal)}
        if is_object == is_datatype:
            problems.append(f"{prop}: must be exactly one of object or datatype property")
        elif not ranges:
            problems.append(f"{prop}: no rdfs:range")
        elif is_object and literal_ranges:
            problems.append(f"{prop}: object property with a datatype range")
        elif is_datatype and literal_ranges != ranges:
            problems.append(f"{prop}: datatype property with a class range")
    assert not problems, "\n".join(problems)


# --- 2. vocab.py: dpg constants are declared, external constants exist ----------------------


def test_every_dpg_constant_of_vocab_is_declared() -> None:
    constants = {n: iri(v) for n, v in vocab_named_nodes().items() if v.value.startswith(DPG)}
    assert len(constants) > 150, "the walk over dpgraph.vocab found too few constants"
    missing = sorted(
        f"{name} = {term}" for name, term in constants.items() if not declared(ontology(), term)
    )
    assert missing == []


def test_every_external_constant_of_vocab_exists() -> None:
    problems = []
    for name, node in vocab_named_nodes().items():
        value = node.value
        if value.startswith(DPG):
            continue
        if in_official_namespace(value):
            ok = exists_officially(value)
        elif value.startswith(str(XSD)):
            ok = value.removeprefix(str(XSD)) in XSD_DATATYPES
        elif value.startswith(str(RDF)):
            ok = value.removeprefix(str(RDF)) in RDF_TERMS
        else:
            ok = False
        if not ok:
            problems.append(f"{name} = <{value}>")
    assert problems == []


# --- 3. every external term the ontology references is real ---------------------------------


def test_aligned_external_terms_exist_in_the_official_files() -> None:
    referenced = referenced_external_terms(ontology(), ALIGNMENT_PREDICATES)
    assert len(referenced) > 30, "expected the ontology to align to many external terms"
    assert sorted(unknown_external_terms(ontology(), ALIGNMENT_PREDICATES)) == []


def test_every_external_term_used_anywhere_exists() -> None:
    assert sorted(unknown_external_terms(ontology(), None)) == []


EXPECTED_ALIGNMENTS = [
    (DPG.DataProduct, RDFS.subClassOf, DPROD.DataProduct),
    (DPG.Domain, RDFS.subClassOf, ORG.OrganizationalUnit),
    (DPG.Owner, RDFS.subClassOf, PROV.Agent),
    (DPG.Team, RDFS.subClassOf, FOAF.Group),
    (DPG.Person, RDFS.subClassOf, FOAF.Person),
    (DPG.SourceApplication, RDFS.subClassOf, PROV.SoftwareAgent),
    (DPG.LifecycleStatus, RDFS.subClassOf, DPROD.DataProductLifecycleStatus),
    (DPG.PhysicalRepresentation, RDFS.subClassOf, DCAT.Distribution),
    (DPG.OutputPort, RDFS.subClassOf, DCAT.DataService),
    (DPG.Classification, RDFS.subClassOf, DPROD.InformationSensitivityClassification),
    (DPG.DataContract, RDFS.subClassOf, ODRL.Policy),
    (DPG.QualityRule, RDFS.subClassOf, DQV.QualityPolicy),
    (DPG.QualityMetric, RDFS.subClassOf, DQV.Metric),
    (DPG.Run, RDFS.subClassOf, PROV.Activity),
    (DPG.LineageDataset, RDFS.subClassOf, DCAT.Dataset),
    (DPG.ColumnDerivation, RDFS.subClassOf, PROV.Derivation),
    (DPG.goldenSource, RDFS.subPropertyOf, DCT.source),
    (DPG.businessTerm, RDFS.subPropertyOf, DCT.subject),
    (DPG.reads, RDFS.subPropertyOf, PROV.used),
    (DPG.writes, RDFS.subPropertyOf, PROV.generated),
    (DPG.derivedFromField, RDFS.subPropertyOf, PROV.wasDerivedFrom),
    (DPG.derivationSource, RDFS.subPropertyOf, PROV.entity),
    (DPG.startedAt, RDFS.subPropertyOf, PROV.startedAtTime),
]


def test_key_alignments_are_present() -> None:
    g = ontology()
    assert [t for t in EXPECTED_ALIGNMENTS if t not in g] == []


def follows(g: Graph, needed: URIRef | BNode, implied: set[URIRef]) -> bool:
    """Whether a class (or an owl:unionOf of classes) already holds, given ``implied``."""
    if needed in implied or needed in (OWL.Thing, RDFS.Resource):
        return True
    if needed == RDFS.Literal:
        return any(c.startswith(XSD) for c in implied)
    union = g.value(needed, OWL.unionOf) if isinstance(needed, BNode) else None
    return union is not None and any(follows(g, m, implied) for m in Collection(g, union))


def test_inherited_domains_and_ranges_add_no_types() -> None:
    """A super-property's domain and range must already follow from the dpg property's own.

    Otherwise RDFS entailment would type resources wrongly, e.g. every data element a
    dcat:Dataset if dpg:classification were a subproperty of
    dprod:informationSensitivityClassification.
    """
    g = ontology_with_officials()
    problems = []
    for prop in sorted(dpg_terms(ontology(), PROPERTY_TYPES)):
        for axis in (RDFS.domain, RDFS.range):
            own = set(g.objects(prop, axis))
            implied = set().union(*(set(g.transitive_objects(c, RDFS.subClassOf)) for c in own))
            for sup in set(g.transitive_objects(prop, RDFS.subPropertyOf)) - {prop}:
                for needed in g.objects(sup, axis):
                    if not follows(g, needed, implied):
                        problems.append(f"{prop} {axis} inherits {needed} from {sup}")
    assert not problems, "\n".join(problems)


# --- 4. negative controls: the checker can fail ---------------------------------------------

MADE_UP_TERMS = [
    str(DPROD.DataProductOwner),
    str(DPROD.dataContract),
    str(DCAT.DataProduct),
    str(DCT.owner),
    str(ORG.Team),
    str(FOAF.owner),
    "http://www.w3.org/2004/02/skos/core#Label",
    "https://ekgf.github.io/dprod#DataProduct",  # DPROD's namespace has no '#'
    "http://www.w3.org/ns/dcat#DataService/x",
]
REAL_TERMS = [
    str(DPROD.DataProduct),
    str(DPROD.outputPort),
    str(DCAT.isDistributionOf),  # untyped DCAT 3 inverse: a subject, but with no rdf:type
    str(PROV.wasUsedBy),  # untyped PROV inverse name
    "http://www.w3.org/2004/02/skos/core#Concept",
    str(ODRL.Policy),
]


def test_checker_rejects_made_up_terms() -> None:
    assert [t for t in MADE_UP_TERMS if exists_officially(t)] == []


def test_checker_accepts_real_terms_even_without_rdf_type() -> None:
    assert [t for t in REAL_TERMS if not exists_officially(t)] == []


def test_checker_flags_a_wrong_alignment_added_to_the_ontology() -> None:
    broken = Graph()
    broken += ontology()
    broken.add((DPG.DataProduct, RDFS.subClassOf, DCAT.DataProduct))
    broken.add((DPG.goldenSource, RDFS.subPropertyOf, DCT.owner))
    assert unknown_external_terms(broken, ALIGNMENT_PREDICATES) == {DCAT.DataProduct, DCT.owner}


# --- controlled values ----------------------------------------------------------------------


def test_controlled_values_are_skos_concepts_with_their_descriptor_notation() -> None:
    g = ontology()
    problems = []
    for dict_name, (cls, scheme) in CONTROLLED.items():
        scheme_iri = iri(scheme)
        if not {SKOS.ConceptScheme} <= set(g.objects(scheme_iri, RDF.type)):
            problems.append(f"{scheme_iri}: not a skos:ConceptScheme")
        for key, node in getattr(vocab, dict_name).items():
            value, where = iri(node), f"{dict_name}[{key!r}]"
            if not {SKOS.Concept, iri(cls)} <= set(g.objects(value, RDF.type)):
                problems.append(f"{where}: not a skos:Concept and {cls.value}")
            if list(g.objects(value, SKOS.notation)) != [Literal(key)]:
                problems.append(f"{where}: skos:notation is not exactly {key!r}")
            if not english(g, value, SKOS.prefLabel) or not english(g, value, SKOS.definition):
                problems.append(f"{where}: no skos:prefLabel@en or skos:definition@en")
            if (value, SKOS.inScheme, scheme_iri) not in g:
                problems.append(f"{where}: not skos:inScheme {scheme_iri}")
            if (scheme_iri, SKOS.hasTopConcept, value) not in g:
                problems.append(f"{where}: not a top concept of {scheme_iri}")
    assert not problems, "\n".join(problems)


def test_every_dpg_concept_and_scheme_is_known_to_vocab() -> None:
    g = ontology()
    known = {iri(n) for name in CONTROLLED for n in getattr(vocab, name).values()}
    schemes = {iri(scheme) for _, scheme in CONTROLLED.values()}
    assert dpg_terms(g, [SKOS.Concept]) == known
    assert dpg_terms(g, [SKOS.ConceptScheme]) == schemes
    for scheme in schemes:
        assert english(g, scheme, RDFS.label) and english(g, scheme, RDFS.comment), scheme
        assert set(g.objects(scheme, SKOS.hasTopConcept)) == set(g.subjects(SKOS.inScheme, scheme))


def test_classifications_carry_their_sensitivity_rank() -> None:
    g = ontology()
    ranks = {
        key: g.value(iri(node), DPG.sensitivityRank) for key, node in vocab.CLASSIFICATIONS.items()
    }
    expected = {"public": 0, "internal": 1, "confidential": 2, "pii": 3}
    assert ranks == {k: Literal(v, datatype=XSD.integer) for k, v in expected.items()}


def test_controlled_values_are_also_typed_with_the_external_class() -> None:
    g = ontology()
    external = {
        "LIFECYCLE": DPROD.DataProductLifecycleStatus,
        "CLASSIFICATIONS": DPROD.InformationSensitivityClassification,
        "QUALITY_METRICS": DQV.Metric,
        "LINEAGE_METRICS": DQV.Metric,
    }
    untyped = [
        f"{name}[{key!r}]"
        for name, cls in external.items()
        for key, node in getattr(vocab, name).items()
        if (iri(node), RDF.type, cls) not in g
    ]
    assert untyped == []
