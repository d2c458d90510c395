"""Translate SHACL results back to the descriptor fields a person edits."""

from __future__ import annotations

from dpgraph import vocab as v
from dpgraph.errors import Finding
from dpgraph.validation.shacl import ShaclResult

SHAPES_NS = "https://w3id.org/dpgraph/shapes#"

_FIELD_OF_PREDICATE: dict[str, str] = {
    v.DCT_TITLE.value: "name",
    v.DCT_DESCRIPTION.value: "description",
    v.DPROD_OWNER.value: "owner",
    v.DPROD_DOMAIN.value: "domain",
    v.GOLDEN_SOURCE.value: "sourceApplication",
    v.DPROD_LIFECYCLE_STATUS.value: "lifecycleStatus",
    v.DCAT_VERSION.value: "version",
    v.HAS_DATA_ELEMENT.value: "elements",
    v.HAS_REPRESENTATION.value: "representations",
    v.DPROD_OUTPUT_PORT.value: "outputPorts",
    v.HAS_CONTRACT.value: "contract",
    v.HAS_QUALITY_RULE.value: "qualityRules",
    v.BUSINESS_TERM_OF.value: "businessTerm",
    v.CLASSIFICATION_OF.value: "classification",
    v.DATA_TYPE.value: "dataType",
    v.LOCATION.value: "location",
    v.FORMAT.value: "format",
    v.STORAGE_LAYER_OF.value: "storageLayer",
    v.HISTORIZATION.value: "historization",
    v.HAS_ATTRIBUTE.value: "attributes",
    v.MAPS_TO_ELEMENT.value: "element",
    v.PORT_KIND_OF.value: "kind",
    v.VISIBILITY.value: "visibility",
    v.EXPOSES.value: "representation",
    v.REFRESH_CYCLE.value: "refreshCycle",
    v.TERMS_OF_USE.value: "termsOfUse",
    v.METRIC.value: "metric",
    v.THRESHOLD.value: "threshold",
    v.ON_ELEMENT.value: "element",
    v.FROM_ELEMENT.value: "element",
    v.TO_ELEMENT.value: "references",
    v.REFERENCE_LIST_OF.value: "referenceList",
    v.FOAF_MBOX.value: "email",
    v.BELONGS_TO_DOMAIN.value: "domain",
    v.SKOS_PREF_LABEL.value: "label",
    v.SKOS_DEFINITION.value: "definition",
    v.SKOS_BROADER.value: "broader",
    v.SKOS_NOTATION.value: "code",
}
# Physical attributes are written with ``type`` in the descriptor.
_ATTRIBUTE_FIELDS = {v.DATA_TYPE.value: "type"}


def field_path(result: ShaclResult, field_paths: dict[str, str]) -> str:
    node_path = field_paths.get(result.focus_node, "")
    if not result.path or result.path == v.ENTERPRISE_VALUE.value:
        return node_path
    overrides = _ATTRIBUTE_FIELDS if node_path.endswith("]") and ".attributes[" in node_path else {}
    name = overrides.get(result.path) or _FIELD_OF_PREDICATE.get(result.path)
    if name is None:
        name = result.path.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    path = f"{node_path}.{name}" if node_path else name
    # A finding about one item of a list (e.g. a duplicated element) points at that item.
    item_path = field_paths.get(result.value or "", "")
    return item_path if item_path.startswith(path + "[") else path


def readable(text: str) -> str:
    """Shorten dpgraph IRIs in a message to their id path (product/sales-orders/element/x)."""
    return text.replace(v.ID_NS, "").replace(v.DPG_NS, "dpg:")


def _curie(iri: str) -> str:
    for prefix, ns in v.PREFIXES.items():
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def rule_of(result: ShaclResult) -> str:
    """Named shapes are their own rule; anonymous property shapes are component + path."""
    if result.source_shape.startswith("_:") or not result.source_shape:
        return f"sh:{result.constraint} {_curie(result.path or '')}".strip()
    return result.source_shape.replace(SHAPES_NS, "dpgs:")


_SHOW_VALUE = {"ClassConstraintComponent", "PatternConstraintComponent",
               "MinLengthConstraintComponent", "InConstraintComponent",
               "DatatypeConstraintComponent"}


def to_finding(result: ShaclResult, field_paths: dict[str, str]) -> Finding:
    message = readable(result.message)
    if result.value and result.constraint in _SHOW_VALUE:
        message += f" (given: {readable(result.value)})"
    return Finding(
        severity="violation" if result.severity == "Violation" else "warning",
        message=message,
        field=field_path(result, field_paths),
        rule=rule_of(result),
        focus_node=result.focus_node,
        value=result.value,
    )
