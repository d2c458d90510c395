"""Lineage datasets link to registered representations, fields to attributes and elements,
whatever the order in which the product and its lineage arrive."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import EXAMPLES
from fastapi.testclient import TestClient

from dpgraph import vocab as v
from dpgraph.api.app import create_app
from dpgraph.demo import demo_products, load_demo
from dpgraph.descriptor import PhysicalAttribute
from dpgraph.schema_signature import signature
from dpgraph.services.latest_schemas import LATEST_SCHEMA_GRAPH
from dpgraph.services.lineage_summary import SUMMARY_GRAPH
from dpgraph.services.representation_links import LINKS_GRAPH, RepresentationLinks
from dpgraph.settings import Settings
from dpgraph.store.base import GraphStore

JSON = {"Content-Type": "application/json"}
EVENT = {
    "eventType": "COMPLETE", "eventTime": "2026-11-24T10:00:00Z",
    "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/dbt",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "0192e8b4-0000-7000-8000-000000000001"},
    "job": {"namespace": "mesh-dbt", "name": "mesh.sales_orders"},
    "inputs": [],
    "outputs": [
        {"namespace": "duckdb://mesh.duckdb", "name": "mesh.main.sales_orders",
         "facets": {"schema": {
             "_producer": "https://example.org/p",
             "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
                           "#/$defs/SchemaDatasetFacet",
             "fields": [{"name": "order_id", "type": "VARCHAR"},
                        {"name": "customer_id", "type": "VARCHAR"},
                        {"name": "loaded_at", "type": "TIMESTAMP"}]}}},
        {"namespace": "hive://metastore", "name": "sales.orders_v3",
         "facets": {"symlinks": {
             "_producer": "https://example.org/p",
             "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json"
                           "#/$defs/SymlinksDatasetFacet",
             "identifiers": [{"namespace": "s3://mesh-sales-gold", "name": "sales_orders",
                              "type": "TABLE"}]}}},
    ],
}


def _links(c: TestClient) -> list[dict]:
    r = c.get("/api/v1/products/sales-orders/datasets")
    assert r.status_code == 200, r.text
    return r.json()


def _register_demo(c: TestClient) -> None:
    load_demo(c.app.state.runtime.registry, EXAMPLES)  # type: ignore[attr-defined]


def test_links_are_the_same_whichever_arrives_first(tmp_path: Path) -> None:
    answers = []
    for order in ("product-first", "lineage-first"):
        with TestClient(create_app(Settings(data_dir=tmp_path / order))) as c:
            if order == "product-first":
                _register_demo(c)
            assert c.post("/api/v1/lineage", content=json.dumps(EVENT), headers=JSON).is_success
            if order == "lineage-first":
                _register_demo(c)
            answers.append(_links(c))
    assert answers[0] == answers[1]
    by_rep = {(a["representation"], a["linkedBy"]): a for a in answers[0]}
    duck = by_rep[("sales-orders-duckdb", "location")]
    assert duck["dataset"]["nodeId"] == "dataset:duckdb://mesh.duckdb:mesh.main.sales_orders"
    fields = {f["field"]: f for f in duck["fields"]}
    assert fields["customer_id"] == {"field": "customer_id", "column": "customer_id",
                                     "element": "customer_id", "term": "customer-identifier",
                                     "classification": "confidential"}
    assert fields["loaded_at"]["element"] is None  # a column the product does not declare
    # The delta representation is materialised by the hive table through its symlink.
    delta = by_rep[("sales-orders-delta", "symlink")]
    assert delta["dataset"] == {"namespace": "hive://metastore", "name": "sales.orders_v3",
                                "nodeId": "dataset:hive://metastore:sales.orders_v3"}


def test_a_product_without_lineage_has_no_datasets(demo_client: TestClient) -> None:
    assert demo_client.get("/api/v1/products/customer-consent/datasets").json() == []
    assert demo_client.get("/api/v1/products/nope/datasets").status_code == 404


def test_representation_locations_carry_the_normalized_form() -> None:
    from dpgraph import vocab as v
    from dpgraph.mapping.product import product_to_rdf

    d = next(p for p in demo_products(EXAMPLES / "products") if p.id == "sales-orders")
    locations = {t.object.value for t in product_to_rdf(d).triples
                 if t.predicate == v.NORMALIZED_LOCATION}
    assert locations == {"s3://mesh-sales-gold/sales_orders",
                         "duckdb://mesh.duckdb/main.sales_orders",
                         "kafka://kafka.mesh.internal:9092/sales.orders.v3"}


def _stored_links(c: TestClient) -> set[tuple[str, str]]:
    """The materialised ``dpg:representedBy`` links, as (dataset IRI tail, representation)."""

    rt = c.app.state.runtime  # type: ignore[attr-defined]
    rt.sync()
    rows = rt.store.select(f"SELECT ?ds ?rep WHERE {{ GRAPH <{LINKS_GRAPH.value}> "
                           "{ ?ds <https://w3id.org/dpgraph/ns#representedBy> ?rep } }")
    return {(r["ds"].value.split("/ol/dataset/")[1], r["rep"].value.rsplit("/", 1)[1])
            for r in rows}


# By hand from EVENT and examples/products/sales-orders.yaml: the duckdb table is the duckdb
# representation by location; the hive table is the delta one through its symlink, and the
# s3 path named by that symlink is it directly.
EXPECTED_LINKS = {
    ("duckdb%3A%2F%2Fmesh.duckdb/mesh.main.sales_orders", "sales-orders-duckdb"),
    ("hive%3A%2F%2Fmetastore/sales.orders_v3", "sales-orders-delta"),
    ("s3%3A%2F%2Fmesh-sales-gold/sales_orders", "sales-orders-delta"),
}


def test_materialised_links_whichever_arrives_first_and_after_replay(tmp_path: Path) -> None:
    from dpgraph.offline_replay import replay
    from dpgraph.runtime import open_runtime

    for order in ("product-first", "lineage-first"):
        data = tmp_path / order
        with TestClient(create_app(Settings(data_dir=data))) as c:
            if order == "product-first":
                _register_demo(c)
            assert c.post("/api/v1/lineage", content=json.dumps(EVENT), headers=JSON).is_success
            if order == "lineage-first":
                _register_demo(c)
            assert _stored_links(c) == EXPECTED_LINKS
            live_signatures = _stored_signatures(c.app.state.runtime.store)  # type: ignore[attr-defined]
            # The duckdb table has a latest schema, restated with its link in either order
            restated = _restated(c.app.state.runtime.store)  # type: ignore[attr-defined]
            sig = signature([("order_id", "VARCHAR"), ("customer_id", "VARCHAR"),
                             ("loaded_at", "TIMESTAMP")])
            assert restated == {"duckdb%3A%2F%2Fmesh.duckdb/mesh.main.sales_orders":
                                ("2026-11-24T10:00:00Z", sig)}
            assert _realised(c.app.state.runtime.store) == EXPECTED_REALISED  # type: ignore[attr-defined]
        assert live_signatures == _descriptor_signatures()
        replay(Settings(data_dir=data))
        rt = open_runtime(Settings(data_dir=data), catch_up=False)
        try:
            rows = rt.store.select(
                "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/dpgraph/id/graph/"
                "lineage-links> { ?ds <https://w3id.org/dpgraph/ns#representedBy> ?rep } }")
            assert int(next(iter(rows))["n"].value) == len(EXPECTED_LINKS)
            assert _stored_signatures(rt.store) == live_signatures
            assert _restated(rt.store) == restated
            assert _realised(rt.store) == EXPECTED_REALISED
        finally:
            rt.close()


def _stored_signatures(store: GraphStore) -> dict[str, str]:
    rows = store.select(f"SELECT ?rep ?sig WHERE {{ GRAPH <{LINKS_GRAPH.value}> "
                        f"{{ ?rep <{v.COLUMNS_SIGNATURE.value}> ?sig }} }}")
    return {r["rep"].value.split("/product/")[1]: r["sig"].value for r in rows}


def _realised(store: GraphStore) -> set[tuple[str, str]]:
    """(field name, representation/column) of every field matched to a registered column."""
    rows = store.select(f"""SELECT ?name ?column WHERE {{
        GRAPH <{LINKS_GRAPH.value}> {{ ?f <{v.FIELD_OF_ATTRIBUTE.value}> ?column }}
        GRAPH <{SUMMARY_GRAPH.value}> {{ ?f <{v.FIELD_NAME.value}> ?name }} }}""")
    return {(r["name"].value, r["column"].value.split("/representation/")[1].replace(
        "/attribute/", "/")) for r in rows}


# By hand: the duckdb table's fields order_id and customer_id are columns of the duckdb
# representation (examples/products/sales-orders.yaml); loaded_at is no column.
EXPECTED_REALISED = {("order_id", "sales-orders-duckdb/order_id"),
                     ("customer_id", "sales-orders-duckdb/customer_id")}


def _restated(store: GraphStore) -> dict[str, tuple[str, str | None]]:
    """The latest-schema time and signature the links graph restates for linked datasets
    (checked equal to the latest-schema graph's)."""
    rows = store.select(f"""SELECT ?ds ?at ?sig ?at0 ?sig0 WHERE {{
        GRAPH <{LINKS_GRAPH.value}> {{ ?ds <{v.LATEST_SCHEMA_AT.value}> ?at
                                      OPTIONAL {{ ?ds <{v.SCHEMA_SIGNATURE.value}> ?sig }} }}
        OPTIONAL {{ GRAPH <{LATEST_SCHEMA_GRAPH.value}> {{
            ?ds <{v.LATEST_SCHEMA_AT.value}> ?at0
            OPTIONAL {{ ?ds <{v.SCHEMA_SIGNATURE.value}> ?sig0 }} }} }} }}""")
    out = {}
    for r in rows:
        assert (r["at"], r["sig"]) == (r["at0"], r["sig0"])
        out[r["ds"].value.split("/ol/dataset/")[1]] = (
            r["at"].value.replace(".000000", ""), None if r["sig"] is None else r["sig"].value)
    return out


def _descriptor_signatures() -> dict[str, str]:
    """By hand: every demo representation whose columns all have a type, signed from the
    descriptor's own (name, type) pairs."""
    out = {}
    for d in demo_products(EXAMPLES / "products"):
        for rep in d.representations:
            if all(a.type for a in rep.attributes):
                sig = signature((a.name, a.type) for a in rep.attributes)
                assert sig is not None
                out[f"{d.id}/representation/{rep.id}"] = sig
    return out


def test_a_re_registration_replaces_its_columns_signatures(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        _register_demo(c)
        rt = c.app.state.runtime  # type: ignore[attr-defined]
        d = next(p for p in demo_products(EXAMPLES / "products") if p.id == "sales-orders")
        changed = d.model_copy(deep=True)
        duckdb = next(r for r in changed.representations if r.id == "sales-orders-duckdb")
        duckdb.attributes[0].type = "BIGINT"  # retyped: a new signature
        delta = next(r for r in changed.representations if r.id == "sales-orders-delta")
        # a name whose lowercase engines may disagree on: no signature, compared in full
        delta.attributes.append(PhysicalAttribute(name="straße", type="string",
                                                  element="order_id"))
        assert rt.registry.register_product(changed).accepted
        rt.sync()
        expected = _descriptor_signatures()
        del expected["sales-orders/representation/sales-orders-delta"]
        retyped = signature((a.name, a.type) for a in duckdb.attributes)
        assert retyped is not None
        assert retyped != expected["sales-orders/representation/sales-orders-duckdb"]
        expected["sales-orders/representation/sales-orders-duckdb"] = retyped
        assert _stored_signatures(rt.store) == expected
        # A graph from before the signatures is signed on start (backfill)
        rt.store.update(f"DELETE WHERE {{ GRAPH <{LINKS_GRAPH.value}> "
                        f"{{ ?rep <{v.COLUMNS_SIGNATURE.value}> ?sig }} }}")
        assert _stored_signatures(rt.store) == {}
        RepresentationLinks(rt.store).backfill()
        assert _stored_signatures(rt.store) == expected


def test_a_representation_moved_elsewhere_loses_its_links(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        _register_demo(c)
        assert c.post("/api/v1/lineage", content=json.dumps(EVENT), headers=JSON).is_success
        d = next(p for p in demo_products(EXAMPLES / "products") if p.id == "sales-orders")
        moved = d.model_copy(deep=True)
        for rep in moved.representations:
            if rep.id == "sales-orders-duckdb":
                rep.location = "duckdb://mesh.duckdb/main.sales_orders_v2"
        registry = c.app.state.runtime.registry  # type: ignore[attr-defined]
        assert registry.register_product(moved).accepted
        assert _stored_links(c) == EXPECTED_LINKS - {
            ("duckdb%3A%2F%2Fmesh.duckdb/mesh.main.sales_orders", "sales-orders-duckdb")}
        store = c.app.state.runtime.store  # type: ignore[attr-defined]
        assert _realised(store) == set()  # its fields are no column of it any more
        assert registry.register_product(d).accepted  # moved back: linked again
        assert _stored_links(c) == EXPECTED_LINKS
        assert _realised(store) == EXPECTED_REALISED


def test_new_fields_of_a_linked_dataset_are_matched_to_its_columns(tmp_path: Path) -> None:
    later = json.loads(json.dumps(EVENT))
    later["run"]["runId"] = "0192e8b4-0000-7000-8000-000000000003"
    later["eventTime"] = "2026-11-24T12:00:00Z"
    later["outputs"][0]["facets"]["schema"]["fields"] = [
        {"name": "Order_Status", "type": "VARCHAR"},  # a column, case aside
        {"name": "address", "type": "STRUCT",  # nested: net_amount inside is no column
         "fields": [{"name": "net_amount", "type": "DECIMAL(18,2)"}]}]
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        _register_demo(c)
        for event in (EVENT, later):
            assert c.post("/api/v1/lineage", content=json.dumps(event), headers=JSON).is_success
        c.app.state.runtime.sync()  # type: ignore[attr-defined]
        assert _realised(c.app.state.runtime.store) == EXPECTED_REALISED | {  # type: ignore[attr-defined]
            ("Order_Status", "sales-orders-duckdb/order_status")}


def test_an_alias_reported_later_links_the_dataset_it_names(tmp_path: Path) -> None:
    without_symlink = json.loads(json.dumps(EVENT))
    del without_symlink["outputs"][1]["facets"]
    without_symlink["outputs"].append({"namespace": "s3://mesh-sales-gold",
                                       "name": "sales_orders"})
    later = {**EVENT, "eventTime": "2026-11-24T11:00:00Z",
             "run": {"runId": "0192e8b4-0000-7000-8000-000000000002"}}
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        _register_demo(c)
        for event in (without_symlink, later):
            assert c.post("/api/v1/lineage", content=json.dumps(event), headers=JSON).is_success
            if event is without_symlink:  # every dataset already seen, the alias not yet
                assert _stored_links(c) == EXPECTED_LINKS - {
                    ("hive%3A%2F%2Fmetastore/sales.orders_v3", "sales-orders-delta")}
        assert _stored_links(c) == EXPECTED_LINKS


READER = {**EVENT, "run": {"runId": "0192e8b4-0000-7000-8000-000000000003"},
          "job": {"namespace": "mesh-dbt", "name": "mesh.orders_by_customer"},
          "inputs": [{"namespace": "duckdb://mesh.duckdb", "name": "mesh.main.sales_orders"},
                     {"namespace": "s3://elsewhere", "name": "unregistered"}],
          "outputs": []}
# By hand from READER: of its two inputs only the duckdb table is a representation.
EXPECTED_INPUTS = {("mesh-dbt/mesh.orders_by_customer",
                    "duckdb%3A%2F%2Fmesh.duckdb/mesh.main.sales_orders")}


def _restated_inputs(store: GraphStore) -> set[tuple[str, str]]:
    rows = store.select(f"SELECT ?job ?ds WHERE {{ GRAPH <{LINKS_GRAPH.value}> "
                        f"{{ ?job <{v.HAS_INPUT.value}> ?ds }} }}")
    return {(r["job"].value.split("/ol/job/")[1], r["ds"].value.split("/ol/dataset/")[1])
            for r in rows}


def test_inputs_of_linked_datasets_are_restated_in_any_order_and_after_replay(
        tmp_path: Path) -> None:
    from dpgraph.offline_replay import replay
    from dpgraph.runtime import open_runtime

    # The reader before the registration (restated when the link is made), after it and
    # after the dataset it reads was linked (restated from the batch), and in one batch
    # with the event that links that dataset.
    for order in ("lineage-first", "reader-last", "one-batch"):
        data = tmp_path / order
        with TestClient(create_app(Settings(data_dir=data))) as c:
            if order != "lineage-first":
                _register_demo(c)
            if order == "one-batch":
                r = c.post("/api/v1/lineage/batch", content=json.dumps([EVENT, READER]),
                           headers=JSON)
                assert r.is_success, r.text
            else:
                for event in (READER, EVENT) if order == "lineage-first" else (EVENT, READER):
                    assert c.post("/api/v1/lineage", content=json.dumps(event),
                                  headers=JSON).is_success
                    c.app.state.runtime.sync()  # type: ignore[attr-defined]  # one batch each
            if order == "lineage-first":
                rt = c.app.state.runtime  # type: ignore[attr-defined]
                rt.sync()
                assert not _restated_inputs(rt.store)  # nothing linked yet
                _register_demo(c)
            c.app.state.runtime.sync()  # type: ignore[attr-defined]
            assert _restated_inputs(c.app.state.runtime.store) == EXPECTED_INPUTS  # type: ignore[attr-defined]
        replay(Settings(data_dir=data))
        rt = open_runtime(Settings(data_dir=data), catch_up=False)
        try:
            assert _restated_inputs(rt.store) == EXPECTED_INPUTS
            rt.store.update(f"DELETE WHERE {{ GRAPH <{LINKS_GRAPH.value}> "
                            f"{{ ?job <{v.HAS_INPUT.value}> ?ds }} }}")
        finally:
            rt.close()
    rt = open_runtime(Settings(data_dir=data))  # a links graph from before the restatement
    try:
        assert _restated_inputs(rt.store) == EXPECTED_INPUTS
    finally:
        rt.close()
