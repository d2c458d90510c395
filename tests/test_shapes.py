"""The SHACL gate: every demo product passes, every broken descriptor fails for its rule.

The expectations (field, rule, a phrase of the message) are written by hand in
examples/broken/EXPECTED.yaml, one entry per broken file: each is a failing example of one
shape, and the demo products are the passing examples of all of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES, example_product, read_yaml

from dpgraph.descriptor import CatalogDescriptor
from dpgraph.errors import InvalidRegistration
from dpgraph.runtime import Runtime
from dpgraph.services.parsing import parse_product, validate_model

BROKEN = read_yaml(EXAMPLES / "broken" / "EXPECTED.yaml")
SHAPES = ("shapes/product.ttl", "shapes/catalog.ttl")


def _findings(runtime: Runtime, path: Path):
    body = path.read_bytes()
    try:
        outcome = runtime.registry.register_product(
            parse_product(body, "application/yaml"), dry_run=True)
    except InvalidRegistration as refused:
        return "refused", refused.errors
    return "accepted", outcome.report.warnings


def test_demo_products_pass_without_violations(demo_runtime: Runtime) -> None:
    listed = {p["id"] for p in demo_runtime.registry.list_products()}
    expected = {p.stem for p in (EXAMPLES / "products").glob("*.yaml")}
    assert listed == expected and len(listed) >= 8


def test_broken_examples_cover_at_least_ten_rules() -> None:
    assert len(BROKEN) >= 10
    assert {p.name for p in (EXAMPLES / "broken").glob("*.yaml")} - {"EXPECTED.yaml"} == set(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_descriptor_is_refused_for_its_rule(demo_runtime: Runtime, name: str) -> None:
    expected = BROKEN[name]
    log_head = demo_runtime.log.head()
    status, findings = _findings(demo_runtime, EXAMPLES / "broken" / name)

    assert status == ("refused" if expected["severity"] == "violation" else "accepted")
    main = [f for f in findings if f.field == expected["field"]]
    assert len(main) == 1, [f.as_dict() for f in findings]
    assert main[0].severity == expected["severity"]
    assert main[0].rule == expected["shape"]
    assert expected["says"] in main[0].message
    others = sorted(f.field for f in findings if f is not main[0])
    assert others == sorted(expected.get("alsoReported", []))
    assert demo_runtime.log.head() == log_head  # a refused registration writes nothing


def test_golden_source_rule_passes_for_own_domain_and_fails_for_another(
        demo_runtime: Runtime) -> None:
    doc = example_product("customer-profile")
    ok = demo_runtime.registry.register_product(validate_model_product(doc), dry_run=True)
    assert ok.accepted
    doc["sourceApplication"] = "sap-erp-finance"
    with pytest.raises(InvalidRegistration) as refused:
        demo_runtime.registry.register_product(validate_model_product(doc), dry_run=True)
    (finding,) = refused.value.errors
    assert finding.field == "sourceApplication"
    assert "belongs to domain finance" in finding.message


def test_private_raw_port_on_bronze_passes(demo_runtime: Runtime) -> None:
    doc = example_product("marketing-campaign-responses")
    bronze = {r["id"] for r in doc["representations"] if r.get("storageLayer") == "bronze"}
    raw_ports = [p for p in doc["outputPorts"] if p.get("representation") in bronze]
    assert raw_ports and all(p["visibility"] == "private-raw" for p in raw_ports)
    assert demo_runtime.registry.register_product(
        validate_model_product(doc), dry_run=True).accepted


def test_refresh_cycle_must_be_an_iso_duration(demo_runtime: Runtime) -> None:
    doc = example_product("product-catalog")
    doc["contract"]["refreshCycle"] = "daily"
    with pytest.raises(InvalidRegistration) as refused:
        demo_runtime.registry.register_product(validate_model_product(doc), dry_run=True)
    (finding,) = refused.value.errors
    assert finding.field == "contract.refreshCycle"
    assert "ISO 8601 duration" in finding.message and "daily" in finding.message


def test_reference_mapping_to_unknown_enterprise_code_is_refused(demo_runtime: Runtime) -> None:
    doc = example_product("customer-profile")
    mapping = doc["referenceMappings"][0]
    local = sorted(mapping["values"])[0]
    mapping["values"][local] = "XX"
    with pytest.raises(InvalidRegistration) as refused:
        demo_runtime.registry.register_product(validate_model_product(doc), dry_run=True)
    (finding,) = refused.value.errors
    assert finding.field == f"referenceMappings[0].values.{local}"
    assert "principle 10" in finding.message


def test_inactive_owner_is_a_warning_not_a_refusal(demo_runtime: Runtime) -> None:
    catalog = read_yaml(EXAMPLES / "catalog.yaml")
    owner = next(o for o in catalog["owners"] if o["id"] == "team-customer-data")
    demo_runtime.registry.register_catalog(
        validate_model(CatalogDescriptor, {"owners": [{**owner, "active": False}]}))
    outcome = demo_runtime.registry.register_product(
        validate_model_product(example_product("customer-profile")), dry_run=True)
    assert outcome.accepted
    (warning,) = [w for w in outcome.report.warnings if w.field == "owner"]
    assert warning.rule == "dpgs:ActiveOwnerShape"
    assert "team-customer-data is marked inactive" in warning.message


def validate_model_product(doc: dict):
    from dpgraph.descriptor import ProductDescriptor

    return validate_model(ProductDescriptor, doc)


# ---------------------------------------------------------------- catalog shapes
def test_demo_catalog_passes(runtime: Runtime) -> None:
    catalog = validate_model(CatalogDescriptor, read_yaml(EXAMPLES / "catalog.yaml"))
    assert runtime.registry.register_catalog(catalog, dry_run=True).accepted


@pytest.mark.parametrize(("section", "change", "field", "phrase"), [
    ("domains", {"name": None}, "domains[0].name", "Add `name` to the domain"),
    ("owners", {"domain": "no-such-domain"}, "owners[0].domain", "not a registered domain"),
    ("applications", {"domain": None}, "applications[0].domain", "Add `domain`"),
    ("glossary", {"definition": None}, "glossary[0].definition", "Add `definition`"),
])
def test_catalog_shape_failures(runtime: Runtime, section: str, change: dict, field: str,
                                phrase: str) -> None:
    doc = read_yaml(EXAMPLES / "catalog.yaml")
    entry = doc[section][0]
    for key, value in change.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    with pytest.raises(InvalidRegistration) as refused:
        runtime.registry.register_catalog(validate_model(CatalogDescriptor, doc))
    violations = [f for f in refused.value.errors if f.severity == "violation"]
    assert [f.field for f in violations] == [field]
    assert phrase in violations[0].message
    assert runtime.log.head() == 0


def test_builtin_classification_cannot_be_redefined(runtime: Runtime) -> None:
    doc = read_yaml(EXAMPLES / "catalog.yaml")
    doc["classifications"].append({"id": "pii", "label": "PII", "rank": 1})
    with pytest.raises(InvalidRegistration) as refused:
        runtime.registry.register_catalog(validate_model(CatalogDescriptor, doc))
    assert [f.rule for f in refused.value.errors] == ["schema:builtin-classification"]


def test_staged_validation_leaves_the_ontology_base_intact(demo_runtime: Runtime) -> None:
    """Each validation stages its triples over the ontology base and rolls them back; a
    registration that repeats a base triple must not remove it from the base."""
    from pyoxigraph import Triple

    from dpgraph import vocab as v

    base_triple = Triple(v.CLASSIFICATIONS["pii"], v.RDF_TYPE, v.CLASSIFICATION)
    d = validate_model_product(example_product("customer-profile"))
    gate = demo_runtime.registry._gate
    from dpgraph.mapping.product import product_to_rdf

    mapped = product_to_rdf(d)
    mapped.triples.append(base_triple)
    for _ in range(2):
        assert demo_runtime.registry.register_product(d, dry_run=True).accepted
        gate.check_product(mapped, [])


# ---------------------------------------------------------------- every remaining constraint
def _set(doc: dict, path: str, value) -> None:
    """Set (or, with value None, delete) a dotted/indexed path like representations[0].format."""
    import re

    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    target = doc
    for part in parts[:-1]:
        target = target[part]
    if value is None:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value


MUTATIONS = [
    # (path to change, new value or None to delete, expected field, severity, phrase)
    ("domain", "no-such-domain", "domain", "violation", "not a registered domain"),
    ("sourceApplication", "no-such-app", "sourceApplication", "violation",
     "not a registered application"),
    ("elements[0].businessTerm", "no-such-term", "elements[0].businessTerm", "violation",
     "not in the business glossary"),
    ("elements[0].classification", "top-secret", "elements[0].classification", "violation",
     "not a known label"),
    ("elements[0].dataType", None, "elements[0].dataType", "warning", "Add `dataType`"),
    ("representations[0].location", "/data/no/scheme", "representations[0].location",
     "violation", "addressable URI"),
    ("representations[0].format", None, "representations[0].format", "violation",
     "Add `format`"),
    ("representations[0].attributes[0].type", None, "representations[0].attributes[0].type",
     "violation", "Add `type`"),
    ("outputPorts[0].kind", None, "outputPorts[0].kind", "violation", "Add `kind`"),
    ("outputPorts[0].visibility", None, "outputPorts[0].visibility", "violation",
     "Add `visibility`"),
    ("outputPorts[0].representation", "no-such-rep", "outputPorts[0].representation",
     "violation", "not the id of one of this product"),
    ("version", None, "version", "warning", "Add `version`"),
    ("contract.version", None, "contract.version", "warning", "Add a contract `version`"),
    ("contract.termsOfUse", None, "contract.termsOfUse", "warning", "Add `termsOfUse`"),
    ("qualityRules", [], "qualityRules", "warning", "Add `qualityRules`"),
    ("qualityRules[0].metric", None, "qualityRules[0].metric", "violation", "Add `metric`"),
    ("qualityRules[0].threshold", None, "qualityRules[0].threshold", "violation",
     "Add `threshold`"),
    ("qualityRules[0].element", "no_such_element", "qualityRules[0].element", "violation",
     "names no data element"),
    ("referenceMappings[0].referenceList", "no-such-list", "referenceMappings[0]", "violation",
     "not a registered enterprise reference list"),
]


@pytest.mark.parametrize(("path", "value", "field", "severity", "phrase"), MUTATIONS,
                         ids=[m[0] + ("=" + str(m[1]) if m[1] is not None else " removed")
                              for m in MUTATIONS])
def test_each_constraint_has_a_failing_example(
        demo_runtime: Runtime, path: str, value, field: str, severity: str,
        phrase: str) -> None:
    doc = example_product("customer-profile")
    _set(doc, path, value)
    d = validate_model_product(doc)
    try:
        findings = demo_runtime.registry.register_product(d, dry_run=True).report.warnings
        refused = False
    except InvalidRegistration as exc:
        findings, refused = exc.errors, True
    assert refused == (severity == "violation")
    matching = [f for f in findings if f.field.startswith(field) and phrase in f.message]
    assert matching and all(f.severity == severity for f in matching), \
        [f.as_dict() for f in findings]
