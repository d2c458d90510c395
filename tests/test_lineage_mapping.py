"""The pure mapping of one OpenLineage event to quads, and dataset location normalisation.

Facet tests wrap the spec's own per-facet examples (``shared/corpus/openlineage/facet_examples``)
into a minimal RunEvent at the place the spec defines for them and check the triples they give.
The corpus tests map every complete real event of ``shared/corpus/openlineage/valid``. The
shared directory is found through ``DPGRAPH_SHARED_DIR`` and defaults to ``shared/`` beside the
repository, as in tests/test_ontology.py.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph
import pytest
import yaml
from pyoxigraph import Literal, NamedNode, Quad

from dpgraph import vocab as v
from dpgraph.lineage import iris
from dpgraph.lineage.mapping import (
    PROJECTED_FACETS,
    canonical_json,
    event_to_quads,
    job_version,
    utc_datetime,
)
from dpgraph.lineage.naming import normalize_location, normalize_uri

REPO = Path(__file__).resolve().parents[1]
EVENT_ID = "0" * 63 + "1"
RECEIVED = "2026-01-02T03:04:05.123456Z"
RUN_ID = "0195f3a4-7c3e-7d2a-9b1c-2f5e6a7b8c9d"
JOB = ("jobs", "etl.load")
IN = ("postgres://db.example:5432", "shop.public.orders")
OUT = ("s3://lake", "gold/orders")


def shared_dir() -> Path:
    default = REPO.parent / "shared"
    return Path(os.environ.get("DPGRAPH_SHARED_DIR", default))


CORPUS = shared_dir() / "corpus" / "openlineage"


def spec_facet(example: str) -> tuple[str, dict[str, Any]]:
    """The (name, facet) of a spec facet example file such as ``SchemaDatasetFacet__1``."""
    path = CORPUS / "facet_examples" / "spec" / f"{example}.json"
    assert path.is_file(), f"{path} is missing; set DPGRAPH_SHARED_DIR to the shared/ directory"
    (name, facet), = json.loads(path.read_text(encoding="utf-8")).items()
    return name, facet


def valid_events() -> list[tuple[str, dict[str, Any]]]:
    files = sorted((CORPUS / "valid").rglob("*.json"))
    assert len(files) >= 100, f"expected the valid corpus under {CORPUS}"
    return [(str(f.relative_to(CORPUS)), json.loads(f.read_text(encoding="utf-8")))
            for f in files]


# --- building events ------------------------------------------------------------------------


def dataset(ns_name: tuple[str, str], facets: dict[str, Any] | None = None,
            **extra: dict[str, Any]) -> dict[str, Any]:
    return {"namespace": ns_name[0], "name": ns_name[1], "facets": facets or {}, **extra}


def run_event(*, run_facets: dict[str, Any] | None = None,
              job_facets: dict[str, Any] | None = None,
              inputs: list[dict[str, Any]] | None = None,
              outputs: list[dict[str, Any]] | None = None,
              event_type: str = "COMPLETE") -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": "2025-03-04T05:06:07.891Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/client/python",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN_ID, "facets": run_facets or {}},
        "job": {"namespace": JOB[0], "name": JOB[1], "facets": job_facets or {}},
        "inputs": inputs if inputs is not None else [dataset(IN)],
        "outputs": outputs if outputs is not None else [dataset(OUT)],
    }


def with_output_facet(example: str) -> dict[str, Any]:
    name, facet = spec_facet(example)
    return run_event(outputs=[dataset(OUT, {name: facet})])


class Graph:
    """The triples of one mapped event, with small lookups."""

    def __init__(self, quads: list[Quad]) -> None:
        self.quads = quads
        self.triples = {(q.subject, q.predicate, q.object) for q in quads}

    def has(self, s: NamedNode, p: NamedNode, o: NamedNode | Literal) -> bool:
        return (s, p, o) in self.triples

    def objects(self, s: NamedNode, p: NamedNode) -> set[Any]:
        return {o for (s2, p2, o) in self.triples if s2 == s and p2 == p}

    def subjects(self, p: NamedNode, o: NamedNode | Literal) -> set[Any]:
        return {s for (s, p2, o2) in self.triples if p2 == p and o2 == o}

    def value(self, s: NamedNode, p: NamedNode) -> Any:
        found = self.objects(s, p)
        assert len(found) == 1, f"{s} {p}: {found}"
        return next(iter(found))

    def text(self, s: NamedNode, p: NamedNode) -> str:
        return self.value(s, p).value

    def raw_facet(self, subject: NamedNode, name: str, slot: str = "facet") -> Any:
        node = NamedNode(f"{subject.value}/{slot}/{iris.segment(name)}")
        assert self.has(subject, v.HAS_FACET, node), f"{name} not kept raw on {subject}"
        return self.raw_value(node, name)

    def raw_value(self, node: NamedNode, name: str) -> Any:
        assert self.has(node, v.RDF_TYPE, v.LINEAGE_FACET)
        assert self.text(node, v.FACET_NAME) == name
        literal = self.value(node, v.FACET)
        assert literal.datatype == v.RDF_JSON
        return json.loads(literal.value)

    def raw_facets(self, subject: NamedNode, name: str) -> list[Any]:
        """Every value of the facet ``name`` kept raw on ``subject`` (a dataset listed twice
        in one event may carry two)."""
        return [self.raw_value(node, name) for node in self.objects(subject, v.HAS_FACET)
                if self.text(node, v.FACET_NAME) == name]

    def raw_facet_names(self) -> set[str]:
        return {o.value for (_, p, o) in self.triples if p == v.FACET_NAME}


def mapped(event: dict[str, Any], **kwargs: Any) -> Graph:
    return Graph(event_to_quads(event, event_id=EVENT_ID, received_at=RECEIVED, **kwargs))


RUN = iris.run(RUN_ID)
JOB_NODE = iris.job(*JOB)
IN_DS, OUT_DS = iris.dataset(*IN), iris.dataset(*OUT)
IN_V, OUT_V = iris.dataset_version(RUN_ID, *IN), iris.dataset_version(RUN_ID, *OUT)
EVENT = iris.event(EVENT_ID)


def field(ds: tuple[str, str], path: str) -> NamedNode:
    return iris.field(ds[0], ds[1], path)


def lit(value: Any, datatype: NamedNode | None = None) -> Literal:
    return Literal(value, datatype=datatype) if datatype else Literal(value)


# --- the event, the run, the job, the datasets ------------------------------------------------


def test_run_event_core() -> None:
    g = mapped(run_event())
    assert g.has(EVENT, v.RDF_TYPE, v.LINEAGE_EVENT)
    assert g.value(EVENT, v.EVENT_TIME) == lit("2025-03-04T05:06:07.891000Z", v.XSD_DATETIME)
    assert g.value(EVENT, v.RECEIVED_AT) == lit(RECEIVED, v.XSD_DATETIME)
    assert g.value(EVENT, v.EVENT_TYPE) == v.RUN_STATES["COMPLETE"]
    assert g.text(EVENT, v.PRODUCER).endswith("/client/python")
    assert g.value(EVENT, v.SCHEMA_URL).datatype == v.XSD_ANYURI
    assert g.value(EVENT, v.ABOUT_RUN) == RUN
    assert g.value(EVENT, v.ABOUT_JOB) == JOB_NODE
    assert g.has(RUN, v.RDF_TYPE, v.RUN) and g.has(RUN, v.OF_JOB, JOB_NODE)
    assert g.text(RUN, v.DCT_IDENTIFIER) == RUN_ID
    assert g.has(JOB_NODE, v.RDF_TYPE, v.JOB) and g.text(JOB_NODE, v.JOB_NAME) == JOB[1]
    assert g.value(JOB_NODE, v.IN_NAMESPACE) == iris.namespace(JOB[0])
    assert g.text(iris.namespace(JOB[0]), v.DCT_IDENTIFIER) == JOB[0]
    assert g.has(iris.namespace(IN[0]), v.RDF_TYPE, v.LINEAGE_NAMESPACE)
    for ds, (ns, name), ver, edge, vedge, jedge in (
            (IN_DS, IN, IN_V, v.READS, v.READS_VERSION, v.HAS_INPUT),
            (OUT_DS, OUT, OUT_V, v.WRITES, v.WRITES_VERSION, v.HAS_OUTPUT)):
        assert g.has(ds, v.RDF_TYPE, v.LINEAGE_DATASET)
        assert g.text(ds, v.DATASET_NAME) == name
        assert g.value(ds, v.IN_NAMESPACE) == iris.namespace(ns)
        assert g.has(RUN, edge, ds) and g.has(JOB_NODE, jedge, ds)
        assert g.has(RUN, vedge, ver) and g.has(ver, v.VERSION_OF, ds)
        assert g.has(ver, v.RDF_TYPE, v.DATASET_VERSION)
    assert g.text(IN_DS, v.NORMALIZED_LOCATION) == "postgres://db.example:5432/shop.public.orders"
    assert g.text(OUT_DS, v.NORMALIZED_LOCATION) == "s3://lake/gold/orders"
    assert g.text(EVENT, v.JOB_VERSION) == job_version(*JOB, [IN], [OUT], None)


def test_iris_follow_the_documented_layout() -> None:
    base = "https://w3id.org/dpgraph/id/"
    assert iris.namespace("s3://b").value == f"{base}ol/namespace/s3%3A%2F%2Fb"
    assert iris.job("ns", "a/b").value == f"{base}ol/job/ns/a%2Fb"
    assert iris.run("ABCDEF01-0000").value == f"{base}ol/run/abcdef01-0000"
    assert iris.dataset("s3://b", "k/x").value == f"{base}ol/dataset/s3%3A%2F%2Fb/k%2Fx"
    assert (iris.dataset_version("ABC", "n", "d").value
            == f"{base}ol/run/abc/dataset/n/d")
    assert iris.field("n", "d", "a.b c").value == f"{base}ol/dataset/n/d/field/a.b%20c"
    assert iris.event("e1").value == f"{base}ol/event/e1"
    assert iris.event_graph("e1").value == f"{base}graph/lineage-event/e1"


def test_every_quad_is_in_the_event_graph_and_has_no_blank_node() -> None:
    event = run_event()
    quads = event_to_quads(event, event_id=EVENT_ID, received_at=RECEIVED)
    graph = iris.event_graph(EVENT_ID)
    assert quads and all(q.graph_name == graph for q in quads)
    for q in quads:
        assert isinstance(q.subject, NamedNode) and isinstance(q.predicate, NamedNode)
        assert isinstance(q.object, NamedNode | Literal)


def test_event_time_is_utc_and_a_naive_time_is_utc() -> None:
    assert utc_datetime("2020-12-28T19:52:00.001+10:00") == "2020-12-28T09:52:00.001000Z"
    assert utc_datetime("2020-12-28T19:51:01.641499") == "2020-12-28T19:51:01.641499Z"
    assert utc_datetime("2020-12-28T19:51:01.641499123Z") == "2020-12-28T19:51:01.641499Z"
    assert utc_datetime("2021-01-01t00:00:00z") == "2021-01-01T00:00:00.000000Z"
    event = run_event()
    event["eventTime"] = "2020-12-28T19:52:00.001+10:00"
    assert mapped(event).value(EVENT, v.EVENT_TIME) == lit("2020-12-28T09:52:00.001000Z",
                                                            v.XSD_DATETIME)


def test_each_event_type_is_its_run_state_and_a_missing_one_records_none() -> None:
    for state, concept in v.RUN_STATES.items():
        assert mapped(run_event(event_type=state)).value(EVENT, v.EVENT_TYPE) == concept
    event = run_event()
    del event["eventType"]
    assert mapped(event).objects(EVENT, v.EVENT_TYPE) == set()


def test_warnings_are_one_node_each() -> None:
    warnings = [
        {"severity": "warning", "field": "/schemaURL", "message": "schemaURL is missing",
         "rule": "schema:required", "focusNode": None, "value": None},
        {"severity": "warning", "field": "/eventTime", "message": "no offset, taken as UTC",
         "rule": "receiver:naive-event-time", "focusNode": None, "value": "2020-12-28T19:51"},
    ]
    g = mapped(run_event(), warnings=warnings)
    nodes = g.objects(EVENT, v.HAS_WARNING)
    assert len(nodes) == 2
    found = {(g.text(n, v.WARNING_RULE), g.text(n, v.WARNING_FIELD), g.text(n, v.DCT_DESCRIPTION))
             for n in nodes}
    assert found == {(w["rule"], w["field"], w["message"]) for w in warnings}
    second = NamedNode(f"{EVENT.value}/warning/1")
    assert g.has(second, v.RDF_TYPE, v.LINEAGE_WARNING)
    assert g.text(second, v.WARNING_VALUE) == "2020-12-28T19:51"


def test_top_level_keys_outside_the_event_kind_are_kept_as_json() -> None:
    event = run_event()
    event["dataset"] = {"namespace": "123", "name": "1"}
    literal = mapped(event).value(EVENT, v.ADDITIONAL_PROPERTIES)
    assert literal.datatype == v.RDF_JSON
    assert json.loads(literal.value) == {"dataset": {"namespace": "123", "name": "1"}}
    assert mapped(run_event()).objects(EVENT, v.ADDITIONAL_PROPERTIES) == set()


def test_dataset_event() -> None:
    name, facet = spec_facet("SchemaDatasetFacet__1")
    _, version = spec_facet("DatasetVersionDatasetFacet__1")
    event = {"eventTime": "2021-11-03T10:53:52.427343", "producer": "https://p.example/x",
             "schemaURL": "https://openlineage.io/spec/2-0-0/OpenLineage.json#/$defs/DatasetEvent",
             "dataset": dataset(OUT, {name: facet, "version": version})}
    g = mapped(event)
    assert g.value(EVENT, v.ABOUT_DATASET) == OUT_DS
    assert g.objects(EVENT, v.ABOUT_RUN) == set() and g.objects(EVENT, v.EVENT_TYPE) == set()
    assert g.has(OUT_DS, v.HAS_FIELD, field(OUT, "user_id"))
    assert g.text(OUT_DS, v.DATASET_VERSION_OF) == "2"  # no run: on the dataset itself
    # No run: the schema is stated on the dataset itself, in this event's graph.
    assert g.has(OUT_DS, v.HAS_SCHEMA_FIELD, field(OUT, "user_id"))


def test_job_event_links_the_job_to_its_inputs_and_outputs() -> None:
    event = run_event()
    del event["run"], event["eventType"]
    event["outputs"][0]["outputFacets"] = {"outputStatistics": {"rowCount": 3}}
    g = mapped(event)
    assert g.value(EVENT, v.ABOUT_JOB) == JOB_NODE
    assert g.has(JOB_NODE, v.HAS_INPUT, IN_DS) and g.has(JOB_NODE, v.HAS_OUTPUT, OUT_DS)
    assert not any(p in (v.READS, v.WRITES, v.READS_VERSION) for (_, p, _) in g.triples)
    assert g.value(OUT_DS, v.ROW_COUNT) == lit(3)  # no run: per-run facets on the dataset


def test_mapping_refuses_only_what_cannot_be_projected() -> None:
    for broken in ({"eventTime": "2021-01-01T00:00:00Z"},
                   {**run_event(), "run": {"facets": {}}},
                   {**run_event(), "job": {"namespace": "n"}},
                   {k: val for k, val in run_event().items() if k != "eventTime"}):
        with pytest.raises(ValueError):
            event_to_quads(broken, event_id=EVENT_ID, received_at=RECEIVED)


# --- facets, one test each, from the spec's examples -------------------------------------------


def test_schema_facet_fields_types_and_nesting() -> None:
    g = mapped(with_output_facet("SchemaDatasetFacet__1"))
    expected_top = {"user_id": "int64", "counterparty_id": "int64", "currency": "object",
                    "amount": "int64", "phones": "array", "addresses": "struct",
                    "custom_properties": "map"}
    for name, typ in expected_top.items():
        f = field(OUT, name)
        assert g.has(f, v.RDF_TYPE, v.FIELD) and g.has(OUT_DS, v.HAS_FIELD, f)
        assert g.text(f, v.FIELD_NAME) == name and g.text(f, v.FIELD_TYPE) == typ
        assert g.has(OUT_V, v.HAS_SCHEMA_FIELD, f)  # the schema this run saw
        assert g.objects(f, v.SUBFIELD_OF) == set()
    assert g.value(field(OUT, "user_id"), v.ORDINAL_POSITION) == lit(1)
    assert g.text(field(OUT, "phones"), v.DCT_DESCRIPTION) == "List of phone numbers"
    element = field(OUT, "phones._element")
    assert g.value(element, v.SUBFIELD_OF) == field(OUT, "phones")
    assert (g.text(element, v.FIELD_NAME), g.text(element, v.FIELD_TYPE)) == ("_element", "string")
    zip_code = field(OUT, "addresses.zip")
    assert g.value(zip_code, v.SUBFIELD_OF) == field(OUT, "addresses")
    assert g.text(zip_code, v.DCT_DESCRIPTION) == "Zip code"
    union = field(OUT, "custom_properties.value._1")
    assert g.value(union, v.SUBFIELD_OF) == field(OUT, "custom_properties.value")
    assert g.text(union, v.FIELD_TYPE) == "int64"
    assert len(g.objects(OUT_DS, v.HAS_FIELD)) == 7 + 1 + 5 + 2 + 2
    assert g.raw_facet_names() == set()  # fully projected


def test_column_lineage_facet_fine_grained_and_deprecated_form() -> None:
    g = mapped(with_output_facet("ColumnLineageDatasetFacet__1"))
    customers, discounts = ("SnowflakeOpenLineage", "CUSTOMERS"), ("SnowflakeOpenLineage",
                                                                     "DISCOUNTS")
    name_out = field(OUT, "NAME")
    assert g.has(OUT_DS, v.HAS_FIELD, name_out)
    assert g.objects(name_out, v.DERIVED_FROM_FIELD) == {
        field(customers, "NAME"), field(customers, "ID"), field(discounts, "CUSTOMERS_ID")}
    derivations = g.objects(name_out, v.HAS_DERIVATION)
    details = {(g.value(d, v.DERIVATION_SOURCE), g.text(d, v.TRANSFORMATION_TYPE),
                g.text(d, v.TRANSFORMATION_SUBTYPE)) for d in derivations}
    assert details == {(field(customers, "NAME"), "DIRECT", "IDENTITY"),
                       (field(customers, "ID"), "INDIRECT", "JOIN"),
                       (field(discounts, "CUSTOMERS_ID"), "INDIRECT", "JOIN")}
    for d in derivations:
        assert g.has(d, v.RDF_TYPE, v.COLUMN_DERIVATION)
        if g.text(d, v.TRANSFORMATION_TYPE) == "DIRECT":
            assert g.value(d, v.MASKING) == lit(False)
        else:
            assert g.text(d, v.DCT_DESCRIPTION) == "ON (DISCOUNTS.CUSTOMERS_ID=CUSTOMERS.ID)"
    # the deprecated field-level form (ColumnLineage 1.0) stays on the derived field
    assert g.text(name_out, v.FIELD_TRANSFORMATION_TYPE) == "IDENTITY"
    assert g.text(name_out, v.FIELD_TRANSFORMATION_DESCRIPTION) == "SELECT NAME"
    assert g.objects(field(OUT, "ENDS_AT"), v.FIELD_TRANSFORMATION_TYPE) == set()
    # source datasets, named only by the facet, are datasets with their fields
    assert g.has(iris.dataset(*customers), v.RDF_TYPE, v.LINEAGE_DATASET)
    assert g.has(iris.dataset(*customers), v.HAS_FIELD, field(customers, "ID"))
    assert g.text(field(customers, "ID"), v.FIELD_NAME) == "ID"
    for out in ("NAME", "AMOUNT_OFF", "STARTS_AT", "ENDS_AT"):
        assert len(g.objects(field(OUT, out), v.HAS_DERIVATION)) == 3
    assert g.raw_facet_names() == set()


def test_column_lineage_facet_dataset_level_dependencies() -> None:
    g = mapped(with_output_facet("ColumnLineageDatasetFacet__2"))
    people = ("s3://test-bucket", "/iceberg_warehouse/some-database/people")
    age_next = field(OUT, "ageNextYear")
    (d,) = g.objects(age_next, v.HAS_DERIVATION)
    assert g.value(d, v.DERIVATION_SOURCE) == field(people, "age")
    assert (g.text(d, v.TRANSFORMATION_TYPE), g.text(d, v.TRANSFORMATION_SUBTYPE)) == (
        "DIRECT", "TRANSFORMATION")
    assert g.objects(d, v.DCT_DESCRIPTION) == set()  # "" carries nothing
    assert g.value(field(OUT, "firstName"), v.DERIVED_FROM_FIELD) == field(people, "first_name")
    whole = g.objects(OUT_DS, v.HAS_DATASET_DERIVATION)
    assert {(g.value(x, v.DERIVATION_SOURCE), g.text(x, v.TRANSFORMATION_TYPE),
             g.text(x, v.TRANSFORMATION_SUBTYPE)) for x in whole} == {
        (field(people, "last_name"), "INDIRECT", "SORT"),
        (field(people, "first_name"), "INDIRECT", "SORT"),
        (field(people, "age"), "INDIRECT", "FILTER")}
    assert all(g.has(x, v.RDF_TYPE, v.COLUMN_DERIVATION) for x in whole)
    assert g.text(iris.dataset(*people), v.NORMALIZED_LOCATION) == (
        "s3://test-bucket/iceberg_warehouse/some-database/people")


def test_column_lineage_input_field_without_transformations_still_has_a_derivation() -> None:
    facet = {"fields": {"total": {"inputFields": [{"namespace": IN[0], "name": IN[1],
                                                    "field": "amount"}],
                                   "transformationType": "MASKED"}}}
    g = mapped(run_event(outputs=[dataset(OUT, {"columnLineage": facet})]))
    (d,) = g.objects(field(OUT, "total"), v.HAS_DERIVATION)
    assert g.value(d, v.DERIVATION_SOURCE) == field(IN, "amount")
    assert g.objects(d, v.TRANSFORMATION_TYPE) == set()
    assert g.text(field(OUT, "total"), v.FIELD_TRANSFORMATION_TYPE) == "MASKED"


def test_symlinks_facet_makes_aliases() -> None:
    g = mapped(with_output_facet("SymlinksDatasetFacet__1"))
    alias = iris.dataset("/tmp/alter_test", "default.alter_table_test_new")
    assert g.has(alias, v.ALIAS_OF, OUT_DS)
    assert g.has(alias, v.RDF_TYPE, v.LINEAGE_DATASET)
    assert g.text(alias, v.DATASET_NAME) == "default.alter_table_test_new"
    assert g.text(alias, v.SYMLINK_TYPE) == "TABLE"
    assert g.raw_facet_names() == set()


def test_datasource_facet() -> None:
    g = mapped(with_output_facet("DatasourceDatasetFacet__1"))
    assert g.text(OUT_DS, v.DATA_SOURCE_NAME) == "datasource_one"
    assert g.value(OUT_DS, v.DATA_SOURCE_URI) == lit("https://some.location.com/datsource/one",
                                                     v.XSD_ANYURI)


@pytest.mark.parametrize("example, where", [("OwnershipDatasetFacet__1", "dataset"),
                                            ("OwnershipJobFacet__1", "job")])
def test_ownership_facet(example: str, where: str) -> None:
    name, facet = spec_facet(example)
    if where == "job":
        g, node = mapped(run_event(job_facets={name: facet})), JOB_NODE
    else:
        g, node = mapped(run_event(outputs=[dataset(OUT, {name: facet})])), OUT_DS
    (owner,) = g.objects(node, v.HAS_OWNERSHIP)
    assert g.has(owner, v.RDF_TYPE, v.LINEAGE_OWNERSHIP)
    assert g.text(owner, v.OWNER_NAME) == "owner"
    assert g.objects(owner, v.OWNERSHIP_TYPE) == set()
    typed = {"owners": [{"name": "team:data", "type": "MAINTAINER"}]}
    g = mapped(run_event(job_facets={"ownership": typed}))
    (owner,) = g.objects(JOB_NODE, v.HAS_OWNERSHIP)
    assert (g.text(owner, v.OWNER_NAME), g.text(owner, v.OWNERSHIP_TYPE)) == ("team:data",
                                                                              "MAINTAINER")


@pytest.mark.parametrize("example, where, text", [
    ("DocumentationDatasetFacet__1", "dataset", "Some dataset description"),
    ("DocumentationJobFacet__1", "job", "Determines the popular day of week orders are placed.")])
def test_documentation_facet(example: str, where: str, text: str) -> None:
    name, facet = spec_facet(example)
    if where == "job":
        g, node = mapped(run_event(job_facets={name: facet})), JOB_NODE
    else:
        g, node = mapped(run_event(outputs=[dataset(OUT, {name: facet})])), OUT_DS
    assert g.text(node, v.DCT_DESCRIPTION) == text
    assert g.text(node, v.DESCRIPTION_MEDIA_TYPE) == "text/markdown"
    assert g.raw_facet_names() == set()


def test_sql_facet() -> None:
    name, facet = spec_facet("SQLJobFacet__1")
    g = mapped(run_event(job_facets={name: facet}))
    assert g.text(JOB_NODE, v.SQL_QUERY) == facet["query"]
    assert "left join order_payments" in g.text(JOB_NODE, v.SQL_QUERY)
    g = mapped(run_event(job_facets={"sql": {"query": "SELECT 1", "dialect": "snowflake"}}))
    assert g.text(JOB_NODE, v.SQL_DIALECT) == "snowflake"


def test_job_type_facet() -> None:
    name, facet = spec_facet("JobTypeJobFacet__1")
    g = mapped(run_event(job_facets={name: facet}))
    assert (g.text(JOB_NODE, v.PROCESSING_TYPE), g.text(JOB_NODE, v.INTEGRATION),
            g.text(JOB_NODE, v.JOB_TYPE)) == ("BATCH", "SPARK", "QUERY")
    assert g.raw_facet_names() == set()


def test_job_type_facet_with_keys_the_projection_does_not_map_is_also_kept_raw() -> None:
    name, facet = spec_facet("JobTypeJobFacet__2")
    g = mapped(run_event(job_facets={name: facet}))
    assert (g.text(JOB_NODE, v.PROCESSING_TYPE), g.text(JOB_NODE, v.INTEGRATION),
            g.text(JOB_NODE, v.JOB_TYPE)) == ("STREAMING", "KAFKA_STREAMS", "STREAM_PROCESSOR")
    assert g.raw_facet(JOB_NODE, "jobType")["emissionPattern"]["windowDuration"] == 300


def test_processing_engine_facet() -> None:
    name, facet = spec_facet("ProcessingEngineRunFacet__1")
    g = mapped(run_event(run_facets={name: facet}))
    assert g.text(RUN, v.PROCESSING_ENGINE_NAME) == "Airflow"
    assert g.text(RUN, v.PROCESSING_ENGINE_VERSION) == "2.5.0"
    assert g.text(RUN, v.OPENLINEAGE_ADAPTER_VERSION) == "0.29.2"
    assert g.raw_facet_names() == set()


def test_error_message_facet() -> None:
    name, facet = spec_facet("ErrorMessageRunFacet__1")
    g = mapped(run_event(run_facets={name: facet}, event_type="FAIL"))
    assert g.text(RUN, v.ERROR_MESSAGE) == "failed"
    assert g.text(RUN, v.PROGRAMMING_LANGUAGE) == "JAVA"
    assert g.text(RUN, v.STACK_TRACE) == "<stack_trace>"
    assert g.value(EVENT, v.EVENT_TYPE) == v.RUN_STATES["FAIL"]


def test_parent_facet() -> None:
    name, facet = spec_facet("ParentRunFacet__1")
    g = mapped(run_event(run_facets={name: facet}))
    parent_run = iris.run("f99310b4-3c3c-1a1a-2b2b-c1b95c24ff11")
    parent_job = iris.job("dbt", "dbt-job-name")
    assert g.has(RUN, v.PARENT_RUN, parent_run) and g.has(JOB_NODE, v.PARENT_JOB, parent_job)
    assert g.has(parent_run, v.RDF_TYPE, v.RUN) and g.has(parent_run, v.OF_JOB, parent_job)
    assert g.has(parent_job, v.RDF_TYPE, v.JOB) and g.text(parent_job, v.JOB_NAME) == "dbt-job-name"
    assert g.raw_facet_names() == set()


def test_parent_facet_with_root_and_forwarded_facets() -> None:
    name, facet = spec_facet("ParentRunFacet__2")
    g = mapped(run_event(run_facets={name: facet}))
    parent_run, parent_job = iris.run("f99310b4-3c3c-1a1a-2b2b-c1b95c24ff11"), iris.job(
        "airflow", "my_dag.my_task")
    root_run, root_job = iris.run("a0000000-3c3c-1a1a-2b2b-c1b95c24ff11"), iris.job(
        "airflow", "my_dag")
    assert g.has(RUN, v.PARENT_RUN, parent_run) and g.has(JOB_NODE, v.PARENT_JOB, parent_job)
    assert g.has(RUN, v.ROOT_RUN, root_run) and g.has(JOB_NODE, v.ROOT_JOB, root_job)
    assert g.has(root_run, v.OF_JOB, root_job)
    # facets forwarded for the parent and the root are projected on them
    assert g.text(parent_run, v.PROCESSING_ENGINE_NAME) == "Airflow"
    assert g.text(parent_job, v.JOB_TYPE) == "TASK"
    assert g.text(root_job, v.JOB_TYPE) == "DAG"
    assert g.text(root_run, v.PROCESSING_ENGINE_VERSION) == "2.10.0"
    assert g.raw_facet_names() == set()


def test_legacy_parent_run_facet_with_a_non_uuid_run_id() -> None:
    facet = {"job": {"name": "InsertDataDag.new_room_booking", "namespace": "default"},
             "run": {"runId": "manual__2022-04-25T13:26:32.731477+00:00"}}
    g = mapped(run_event(run_facets={"parentRun": facet}))
    parent = iris.run("manual__2022-04-25T13:26:32.731477+00:00")
    assert parent.value.endswith("/run/manual__2022-04-25t13%3A26%3A32.731477%2B00%3A00")
    assert g.has(RUN, v.PARENT_RUN, parent)
    assert g.text(parent, v.DCT_IDENTIFIER) == "manual__2022-04-25T13:26:32.731477+00:00"


@pytest.mark.parametrize("example, slot", [("DataQualityMetricsDatasetFacet__1", "facets"),
                                           ("DataQualityMetricsInputDatasetFacet__1",
                                            "inputFacets")])
def test_data_quality_metrics_facet_as_dqv_measurements(example: str, slot: str) -> None:
    name, facet = spec_facet(example)
    entry = dataset(IN) if slot == "facets" else dataset(IN, inputFacets={})
    entry[slot] = {name: facet}
    g = mapped(run_event(inputs=[entry]))
    measurements = g.subjects(v.RDF_TYPE, v.DQV_QUALITY_MEASUREMENT)
    found = {}
    for m in measurements:
        metric = g.value(m, v.DQV_IS_MEASUREMENT_OF)
        found[(g.value(m, v.DQV_COMPUTED_ON), metric)] = g.value(m, v.DQV_VALUE)
    metrics = v.LINEAGE_METRICS
    assert found == {
        (IN_V, metrics["row-count"]): lit(10),
        (IN_V, metrics["file-count"]): lit(5),
        (field(IN, "amount"), metrics["count"]): lit(10),
        (field(IN, "amount"), metrics["max"]): lit(1500),
        (field(IN, "amount"), metrics["min"]): lit(100),
        (field(IN, "amount"), metrics["sum"]): lit(6600),
        (field(IN, "counterparty_id"), metrics["null-count"]): lit(0),
        (field(IN, "user_id"), metrics["distinct-count"]): lit(3),
        (field(IN, "user_id"), metrics["null-count"]): lit(0),
    }
    assert g.value(IN_V, v.DCT_MODIFIED) == lit("2023-05-30T10:54:22.355067Z", v.XSD_DATETIME)
    assert all(str(m.value).startswith(IN_V.value + "/measurement/") for m in measurements)
    assert g.raw_facet_names() == set()


def test_data_quality_metrics_quantiles() -> None:
    facet = {"columnMetrics": {"amount": {"quantiles": {"0.5": 120.5, "0.99": 1400}}}}
    g = mapped(run_event(inputs=[dataset(IN, inputFacets={"dataQualityMetrics": facet})]))
    levels = {}
    for m in g.subjects(v.DQV_IS_MEASUREMENT_OF, v.LINEAGE_METRICS["quantile"]):
        assert g.value(m, v.DQV_COMPUTED_ON) == field(IN, "amount")
        levels[g.value(m, v.QUANTILE_LEVEL)] = g.value(m, v.DQV_VALUE)
    assert levels == {lit("0.5", v.XSD_DECIMAL): lit(120.5),
                      lit("0.99", v.XSD_DECIMAL): lit(1400)}


def test_data_quality_assertions_facet() -> None:
    name, facet = spec_facet("DataQualityAssertionsDatasetFacet__1")
    g = mapped(run_event(inputs=[dataset(IN, inputFacets={name: facet})]))
    assertions = g.subjects(v.DQV_IS_MEASUREMENT_OF, v.LINEAGE_METRICS["assertion"])
    assert len(assertions) == 10
    seen = set()
    for a in assertions:
        assert g.has(a, v.RDF_TYPE, v.DQV_QUALITY_MEASUREMENT)
        assert g.value(a, v.DQV_VALUE) == lit(True)
        on = g.value(a, v.DQV_COMPUTED_ON)
        assert g.has(IN_DS, v.HAS_FIELD, on)
        seen.add((g.text(a, v.ASSERTION_TYPE), g.text(on, v.FIELD_NAME)))
    assert seen == {(x["assertion"], x["column"]) for x in facet["assertions"]}
    extended = {"assertions": [
        {"assertion": "row_count", "success": False, "severity": "warn", "name": "enough_rows",
         "description": "at least 1000 rows"},
        {"assertion": "row_count", "success": True, "name": "enough_rows"}]}
    g = mapped(run_event(outputs=[dataset(OUT, {"dataQualityAssertions": extended})]))
    found = g.subjects(v.DQV_IS_MEASUREMENT_OF, v.LINEAGE_METRICS["assertion"])
    assert len(found) == 2  # the same test listed twice is kept twice
    assert {g.value(a, v.DQV_COMPUTED_ON) for a in found} == {OUT_V}  # no column: the dataset
    failed = next(a for a in found if g.value(a, v.DQV_VALUE) == lit(False))
    assert g.text(failed, v.DCT_TITLE) == "enough_rows"
    assert g.text(failed, v.ASSERTION_SEVERITY) == "warn"
    assert g.text(failed, v.DCT_DESCRIPTION) == "at least 1000 rows"


def test_output_statistics_facet() -> None:
    name, facet = spec_facet("OutputStatisticsOutputDatasetFacet__1")
    g = mapped(run_event(outputs=[dataset(OUT, outputFacets={name: facet})]))
    assert g.value(OUT_V, v.ROW_COUNT) == lit(2000)
    assert g.value(OUT_V, v.BYTE_SIZE) == lit(2097152)
    assert g.value(OUT_V, v.FILE_COUNT) == lit(5)
    assert g.raw_facet_names() == set()


def test_input_statistics_facet() -> None:
    # The spec has no example file for this facet; the OutputStatistics one has its shape.
    _, facet = spec_facet("OutputStatisticsOutputDatasetFacet__1")
    g = mapped(run_event(inputs=[dataset(IN, inputFacets={"inputStatistics": facet})]))
    assert (g.value(IN_V, v.ROW_COUNT), g.value(IN_V, v.BYTE_SIZE),
            g.value(IN_V, v.FILE_COUNT)) == (lit(2000), lit(2097152), lit(5))


def test_lifecycle_state_change_facet() -> None:
    g = mapped(with_output_facet("LifecycleStateChangeDatasetFacet__1"))
    assert g.text(OUT_V, v.LIFECYCLE_STATE_CHANGE) == "RENAME"
    previous = iris.dataset("file", "/tmp/alter_test/alter_table_test")
    assert g.value(OUT_V, v.PREVIOUS_IDENTITY) == previous
    assert g.has(previous, v.RDF_TYPE, v.LINEAGE_DATASET)
    assert g.text(previous, v.NORMALIZED_LOCATION) == "file:///tmp/alter_test/alter_table_test"


def test_storage_facet() -> None:
    g = mapped(with_output_facet("StorageDatasetFacet__1"))
    assert g.text(OUT_DS, v.TABLE_FORMAT) == "delta"
    assert g.text(OUT_DS, v.FILE_FORMAT) == "parquet"


def test_dataset_version_facet() -> None:
    g = mapped(with_output_facet("DatasetVersionDatasetFacet__1"))
    assert g.text(OUT_V, v.DATASET_VERSION_OF) == "2"
    assert g.objects(OUT_DS, v.DATASET_VERSION_OF) == set()


# --- what is not projected is kept ---------------------------------------------------------------


UNPROJECTED_SPEC_EXAMPLES = {
    "run": ["NominalTimeRunFacet__1", "EnvironmentVariablesRunFacet__1",
            "ExternalQueryRunFacet__1", "ExtractionErrorRunFacet__1", "TagsRunFacet__1"],
    "job": ["SourceCodeJobFacet__1", "SourceCodeLocationJobFacet__1", "TagsJobFacet__1"],
    "dataset": ["DatasetTypeDatasetFacet__1", "HierarchyDatasetFacet__1", "TagsDatasetFacet__1"],
}


@pytest.mark.parametrize("where, example", [(w, e) for w, es in UNPROJECTED_SPEC_EXAMPLES.items()
                                             for e in es])
def test_other_facets_are_kept_as_json_that_round_trips(where: str, example: str) -> None:
    name, facet = spec_facet(example)
    assert name not in PROJECTED_FACETS[where]
    if where == "run":
        g, node = mapped(run_event(run_facets={name: facet})), RUN
    elif where == "job":
        g, node = mapped(run_event(job_facets={name: facet})), JOB_NODE
    else:
        g, node = mapped(run_event(outputs=[dataset(OUT, {name: facet})])), OUT_DS
    assert g.raw_facet(node, name) == facet


def test_invalid_and_deleted_facets_are_kept_raw_not_projected() -> None:
    _, schema = spec_facet("SchemaDatasetFacet__1")
    _, sql = spec_facet("SQLJobFacet__1")
    event = run_event(job_facets={"sql": sql}, outputs=[dataset(OUT, {"schema": schema})])
    g = mapped(event, invalid_facets=frozenset({"/outputs/0/facets/schema", "/job/facets/sql"}))
    assert g.objects(OUT_DS, v.HAS_FIELD) == set()
    assert g.raw_facet(OUT_DS, "schema") == schema
    assert g.objects(JOB_NODE, v.SQL_QUERY) == set()
    assert g.raw_facet(JOB_NODE, "sql") == sql
    deleted = {"_producer": "https://p.example", "_schemaURL": "https://s.example",
               "_deleted": True}
    g = mapped(run_event(outputs=[dataset(OUT, {"schema": deleted})]))
    assert g.raw_facet(OUT_DS, "schema") == deleted


def test_input_and_output_facets_not_projected_are_kept_on_the_version() -> None:
    odd = {"_producer": "https://p.example", "_schemaURL": "https://s.example", "x": [1, {"y": 2}]}
    g = mapped(run_event(inputs=[dataset(IN, inputFacets={"custom": odd})],
                         outputs=[dataset(OUT, outputFacets={"custom": odd})]))
    assert g.raw_facet(IN_V, "custom", "inputFacet") == odd
    assert g.raw_facet(OUT_V, "custom", "outputFacet") == odd


def test_a_projected_facet_with_a_value_of_another_type_is_also_kept_raw() -> None:
    stats = {"rowCount": "2000", "size": 10}
    g = mapped(run_event(outputs=[dataset(OUT, outputFacets={"outputStatistics": stats})]))
    assert g.value(OUT_V, v.BYTE_SIZE) == lit(10)
    assert g.objects(OUT_V, v.ROW_COUNT) == set()
    assert g.raw_facet(OUT_V, "outputStatistics", "outputFacet") == stats


# --- the valid corpus ----------------------------------------------------------------------------


@cache
def corpus_graphs() -> list[tuple[str, dict[str, Any], Graph]]:
    return [(path, event, mapped(event)) for path, event in valid_events()]


def test_every_valid_corpus_event_maps_with_its_job_run_datasets_and_fields() -> None:
    checked_fields = 0
    for path, event, g in corpus_graphs():
        run = event.get("run")
        job = event.get("job")
        if isinstance(job, dict):
            job_node = iris.job(job["namespace"], job["name"])
            assert g.has(EVENT, v.ABOUT_JOB, job_node), path
            assert g.text(job_node, v.JOB_NAME) == job["name"], path
        if isinstance(run, dict):
            run_node = iris.run(run["runId"])
            assert g.has(EVENT, v.ABOUT_RUN, run_node), path
            assert g.has(run_node, v.OF_JOB, job_node), path
        entries: list[tuple[str, dict[str, Any]]] = [
            (side, d) for side in ("inputs", "outputs") for d in event.get(side) or []]
        if not isinstance(run, dict) and not isinstance(job, dict):
            entries = [("dataset", event["dataset"])]
        for side, d in entries:
            ds = iris.dataset(d["namespace"], d["name"])
            assert g.has(ds, v.RDF_TYPE, v.LINEAGE_DATASET), path
            assert g.text(ds, v.DATASET_NAME) == d["name"], path
            if side == "dataset":
                assert g.has(EVENT, v.ABOUT_DATASET, ds), path
            elif isinstance(run, dict):
                assert g.has(run_node, v.READS if side == "inputs" else v.WRITES, ds), path
            else:
                assert g.has(job_node, v.HAS_INPUT if side == "inputs" else v.HAS_OUTPUT, ds)
            for f in ((d.get("facets") or {}).get("schema") or {}).get("fields") or []:
                node = iris.field(d["namespace"], d["name"], f["name"])
                assert g.has(ds, v.HAS_FIELD, node), (path, f["name"])
                assert f["name"] in {o.value for o in g.objects(node, v.FIELD_NAME)}, path
                if f.get("type"):
                    assert g.text(node, v.FIELD_TYPE) == f["type"], path
                checked_fields += 1
    assert checked_fields >= 150


def _facet_slots(event: dict[str, Any]) -> Iterable[tuple[NamedNode, str, str, Any, str]]:
    """(node, slot, name, facet, kind) of every facet at the top of an event."""
    run, job = event.get("run"), event.get("job")
    if isinstance(run, dict):
        for name, facet in (run.get("facets") or {}).items():
            yield iris.run(run["runId"]), "facet", name, facet, "run"
    if isinstance(job, dict):
        for name, facet in (job.get("facets") or {}).items():
            yield iris.job(job["namespace"], job["name"]), "facet", name, facet, "job"
    entries = [(s, d) for s in ("inputs", "outputs") for d in event.get(s) or []]
    if not isinstance(run, dict) and not isinstance(job, dict):
        entries = [("dataset", event["dataset"])]
    for _, d in entries:
        ds = iris.dataset(d["namespace"], d["name"])
        version = (iris.dataset_version(run["runId"], d["namespace"], d["name"])
                   if isinstance(run, dict) else ds)
        for name, facet in (d.get("facets") or {}).items():
            yield ds, "facet", name, facet, "dataset"
        for name, facet in (d.get("inputFacets") or {}).items():
            yield version, "inputFacet", name, facet, "input"
        for name, facet in (d.get("outputFacets") or {}).items():
            yield version, "outputFacet", name, facet, "output"


def test_corpus_facets_are_projected_or_kept_as_json_that_round_trips() -> None:
    raw = 0
    for path, event, g in corpus_graphs():
        for node, slot, name, facet, kind in _facet_slots(event):
            if name in PROJECTED_FACETS[kind] and not (isinstance(facet, dict)
                                                       and facet.get("_deleted") is True):
                continue
            assert facet in g.raw_facets(node, name), (path, name)
            assert any(f"/{slot}/" in n.value for n in g.objects(node, v.HAS_FACET)), path
            raw += 1
    assert raw > 300


def test_mapping_is_deterministic_and_pure() -> None:
    for _, event, g in corpus_graphs():
        before = copy.deepcopy(event)
        again = event_to_quads(copy.deepcopy(event), event_id=EVENT_ID, received_at=RECEIVED)
        assert again == g.quads
        assert event == before  # the input is not modified
    quads = event_to_quads(run_event(), event_id=EVENT_ID, received_at=RECEIVED)
    assert len(quads) == len(set(quads))  # no duplicates


def test_mapped_corpus_loads_into_a_store_and_each_event_keeps_its_own_graph() -> None:
    store = pyoxigraph.Store()
    events = [event for _, event, _ in corpus_graphs()]
    for i, event in enumerate(events):
        store.extend(event_to_quads(event, event_id=f"{i:064x}", received_at=RECEIVED))
    graphs = {g.value for g in store.named_graphs()}
    assert graphs == {iris.event_graph(f"{i:064x}").value for i in range(len(events))}
    rows = list(store.query(f"""
        PREFIX dpg: <{v.DPG_NS}>
        SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ GRAPH ?g {{ ?e a dpg:LineageEvent }} }}"""))
    assert int(rows[0]["n"].value) == len(events)


@cache
def ontology_graph() -> pyoxigraph.Store:
    store = pyoxigraph.Store()
    store.load(path=str(REPO / "ontology" / "dpgraph.ttl"), format=pyoxigraph.RdfFormat.TURTLE)
    return store


def test_every_dpg_term_the_mapping_uses_is_declared_in_the_ontology() -> None:
    used: set[NamedNode] = set()
    graphs = [g for _, _, g in corpus_graphs()]
    for example in sorted((CORPUS / "facet_examples" / "spec").glob("*.json")):
        name, facet = spec_facet(example.stem)
        graphs += [mapped(run_event(run_facets={name: facet}, job_facets={name: facet},
                                    inputs=[dataset(IN, {name: facet},
                                                    inputFacets={name: facet})],
                                    outputs=[dataset(OUT, {name: facet},
                                                     outputFacets={name: facet})]))]
    for g in graphs:
        for _, p, o in g.triples:
            used.add(p)
            if p == v.RDF_TYPE or (isinstance(o, NamedNode) and o.value.startswith(v.DPG_NS)):
                used.add(o)
    dpg_terms = {t for t in used if t.value.startswith(v.DPG_NS)}
    assert len(dpg_terms) > 60
    store = ontology_graph()
    undeclared = sorted(t.value for t in dpg_terms
                        if not list(store.quads_for_pattern(t, v.RDF_TYPE, None)))
    assert undeclared == []
    # external terms are vocab.py constants, which tests/test_ontology.py checks exist
    constants = {n for n in vars(v).values() if isinstance(n, NamedNode)}
    assert sorted(t.value for t in used - dpg_terms if t not in constants) == []


def test_job_version_ignores_order_and_repeats() -> None:
    a, b = ("ns", "a"), ("ns", "b")
    assert job_version("j", "n", [a, b], [b], None) == job_version("j", "n", [b, a, a], [b], None)
    assert job_version("j", "n", [a], [b], None) != job_version("j", "n", [a], [a], None)
    assert job_version("j", "n", [a], [b], None) != job_version("j", "n", [a], [b], "git://x")
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


# --- naming: normalised locations ---------------------------------------------------------------


@pytest.mark.parametrize("namespace, name, expected", [
    ("s3://mesh-sales-gold", "sales_orders", "s3://mesh-sales-gold/sales_orders"),
    ("s3a://mesh-sales-gold/", "/sales_orders/", "s3://mesh-sales-gold/sales_orders"),
    ("s3n://Mesh-Bucket", "Dir/File.parquet", "s3://mesh-bucket/Dir/File.parquet"),
    ("s3://test-bucket", "/iceberg_warehouse/db/people",
     "s3://test-bucket/iceberg_warehouse/db/people"),
    ("s3://bucket/prefix", "table", "s3://bucket/prefix/table"),
    ("gs://bucket", "path/to/obj", "gs://bucket/path/to/obj"),
    ("gcs://bucket", "/obj", "gs://bucket/obj"),
    ("abfss://container@account.dfs.core.windows.net", "raw/events",
     "abfss://container@account.dfs.core.windows.net/raw/events"),
    ("wasbs://Container@Account.blob.core.windows.net", "/x",
     "wasbs://container@account.blob.core.windows.net/x"),
    ("hdfs://namenode:8020", "/user/hive//warehouse/t/", "hdfs://namenode:8020/user/hive/warehouse/t"),
    ("file", "/tmp/data/file.csv", "file:///tmp/data/file.csv"),
    ("file", "tmp/data", "file:///tmp/data"),
    ("file://localhost", "/tmp/x", "file:///tmp/x"),
    ("file://Host", "/tmp/x", "file://host/tmp/x"),
    ("/tmp/alter_test", "default.alter_table_test_new",
     "file:///tmp/alter_test/default.alter_table_test_new"),
    ("postgres://pg-customer.mesh.internal:5432", "customer.gold.customer_profile",
     "postgres://pg-customer.mesh.internal:5432/customer.gold.customer_profile"),
    ("postgresql://PG.example", "db.public.t", "postgres://pg.example:5432/db.public.t"),
    ("postgres://user:secret@pg.example:6432", "db.s.t", "postgres://pg.example:6432/db.s.t"),
    ("postgres://workshop-db:None", "workshop.public.taxes-in",
     "postgres://workshop-db:5432/workshop.public.taxes-in"),
    ("mysql://db.example", "shop.orders", "mysql://db.example:3306/shop.orders"),
    ("redshift://cluster.eu-west-1:5439", "dev.public.t", "redshift://cluster.eu-west-1:5439/dev.public.t"),
    ("snowflake://ORG-ACCOUNT", "DB.SCHEMA.TABLE", "snowflake://org-account/db.schema.table"),
    ("bigquery", "my-project.Dataset.Table", "bigquery:my-project.Dataset.Table"),
    ("kafka://kafka.mesh.internal:9092", "customer.profile.changes.v2",
     "kafka://kafka.mesh.internal:9092/customer.profile.changes.v2"),
    ("kafka://Broker", "topic", "kafka://broker:9092/topic"),
    ("kafka://b1:9092,b2:9092", "topic", "kafka://b1:9092,b2:9092/topic"),
    ("duckdb:///data/mesh.duckdb", "main.finance_revenue_daily",
     "duckdb:///data/mesh.duckdb/main.finance_revenue_daily"),
    ("duckdb:///data/mesh.duckdb", "mesh.main.finance_revenue_daily",
     "duckdb:///data/mesh.duckdb/main.finance_revenue_daily"),
    ("trino://trino.example:8080", "hive.db.t", "trino://trino.example:8080/hive.db.t"),
    ("arn:aws:glue:eu-west-1:123456789012", "table/db/t",
     "arn:aws:glue:eu-west-1:123456789012/table/db/t"),
    ("mesh-dbt", "mesh.sales_orders", "mesh-dbt/mesh.sales_orders"),
    ("https://API.example:443/v1/", "orders", "https://api.example/v1/orders"),
])
def test_normalize_location(namespace: str, name: str, expected: str) -> None:
    assert normalize_location(namespace, name) == expected
    assert normalize_uri(expected) == expected  # the normal form is a fixed point


def test_normalize_location_without_namespace_or_name() -> None:
    assert normalize_location("", "x") is None
    assert normalize_location("s3://bucket/", "") == "s3://bucket"


@pytest.mark.parametrize("location, expected", [
    ("S3A://Bucket/Key/", "s3://bucket/Key"),
    ("postgresql://u:p@PG:5432/db.s.t", "postgres://pg:5432/db.s.t"),
    ("postgres://pg/db.s.t", "postgres://pg:5432/db.s.t"),
    ("file:/tmp/x", "file:///tmp/x"),
    ("file://localhost/tmp/x/", "file:///tmp/x"),
    ("/data/exports/x.csv", "file:///data/exports/x.csv"),
    ("bq://proj.ds.t", "bigquery:proj.ds.t"),
    ("bigquery://proj.ds.t", "bigquery:proj.ds.t"),
    ("https://api.example:443/v1/", "https://api.example/v1"),
    ("http://API.example:8080/x", "http://api.example:8080/x"),
    ("Snowflake://Org-Acct/DB.S.T", "snowflake://org-acct/db.s.t"),
    ("duckdb:///data/mesh.duckdb/main.t", "duckdb:///data/mesh.duckdb/main.t"),
    ("kafka://[::1]/topic", "kafka://[::1]:9092/topic"),
    ("not a uri/", "not a uri"),
])
def test_normalize_uri(location: str, expected: str) -> None:
    assert normalize_uri(location) == expected


def example_locations() -> list[str]:
    found = []
    for path in sorted((REPO / "examples" / "products").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        found += [r["location"] for r in doc.get("representations") or [] if r.get("location")]
    return found


def test_example_product_locations_are_already_normal_and_match_their_lineage_names() -> None:
    locations = example_locations()
    assert len(locations) >= 20
    assert [loc for loc in locations if normalize_uri(loc) != loc] == []
    # the (namespace, name) a producer reports for each kind of location maps onto it
    matched = 0
    for loc in locations:
        scheme = loc.split(":", 1)[0]
        if scheme == "s3":
            bucket, _, key = loc[len("s3://"):].partition("/")
            pairs = [(f"s3://{bucket}", key), (f"s3a://{bucket}", f"/{key}/")]
        elif scheme in ("postgres", "kafka"):
            authority, _, name = loc.split("://", 1)[1].partition("/")
            pairs = [(f"{scheme}://{authority}", name)]
        elif scheme == "duckdb":
            path, _, table = loc.rpartition("/")
            stem = path.rsplit("/", 1)[1].split(".")[0]
            pairs = [(path, table), (path, f"{stem}.{table}")]
        else:
            continue
        for namespace, name in pairs:
            assert normalize_location(namespace, name) == loc, (namespace, name)
        matched += 1
    assert matched >= 18


def test_a_dataset_listed_twice_keeps_both_values_of_a_raw_facet() -> None:
    first, second = {"tag": "as read"}, {"tag": "as written"}
    g = mapped(run_event(inputs=[dataset(OUT, {"custom": first})],
                         outputs=[dataset(OUT, {"custom": second})]))
    assert g.raw_facets(OUT_DS, "custom") == [first, second] or g.raw_facets(
        OUT_DS, "custom") == [second, first]
    assert g.raw_facet(OUT_DS, "custom") == first  # the first listing keeps the plain name
    assert g.has(RUN, v.READS, OUT_DS) and g.has(RUN, v.WRITES, OUT_DS)
