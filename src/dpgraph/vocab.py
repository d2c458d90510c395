"""RDF terms used by dpgraph, in one place.

Every ``dpg:`` constant here must be declared in ``ontology/dpgraph.ttl`` and every external
constant must exist in the official vocabulary it belongs to; ``tests/test_ontology.py``
checks both, so a typo here fails the suite instead of silently minting a new term.
"""

from __future__ import annotations

from pyoxigraph import NamedNode

DPG_NS = "https://w3id.org/dpgraph/ns#"
ID_NS = "https://w3id.org/dpgraph/id/"

DPROD_NS = "https://ekgf.github.io/dprod/"
DCAT_NS = "http://www.w3.org/ns/dcat#"
DCT_NS = "http://purl.org/dc/terms/"
PROV_NS = "http://www.w3.org/ns/prov#"
SKOS_NS = "http://www.w3.org/2004/02/skos/core#"
DQV_NS = "http://www.w3.org/ns/dqv#"
ODRL_NS = "http://www.w3.org/ns/odrl/2/"
ORG_NS = "http://www.w3.org/ns/org#"
FOAF_NS = "http://xmlns.com/foaf/0.1/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"

PREFIXES: dict[str, str] = {
    "dpg": DPG_NS,
    "dprod": DPROD_NS,
    "dcat": DCAT_NS,
    "dct": DCT_NS,
    "prov": PROV_NS,
    "skos": SKOS_NS,
    "dqv": DQV_NS,
    "odrl": ODRL_NS,
    "org": ORG_NS,
    "foaf": FOAF_NS,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    "xsd": XSD_NS,
}


def sparql_prefixes() -> str:
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())


def _dpg(name: str) -> NamedNode:
    return NamedNode(DPG_NS + name)


RDF_TYPE = NamedNode(RDF_NS + "type")
XSD_STRING = NamedNode(XSD_NS + "string")
XSD_BOOLEAN = NamedNode(XSD_NS + "boolean")
XSD_DECIMAL = NamedNode(XSD_NS + "decimal")
XSD_INTEGER = NamedNode(XSD_NS + "integer")
XSD_DATE = NamedNode(XSD_NS + "date")
XSD_DATETIME = NamedNode(XSD_NS + "dateTime")
XSD_DURATION = NamedNode(XSD_NS + "duration")
XSD_ANYURI = NamedNode(XSD_NS + "anyURI")

# --- external terms used directly in data (exact matches, no private synonym) ---
DPROD_DATA_PRODUCT = NamedNode(DPROD_NS + "DataProduct")
DPROD_OWNER = NamedNode(DPROD_NS + "dataProductOwner")
DPROD_DOMAIN = NamedNode(DPROD_NS + "domain")
DPROD_LIFECYCLE_STATUS = NamedNode(DPROD_NS + "lifecycleStatus")
DPROD_OUTPUT_PORT = NamedNode(DPROD_NS + "outputPort")
DCAT_VERSION = NamedNode(DCAT_NS + "version")
DCT_IDENTIFIER = NamedNode(DCT_NS + "identifier")
DCT_TITLE = NamedNode(DCT_NS + "title")
DCT_DESCRIPTION = NamedNode(DCT_NS + "description")
SKOS_CONCEPT = NamedNode(SKOS_NS + "Concept")
SKOS_CONCEPT_SCHEME = NamedNode(SKOS_NS + "ConceptScheme")
SKOS_PREF_LABEL = NamedNode(SKOS_NS + "prefLabel")
SKOS_DEFINITION = NamedNode(SKOS_NS + "definition")
SKOS_IN_SCHEME = NamedNode(SKOS_NS + "inScheme")
SKOS_NOTATION = NamedNode(SKOS_NS + "notation")
SKOS_BROADER = NamedNode(SKOS_NS + "broader")
FOAF_MBOX = NamedNode(FOAF_NS + "mbox")

# --- metamodel classes ---
DATA_PRODUCT = _dpg("DataProduct")
DOMAIN = _dpg("Domain")
OWNER = _dpg("Owner")
TEAM = _dpg("Team")
PERSON = _dpg("Person")
SOURCE_APPLICATION = _dpg("SourceApplication")
LIFECYCLE_STATUS = _dpg("LifecycleStatus")
DATA_ELEMENT = _dpg("DataElement")
BUSINESS_TERM = _dpg("BusinessTerm")
BUSINESS_GLOSSARY = _dpg("BusinessGlossary")
PHYSICAL_REPRESENTATION = _dpg("PhysicalRepresentation")
PHYSICAL_ATTRIBUTE = _dpg("PhysicalAttribute")
STORAGE_LAYER = _dpg("StorageLayer")
HISTORIZATION_STYLE = _dpg("HistorizationStyle")
OUTPUT_PORT = _dpg("OutputPort")
PORT_KIND = _dpg("PortKind")
PORT_VISIBILITY = _dpg("PortVisibility")
CLASSIFICATION = _dpg("Classification")
DATA_CONTRACT = _dpg("DataContract")
QUALITY_RULE = _dpg("QualityRule")
QUALITY_METRIC = _dpg("QualityMetric")
JOIN_KEY = _dpg("JoinKey")
JOIN_KIND = _dpg("JoinKind")
IDENTIFIER_ROLE = _dpg("IdentifierRole")
REFERENCE_LIST = _dpg("ReferenceList")
REFERENCE_VALUE = _dpg("ReferenceValue")
REFERENCE_MAPPING = _dpg("ReferenceMapping")
LINEAGE_JOB_REF = _dpg("LineageJobReference")

