"""The people-facing registration formats: ``dataproduct.yaml`` and ``catalog.yaml``.

These models check only the *form* of a descriptor (types, known keys, slugs, controlled
values). Whether a product is *complete and principled* is the SHACL gate's job
(``shapes/``), so nearly every field is optional here: a missing owner must reach the
shapes and come back as a readable finding, not as a parser error.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.$-]{0,127}$"

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, description="URL-safe id: a-z, 0-9, '-'")]
ElementName = Annotated[str, Field(pattern=NAME_PATTERN)]

LifecycleStatus = Literal["draft", "active", "deprecated", "retired"]
StorageLayer = Literal["bronze", "silver", "gold"]
Historization = Literal["snapshot", "scd2", "append-only", "cdc"]
PortKind = Literal["file", "sql", "api", "stream"]
Visibility = Literal["public", "private-raw"]
RepresentationKind = Literal["file", "table", "topic", "api", "view"]
Format = Literal[
    "parquet", "delta", "iceberg", "csv", "json", "avro", "orc", "sql-table", "kafka-topic",
    "rest-json",
]
JoinKind = Literal["foreign-key", "master-identifier"]
Metric = Literal[
    "completeness", "uniqueness", "validity", "freshness", "row-count",
    "referential-integrity", "accuracy",
]
Comparator = Literal[">=", "<=", "==", ">", "<"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DataElement(_Strict):
    name: ElementName
    title: str | None = None
    description: str | None = None
    businessTerm: Slug | None = Field(None, description="id of a glossary term")
    classification: Slug | None = Field(
        None, description="public, internal, confidential, pii, or a registered label")
    dataType: str | None = None


class PhysicalAttribute(_Strict):
    name: str = Field(min_length=1, max_length=256, description="column name as stored")
    type: str | None = None
    element: ElementName | None = Field(None, description="name of the data element it holds")


class Representation(_Strict):
    id: Slug
    kind: RepresentationKind | None = None
    location: str | None = Field(None, description="addressable URI, e.g. s3://bucket/path")
    format: Format | None = None
    storageLayer: StorageLayer | None = None
    historization: Historization | None = None
    attributes: list[PhysicalAttribute] = []


class OutputPort(_Strict):
    id: Slug
    kind: PortKind | None = None
    visibility: Visibility | None = None
    representation: Slug | None = Field(None, description="id of the representation it serves")
    endpoint: str | None = None
    description: str | None = None


class Contract(_Strict):
    version: str | None = None
    refreshCycle: str | None = Field(None, description="ISO 8601 duration, e.g. P1D")
    serviceLevel: str | None = None
    termsOfUse: str | None = None
    validUntil: dt.date | None = None


class QualityRule(_Strict):
    id: Slug
    element: ElementName | None = None
    metric: Metric | None = None
    comparator: Comparator = ">="
    threshold: float | None = None
    description: str | None = None


class ElementRef(_Strict):
    product: Slug
    element: ElementName


class JoinKey(_Strict):
    element: ElementName
    references: ElementRef
    kind: JoinKind = "foreign-key"
    description: str | None = None


class ReferenceMapping(_Strict):
    element: ElementName
    referenceList: Slug
    values: dict[str, str] = Field(description="local value -> enterprise code")


class LineageJob(_Strict):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)


class LineageAttribution(_Strict):
    namespaces: list[str] = []
    jobs: list[LineageJob] = []


class ProductDescriptor(_Strict):
    apiVersion: Literal["dpgraph/v1"] = "dpgraph/v1"
    kind: Literal["DataProduct"] = "DataProduct"
    id: Slug
    name: str | None = None
    description: str | None = None
    domain: Slug | None = None
    owner: Slug | None = None
    sourceApplication: Slug | None = Field(None, description="golden-source application id")
    lifecycleStatus: LifecycleStatus = "active"
    version: str | None = None
    elements: list[DataElement] = []
    representations: list[Representation] = []
    outputPorts: list[OutputPort] = []
    contract: Contract | None = None
    qualityRules: list[QualityRule] = []
    joinKeys: list[JoinKey] = []
    referenceMappings: list[ReferenceMapping] = []
    lineage: LineageAttribution = LineageAttribution()


# --- reference entities (catalog.yaml) ---

class Domain(_Strict):
    id: Slug
    name: str | None = None
    description: str | None = None


class Owner(_Strict):
    id: Slug
    name: str | None = None
    kind: Literal["team", "person"] = "team"
    email: str | None = None
    domain: Slug | None = None
    active: bool = True


class ApplicationLineage(_Strict):
    """Which lineage datasets come from the application (for golden-source findings)."""

    namespaces: list[str] = Field([], description="OpenLineage dataset namespaces it serves")
    datasets: list[str] = Field([], description="dataset locations (URIs) it serves")


class Application(_Strict):
    id: Slug
    name: str | None = None
    description: str | None = None
    domain: Slug | None = None
    lineage: ApplicationLineage | None = None


class GlossaryTerm(_Strict):
    id: Slug
    label: str | None = None
    definition: str | None = None
    identifierRole: Literal["identifier", "master-identifier"] | None = None
    broader: Slug | None = None


class ClassificationLabel(_Strict):
    id: Slug
    label: str | None = None
    definition: str | None = None
    rank: int = Field(ge=0, le=100, description="higher is more sensitive")


class ReferenceValue(_Strict):
    code: str = Field(min_length=1)
    label: str | None = None


class ReferenceListModel(_Strict):
    id: Slug
    name: str | None = None
    values: list[ReferenceValue] = []


class CatalogDescriptor(_Strict):
    apiVersion: Literal["dpgraph/v1"] = "dpgraph/v1"
    kind: Literal["Catalog"] = "Catalog"
    domains: list[Domain] = []
    owners: list[Owner] = []
    applications: list[Application] = []
    glossary: list[GlossaryTerm] = []
    classifications: list[ClassificationLabel] = []
    referenceLists: list[ReferenceListModel] = []
