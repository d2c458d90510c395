"""The registration gate: form checks, then SHACL on the registration plus its context.

No I/O here beyond reading the shapes and ontology once: the caller hands in the context
(the reference entities and products the registration points at), so validation looks at a
few hundred triples, never the whole store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Triple, parse

from dpgraph import vocab as v
from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.errors import Finding
from dpgraph.mapping.product import MappedGraph
from dpgraph.resources import Artefacts
from dpgraph.validation.fields import to_finding
from dpgraph.validation.shacl import ShaclValidator

_RDFS_SUBCLASS = NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")


@dataclass
class Report:
    violations: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not self.violations

    def extend(self, findings: Iterable[Finding]) -> None:
        """Add findings, kept in a stable order (by field, rule, message) for readers and
        diffs: the SHACL engine reports in no particular order."""
        for f in findings:
            (self.violations if f.severity == "violation" else self.warnings).append(f)
        for bucket in (self.violations, self.warnings):
            bucket.sort(key=lambda f: (f.field, f.rule, f.message))

    def as_dict(self) -> dict[str, object]:
        return {
            "conforms": self.conforms,
            "violations": [f.as_dict() for f in self.violations],
            "warnings": [f.as_dict() for f in self.warnings],
        }


def ontology_context(ontology: Path) -> list[Triple]:
    """Types and the class hierarchy from the ontology: what sh:class checks need to know."""
    with ontology.open("rb") as fh:
        quads = parse(fh, format=RdfFormat.TURTLE)
        return [q.triple for q in quads
                if q.predicate in (v.RDF_TYPE, _RDFS_SUBCLASS) or
                (q.subject.value.startswith(v.DPG_NS)
                 and q.predicate in (v.SKOS_PREF_LABEL, v.SKOS_NOTATION))]


def _duplicates(kind: str, names: Iterable[str], path: str) -> list[Finding]:
    return [
        Finding("violation", f"{kind} {name!r} is declared {n} times: ids must be unique.",
                path, "schema:unique-id", value=name)
        for name, n in Counter(names).items() if n > 1
    ]


def product_form_findings(d: ProductDescriptor) -> list[Finding]:
    """Uniqueness of the ids that become IRIs: duplicates would silently merge nodes."""
    out = _duplicates("element", (e.name for e in d.elements), "elements")
    out += _duplicates("representation", (r.id for r in d.representations), "representations")
    out += _duplicates("output port", (p.id for p in d.outputPorts), "outputPorts")
    out += _duplicates("quality rule", (q.id for q in d.qualityRules), "qualityRules")
    for i, rep in enumerate(d.representations):
        out += _duplicates("attribute", (a.name for a in rep.attributes),
                           f"representations[{i}].attributes")
    return out


def catalog_form_findings(c: CatalogDescriptor) -> list[Finding]:
    out: list[Finding] = []
    for key in ("domains", "owners", "applications", "glossary", "classifications",
                "referenceLists"):
        out += _duplicates(key, (item.id for item in getattr(c, key)), key)
    builtin = set(v.CLASSIFICATIONS)
    out += [Finding("violation", f"classification {c.id!r} is built in; do not redefine it.",
                    f"classifications[{i}].id", "schema:builtin-classification", value=c.id)
            for i, c in enumerate(c.classifications) if c.id in builtin]
    return out


class RegistrationGate:
    def __init__(self, artefacts: Artefacts) -> None:
        ontology = ontology_context(artefacts.ontology)
        self._product = ShaclValidator(artefacts.shapes("product"), ontology)
        self._catalog = ShaclValidator(artefacts.shapes("catalog"), ontology)

    def check_product(self, mapped: MappedGraph, context: list[Triple]) -> Report:
        return self._check(self._product, mapped, context)

    def check_catalog(self, mapped: MappedGraph, context: list[Triple]) -> Report:
        return self._check(self._catalog, mapped, context)

    def _check(self, validator: ShaclValidator, mapped: MappedGraph,
               context: list[Triple]) -> Report:
        results = validator.validate([*mapped.triples, *context])
        report = Report()
        # Context nodes were checked when they were registered; report only on this one.
        report.extend(to_finding(r, mapped.field_paths) for r in results
                      if r.focus_node in mapped.field_paths)
        return report