# --- metamodel properties ---
GOLDEN_SOURCE = _dpg("goldenSource")
HAS_DATA_ELEMENT = _dpg("hasDataElement")
BUSINESS_TERM_OF = _dpg("businessTerm")
CLASSIFICATION_OF = _dpg("classification")
DATA_TYPE = _dpg("dataType")
PRODUCT_IDENTIFIER = _dpg("productIdentifier")
HAS_REPRESENTATION = _dpg("hasRepresentation")
REPRESENTATION_KIND = _dpg("representationKind")
LOCATION = _dpg("location")
FORMAT = _dpg("format")
STORAGE_LAYER_OF = _dpg("storageLayer")
HISTORIZATION = _dpg("historization")
HAS_ATTRIBUTE = _dpg("hasAttribute")
COLUMN_NAME = _dpg("columnName")
MAPS_TO_ELEMENT = _dpg("mapsToElement")
PORT_KIND_OF = _dpg("portKind")
VISIBILITY = _dpg("visibility")
EXPOSES = _dpg("exposes")
ENDPOINT = _dpg("endpoint")
HAS_CONTRACT = _dpg("hasContract")
REFRESH_CYCLE = _dpg("refreshCycle")
SERVICE_LEVEL = _dpg("serviceLevelObjective")
TERMS_OF_USE = _dpg("termsOfUse")
VALID_UNTIL = _dpg("validUntil")
HAS_QUALITY_RULE = _dpg("hasQualityRule")
METRIC = _dpg("metric")
THRESHOLD = _dpg("threshold")
COMPARATOR = _dpg("comparator")
ON_ELEMENT = _dpg("onElement")
HAS_JOIN_KEY = _dpg("hasJoinKey")
FROM_ELEMENT = _dpg("fromElement")
TO_ELEMENT = _dpg("toElement")
JOIN_KIND_OF = _dpg("joinKind")
IDENTIFIER_ROLE_OF = _dpg("identifierRole")
HAS_REFERENCE_MAPPING = _dpg("hasReferenceMapping")
REFERENCE_LIST_OF = _dpg("referenceList")
LOCAL_VALUE = _dpg("localValue")
ENTERPRISE_VALUE = _dpg("enterpriseValue")
BELONGS_TO_DOMAIN = _dpg("belongsToDomain")
ACTIVE = _dpg("active")
SENSITIVITY_RANK = _dpg("sensitivityRank")
PRODUCED_BY_NAMESPACE = _dpg("producedByNamespace")
LANDS_IN_NAMESPACE = _dpg("landsInNamespace")
PRODUCED_BY_JOB = _dpg("producedByJob")
JOB_NAMESPACE = _dpg("jobNamespace")
JOB_NAME = _dpg("jobName")
REFERS_TO_JOB = _dpg("refersToJob")
DEPRECATION_REASON = _dpg("deprecationReason")
DEPRECATED_AT = _dpg("deprecatedAt")
SUCCESSOR = _dpg("successor")
REGISTERED_AT = _dpg("registeredAt")
LOG_OFFSET = _dpg("logOffset")
CONFIRMED_AT = _dpg("confirmedAt")
CONFIRMED_BY = _dpg("confirmedBy")
INFERRED_CONFIDENCE = _dpg("inferredConfidence")
INFERRED_FROM = _dpg("inferredFrom")

# --- controlled values (SKOS concepts declared in the ontology) ---
LIFECYCLE = {s: _dpg(n) for s, n in {
    "draft": "Draft", "active": "Active", "deprecated": "Deprecated", "retired": "Retired"}.items()}
STORAGE_LAYERS = {s: _dpg(n) for s, n in {
    "bronze": "Bronze", "silver": "Silver", "gold": "Gold"}.items()}
HISTORIZATIONS = {s: _dpg(n) for s, n in {
    "snapshot": "FullSnapshot", "scd2": "SlowlyChangingDimensionType2",
    "append-only": "AppendOnly", "cdc": "ChangeDataCapture"}.items()}
