"""The property-graph schema of docs/property-graph.md as data: labels with their typed
properties, relationship types with their end-point pairs. Embedded engines need it as DDL;
the Bolt backend may use it for indexes."""

from __future__ import annotations

S, N, F, B = "STRING", "INT64", "DOUBLE", "BOOLEAN"

# Bookkeeping properties besides the documented ones: ``owner`` (DeleteOwned), and the
# rank/tiebreak pairs of Ranked merges (``stateRank``/``stateAt`` on runs, ``factsRank``/
# ``factsAt`` where the latest event decides), and the schema signatures of
# dpgraph.cypher.schema_signature (``columnsSig``/``columnsSigLow``, ``schemaHi``/``schemaLo``).
NODES: dict[str, dict[str, str]] = {
    "Product": {"name": S, "description": S, "lifecycle": S, "version": S, "registeredAt": S,
                "contractValidUntil": S, "deprecatedAt": S, "owner": S},
    "Domain": {"name": S},
    "Owner": {"name": S, "kind": S, "email": S, "active": B},
    "Application": {"name": S},
    "BusinessTerm": {"label": S, "identifierRole": S},
    "Classification": {"label": S, "rank": N},
    "DataElement": {"product": S, "name": S, "dataType": S, "classification": S, "owner": S},
    "Representation": {"product": S, "kind": S, "location": S, "normalizedLocation": S,
                       "format": S, "layer": S, "historization": S, "owner": S,
                       "columnsSig": S, "columnsSigLow": S},
    "Column": {"product": S, "name": S, "type": S, "owner": S},
    "OutputPort": {"product": S, "kind": S, "visibility": S, "owner": S},
    "QualityRule": {"product": S, "metric": S, "comparator": S, "threshold": F, "owner": S},
    "JoinKey": {"product": S, "kind": S, "target": S, "targetProduct": S, "owner": S},
    "Namespace": {},
    "Job": {"namespace": S, "name": S, "jobType": S, "integration": S, "processingType": S,
            "factsRank": N, "factsAt": S},
    "Run": {"state": S, "startedAt": S, "endedAt": S, "lastEventTime": S, "job": S,
            "stateRank": N, "stateAt": S},
    "Dataset": {"namespace": S, "name": S, "normalizedLocation": S, "schemaHi": S,
                "schemaLo": S},
    "Field": {"dataset": S, "name": S, "type": S, "factsRank": N, "factsAt": S},
}

OWNED_LABELS = tuple(label for label, props in NODES.items() if "owner" in props)

RELS: dict[str, tuple[list[tuple[str, str]], dict[str, str]]] = {
    "IN_DOMAIN": ([("Product", "Domain"), ("Owner", "Domain"), ("Application", "Domain")], {}),
    "OWNED_BY": ([("Product", "Owner")], {}),
    "GOLDEN_SOURCE": ([("Product", "Application")], {}),
    "HAS_ELEMENT": ([("Product", "DataElement")], {}),
    "MEANS": ([("DataElement", "BusinessTerm")], {}),
    "CLASSIFIED_AS": ([("DataElement", "Classification")], {}),
    "HAS_REPRESENTATION": ([("Product", "Representation")], {}),
    "HAS_COLUMN": ([("Representation", "Column")], {}),
    "HOLDS": ([("Column", "DataElement")], {}),
    "HAS_PORT": ([("Product", "OutputPort")], {}),
    "SERVES": ([("OutputPort", "Representation")], {}),
    "HAS_QUALITY_RULE": ([("Product", "QualityRule")], {}),
    "ON_ELEMENT": ([("QualityRule", "DataElement")], {}),
    "HAS_JOIN_KEY": ([("Product", "JoinKey")], {}),
    "FROM_ELEMENT": ([("JoinKey", "DataElement")], {}),
    "TO_ELEMENT": ([("JoinKey", "DataElement")], {}),
    "PRODUCED_BY": ([("Product", "Job")], {}),
    "PRODUCED_IN": ([("Product", "Namespace")], {}),
    "LANDS_IN": ([("Application", "Namespace")], {}),
    "IN_NAMESPACE": ([("Job", "Namespace"), ("Dataset", "Namespace")], {}),
    "READS": ([("Job", "Dataset")], {"firstSeen": S, "lastSeen": S}),
    "WRITES": ([("Job", "Dataset")], {"firstSeen": S, "lastSeen": S}),
    "OF_JOB": ([("Run", "Job")], {}),
    "PARENT": ([("Run", "Run"), ("Job", "Job")], {}),
    "READ": ([("Run", "Dataset")], {}),
    "WROTE": ([("Run", "Dataset")], {}),
    "HAS_FIELD": ([("Dataset", "Field")], {}),
    "DERIVED_FROM": ([("Field", "Field")], {"transformationType": S,
                                            "transformationSubtype": S, "masking": B}),
    "ALIAS_OF": ([("Dataset", "Dataset")], {}),
    "REPRESENTS": ([("Dataset", "Representation")], {}),
    "REALISES": ([("Field", "Column")], {}),
    "FLOWS_TO": ([("DataElement", "Field")], {"dataset": S, "field": S}),
}