PORT_KINDS = {s: _dpg(n) for s, n in {
    "file": "BatchFilePort", "sql": "SqlPort", "api": "ApiPort",
    "stream": "EventStreamPort"}.items()}
VISIBILITIES = {s: _dpg(n) for s, n in {
    "public": "PublicVisibility", "private-raw": "PrivateRawVisibility"}.items()}
CLASSIFICATIONS = {s: _dpg(n) for s, n in {
    "public": "PublicData", "internal": "InternalData",
    "confidential": "ConfidentialData", "pii": "PersonalData"}.items()}
JOIN_KINDS = {s: _dpg(n) for s, n in {
    "foreign-key": "ForeignKey", "master-identifier": "SharedMasterIdentifier"}.items()}
IDENTIFIER_ROLES = {s: _dpg(n) for s, n in {
    "identifier": "Identifier", "master-identifier": "MasterIdentifier"}.items()}
QUALITY_METRICS = {s: _dpg(n) for s, n in {
    "completeness": "Completeness", "uniqueness": "Uniqueness", "validity": "Validity",
    "freshness": "Freshness", "row-count": "RowCount",
    "referential-integrity": "ReferentialIntegrity", "accuracy": "Accuracy"}.items()}
SCHEMES = {
    "lifecycle": _dpg("LifecycleStatusScheme"),
    "storage-layer": _dpg("StorageLayerScheme"),
    "historization": _dpg("HistorizationStyleScheme"),
    "port-kind": _dpg("PortKindScheme"),
    "visibility": _dpg("PortVisibilityScheme"),
    "classification": _dpg("ClassificationScheme"),
    "join-kind": _dpg("JoinKindScheme"),
    "identifier-role": _dpg("IdentifierRoleScheme"),
    "quality-metric": _dpg("QualityMetricScheme"),
    "run-state": _dpg("RunStateScheme"),
}

# --- lineage vocabulary (OpenLineage projection, modelled on PROV-O) ---
JOB = _dpg("Job")
RUN = _dpg("Run")
LINEAGE_DATASET = _dpg("LineageDataset")
DATASET_VERSION = _dpg("DatasetVersion")
FIELD = _dpg("Field")
COLUMN_DERIVATION = _dpg("ColumnDerivation")
LINEAGE_NAMESPACE = _dpg("LineageNamespace")
RUN_STATE = _dpg("RunState")
OF_JOB = _dpg("ofJob")
PARENT_RUN = _dpg("parentRun")
PARENT_JOB = _dpg("parentJob")
RUN_STATE_OF = _dpg("runState")
STARTED_AT = _dpg("startedAt")
ENDED_AT = _dpg("endedAt")
EVENT_TIME = _dpg("eventTime")
READS = _dpg("reads")
WRITES = _dpg("writes")
IN_NAMESPACE = _dpg("inNamespace")
DATASET_NAME = _dpg("datasetName")
NAME_ORDER = _dpg("nameOrder")
HAS_FIELD = _dpg("hasField")
FIELD_NAME = _dpg("fieldName")
FIELD_TYPE = _dpg("fieldType")
SUBFIELD_OF = _dpg("subfieldOf")
DERIVED_FROM_FIELD = _dpg("derivedFromField")
HAS_DERIVATION = _dpg("hasDerivation")
DERIVATION_SOURCE = _dpg("derivationSource")
TRANSFORMATION_TYPE = _dpg("transformationType")
TRANSFORMATION_SUBTYPE = _dpg("transformationSubtype")
MASKING = _dpg("masking")
ALIAS_OF = _dpg("aliasOf")
REPRESENTED_BY = _dpg("representedBy")
LATEST_SCHEMA_AT = _dpg("latestSchemaAt")
SCHEMA_SIGNATURE = _dpg("schemaSignature")
COLUMNS_SIGNATURE = _dpg("columnsSignature")
FIELD_OF_ATTRIBUTE = _dpg("realisesAttribute")
FACET = _dpg("facet")
RUN_STATES = {s: _dpg(n) for s, n in {
    "START": "RunStarted", "RUNNING": "RunRunning", "COMPLETE": "RunCompleted",
    "FAIL": "RunFailed", "ABORT": "RunAborted", "OTHER": "RunOther"}.items()}

# --- lineage event projection (src/dpgraph/lineage/mapping.py) ---
RDF_JSON = NamedNode(RDF_NS + "JSON")
DCT_MODIFIED = NamedNode(DCT_NS + "modified")
DCT_CREATED = NamedNode(DCT_NS + "created")
DQV_QUALITY_MEASUREMENT = NamedNode(DQV_NS + "QualityMeasurement")
DQV_COMPUTED_ON = NamedNode(DQV_NS + "computedOn")
DQV_IS_MEASUREMENT_OF = NamedNode(DQV_NS + "isMeasurementOf")
DQV_VALUE = NamedNode(DQV_NS + "value")
LINEAGE_EVENT = _dpg("LineageEvent")
LINEAGE_WARNING = _dpg("LineageWarning")
LINEAGE_FACET = _dpg("LineageFacet")
LINEAGE_OWNERSHIP = _dpg("LineageOwnership")
EVENT_TYPE = _dpg("eventType")
PRODUCER = _dpg("producer")
SCHEMA_URL = _dpg("schemaURL")
RECEIVED_AT = _dpg("receivedAt")
ADDITIONAL_PROPERTIES = _dpg("additionalProperties")
JOB_VERSION = _dpg("jobVersion")
ABOUT_RUN = _dpg("aboutRun")
ABOUT_JOB = _dpg("aboutJob")
ABOUT_DATASET = _dpg("aboutDataset")
HAS_WARNING = _dpg("hasWarning")
WARNING_RULE = _dpg("warningRule")
WARNING_FIELD = _dpg("warningField")
WARNING_VALUE = _dpg("warningValue")
HAS_FACET = _dpg("hasFacet")
FACET_NAME = _dpg("facetName")
ROOT_RUN = _dpg("rootRun")
LAST_SUCCESS_ENDED_AT = _dpg("lastSuccessEndedAt")
LAST_SUCCESSFUL_RUN = _dpg("lastSuccessfulRun")
ROOT_JOB = _dpg("rootJob")
HAS_INPUT = _dpg("hasInput")
HAS_OUTPUT = _dpg("hasOutput")
READS_VERSION = _dpg("readsVersion")
WRITES_VERSION = _dpg("writesVersion")
VERSION_OF = _dpg("versionOf")
HAS_SCHEMA_FIELD = _dpg("hasSchemaField")
DATASET_VERSION_OF = _dpg("datasetVersion")
NORMALIZED_LOCATION = _dpg("normalizedLocation")
ORDINAL_POSITION = _dpg("ordinalPosition")
FIELD_INDEX = _dpg("fieldIndex")
FIELD_TRANSFORMATION_TYPE = _dpg("fieldTransformationType")
FIELD_TRANSFORMATION_DESCRIPTION = _dpg("fieldTransformationDescription")
HAS_DATASET_DERIVATION = _dpg("hasDatasetDerivation")
SYMLINK_TYPE = _dpg("symlinkType")
DATA_SOURCE_NAME = _dpg("dataSourceName")
DATA_SOURCE_URI = _dpg("dataSourceUri")
DESCRIPTION_MEDIA_TYPE = _dpg("descriptionMediaType")
HAS_OWNERSHIP = _dpg("hasOwnership")
OWNER_NAME = _dpg("ownerName")
OWNERSHIP_TYPE = _dpg("ownershipType")
SQL_QUERY = _dpg("sqlQuery")
SQL_DIALECT = _dpg("sqlDialect")
PROCESSING_TYPE = _dpg("processingType")
INTEGRATION = _dpg("integration")
JOB_TYPE = _dpg("jobType")
PROCESSING_ENGINE_NAME = _dpg("processingEngineName")
PROCESSING_ENGINE_VERSION = _dpg("processingEngineVersion")
OPENLINEAGE_ADAPTER_VERSION = _dpg("openlineageAdapterVersion")
ERROR_MESSAGE = _dpg("errorMessage")
PROGRAMMING_LANGUAGE = _dpg("programmingLanguage")
STACK_TRACE = _dpg("stackTrace")
ROW_COUNT = _dpg("rowCount")
BYTE_SIZE = _dpg("byteSize")
FILE_COUNT = _dpg("fileCount")
LIFECYCLE_STATE_CHANGE = _dpg("lifecycleStateChange")
PREVIOUS_IDENTITY = _dpg("previousIdentity")
TABLE_FORMAT = _dpg("tableFormat")
FILE_FORMAT = _dpg("fileFormat")
ASSERTION_TYPE = _dpg("assertionType")
ASSERTION_SEVERITY = _dpg("assertionSeverity")
QUANTILE_LEVEL = _dpg("quantileLevel")
LINEAGE_METRICS = {s: _dpg(n) for s, n in {
    "row-count": "RowCount", "byte-size": "ByteSize", "file-count": "FileCount",
    "null-count": "NullCount", "distinct-count": "DistinctCount", "sum": "ValueSum",
    "count": "ValueCount", "min": "MinimumValue", "max": "MaximumValue",
    "quantile": "Quantile", "assertion": "AssertionResult"}.items()}
LINEAGE_METRIC = _dpg("LineageMetric")
LINEAGE_METRIC_SCHEME = _dpg("LineageMetricScheme")
