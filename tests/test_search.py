"""Full-text search over the metamodel and lineage: what is found, how it ranks, how it
filters, and that the index is a projection of the log (replaced, merged, rebuilt)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, example_product
from fastapi.testclient import TestClient
from procs import dpgraph

from dpgraph.api.app import create_app
from dpgraph.descriptor import ProductDescriptor
from dpgraph.log.sqlite_log import NewRecord
from dpgraph.runtime import open_runtime
from dpgraph.search.extract import PRODUCT_REGISTERED
from dpgraph.search.query import parse_request
from dpgraph.settings import Settings

SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR",
                             Path(__file__).resolve().parents[2] / "shared"))
CORPUS = SHARED / "corpus" / "openlineage" / "valid"
CORPUS_EVENTS = [
    "spec-examples/ol-website-docs__spec__facets__facets__block01.json",  # taxes-in/out, sql
    "spec-examples/ol-website-docs__spec__facets__custom-facets__block05.json",  # user_history
    "spec-examples/ol-website-docs__spec__examples__block04.json",  # unpaid_taxes
    "spark/ct-consumer-spark_dataproc_bigquery_shakespare__1729097613451.json",
]
JSON = {"Content-Type": "application/json"}


def _event(job: tuple[str, str], outputs: list[dict[str, Any]], run: str = "1") -> bytes:
    return json.dumps({
        "eventType": "COMPLETE", "eventTime": "2026-11-24T10:00:00Z",
        "producer": "https://example.org/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"0192e8b4-0000-7000-8000-{int(run):012d}"},
        "job": {"namespace": job[0], "name": job[1]}, "inputs": [], "outputs": outputs,
    }).encode()


def _dataset(ns: str, name: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
    return {"namespace": ns, "name": name, "facets": {"schema": {
        "_producer": "https://example.org/producer",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
                      "#/$defs/SchemaDatasetFacet",
        "fields": [{"name": n, "type": "VARCHAR", "description": d} for n, d in fields]}}}


# A job sales-orders claims in its `lineage`, and a dataset at the location of one of its
# representations written by a job nobody claims.
CLAIMED_JOB = _event(("mesh-dbt", "mesh.sales_orders"), [_dataset(
    "duckdb://mesh.duckdb", "mesh.main.sales_orders",
    [("order_id", "Webshop order number"), ("loaded_at", "When the warehouse loaded it")])])
UNCLAIMED_JOB = _event(("adhoc", "copy_orders_to_lake"), [_dataset(
    "s3://mesh-sales-gold", "sales_orders", [("order_id", "")])], run="2")


def _post_lineage(c: TestClient) -> None:
    for name in CORPUS_EVENTS:
        r = c.post("/api/v1/lineage", content=(CORPUS / name).read_bytes(), headers=JSON)
        assert r.is_success, (name, r.text)
    for body in (CLAIMED_JOB, UNCLAIMED_JOB):
        assert c.post("/api/v1/lineage", content=body, headers=JSON).is_success


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The demo mesh (catalog and ten products) and a few lineage events, read only."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("search") / "data", demo=True)
    with TestClient(create_app(settings)) as c:
        _post_lineage(c)
        yield c


def search(c: TestClient, **params: Any) -> dict[str, Any]:
    r = c.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _problem(c: TestClient, **params: Any) -> dict[str, Any]:
    r = c.get("/api/v1/search", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return dict(r.json())


def _marked(snippet: dict[str, Any]) -> list[str]:
    return [snippet["text"][a:b] for a, b in snippet["highlights"]]


# --- what is found ------------------------------------------------------------------------


def test_a_product_is_found_by_words_only_its_description_contains(mesh: TestClient) -> None:
    body = search(mesh, q="change data capture")
    assert body["total"] == 1
    (hit,) = body["hits"]
    assert (hit["type"], hit["id"], hit["name"], hit["domain"]) == (
        "product", "sales-orders", "Sales Orders", "sales")
    assert hit["matched"] == ["description"]
    assert hit["snippet"]["field"] == "description"
    # every word is a prefix: "capture" also marks "Captured"
    assert _marked(hit["snippet"]) == ["Captured", "database", "change", "data", "capture"]
    assert "by change data capture;" in hit["snippet"]["text"]


def test_a_prefix_finds_whole_words_for_type_ahead(mesh: TestClient) -> None:
    terms = search(mesh, q="cust", type="term")["hits"]
    assert {"customer-identifier", "customer-segment"} <= {h["id"] for h in terms}
    assert all(h["label"].lower().startswith("cust") for h in terms[:2])
    assert _marked(terms[0]["snippet"]) == ["Customer"]


def test_a_column_is_found_by_name_with_its_product(mesh: TestClient) -> None:
    hits = search(mesh, q="cust_id", type="column")["hits"]
    assert {(h["product"]["id"], h["representation"], h["name"], h["element"]) for h in hits} \
        == {("sales-orders", "sales-orders-delta", "cust_id", "customer_id"),
            ("customer-profile", "customer-profile-postgres", "cust_id", "customer_id")}
    sales = next(h for h in hits if h["product"]["id"] == "sales-orders")
    assert sales["product"]["name"] == "Sales Orders"
    assert sales["domain"] == "sales"
    assert sales["matched"] == ["name"]


def test_an_element_is_found_by_title_with_its_business_term(mesh: TestClient) -> None:
    hits = search(mesh, q="order VAT", type="element")["hits"]
    top = hits[0]
    assert (top["product"]["id"], top["name"], top["businessTerm"]) == (
        "sales-orders", "tax_amount", "tax-amount")
    assert hits[0]["matched"] == ["title", "description"]  # "Order VAT", "VAT charged on…"
    # the others say "VAT" only in their descriptions ("including VAT")
    assert all("title" not in h["matched"] or "VAT" not in h["title"] for h in hits[1:])


def test_a_dataset_field_of_a_lineage_schema_facet_is_found(mesh: TestClient) -> None:
    hits = search(mesh, q="email_domain")["hits"]
    by_type = {h["type"]: h for h in hits}
    column = by_type["column"]
    assert column["nodeId"] == "datasetField:python_client:temp_demo.user_history:email_domain"
    assert column["dataset"]["name"] == "temp_demo.user_history"
    assert column["dataType"] == "VARCHAR"
    assert by_type["dataset"]["nodeId"] == "dataset:python_client:temp_demo.user_history"
    assert by_type["dataset"]["matched"] == ["fields"]
    assert hits[0]["type"] == "column"  # found by its name, above the dataset listing it


def test_a_field_description_and_a_job_sql_are_searched(mesh: TestClient) -> None:
    columns = search(mesh, q="activation process", type="column")["hits"]
    assert {h["nodeId"] for h in columns} == {
        "datasetField:postgres://workshop-db:None:workshop.public.taxes-in:is_active",
        "datasetField:postgres://workshop-db:None:workshop.public.taxes-out:is_active"}
    assert all(h["matched"] == ["description"] for h in columns)
    jobs = search(mesh, q="insert into", type="job")["hits"]
    assert [(h["nodeId"], h["matched"]) for h in jobs] == [("job:workshop:process_taxes", ["sql"])]


def test_catalog_entities_are_searched(mesh: TestClient) -> None:
    hits = search(mesh, q="OneTrust", type="application")["hits"]
    assert [(h["id"], h["domain"]) for h in hits] == [("consent-manager", "customer")]


# --- ranking, filters, paging --------------------------------------------------------------


def test_a_name_match_ranks_above_a_description_match(mesh: TestClient) -> None:
    hits = search(mesh, q="order", type="product")["hits"]
    assert [h["id"] for h in hits[:2]] == ["sales-orders", "sales-order-lines"]
    assert all("name" in h["matched"] for h in hits[:2])
    assert len(hits) > 2
    assert all(h["matched"] == ["description"] for h in hits[2:])
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    # Across types too: the term labelled with both words above elements merely about it.
    assert search(mesh, q="customer identifier")["hits"][0]["id"] == "customer-identifier"


def test_type_filter_takes_a_comma_list(mesh: TestClient) -> None:
    datasets = search(mesh, q="taxes", type="dataset")["hits"]
    assert len(datasets) == 3
    assert {h["type"] for h in datasets} == {"dataset"}
    both = search(mesh, q="taxes", type="dataset, job")["hits"]
    assert {h["type"] for h in both} == {"dataset", "job"}
    assert "job:workshop:process_taxes" in {h["nodeId"] for h in both}


def test_domain_filter_covers_products_and_the_lineage_they_claim(mesh: TestClient) -> None:
    sales = search(mesh, q="order", domain="sales", limit=100)
    assert sales["total"] > 20
    metamodel = [h for h in sales["hits"] if "product" in h or h["type"] == "product"]
    assert metamodel and all(h["domain"] == "sales" for h in metamodel)
    found = {h.get("nodeId") for h in search(mesh, q="orders", domain="sales", limit=100)["hits"]}
    assert "job:mesh-dbt:mesh.sales_orders" in found  # declared in lineage.jobs
    # materialising sales-orders' representations (normalised locations)
    assert "dataset:duckdb://mesh.duckdb:mesh.main.sales_orders" in found
    assert "dataset:s3://mesh-sales-gold:sales_orders" in found
    assert "job:adhoc:copy_orders_to_lake" not in found  # claimed by no product
    assert "datasetField:duckdb://mesh.duckdb:mesh.main.sales_orders:loaded_at" in {
        h.get("nodeId") for h in search(mesh, q="loaded", domain="sales")["hits"]}
    finance = search(mesh, q="orders", domain="finance", limit=100)["hits"]
    assert not {h.get("nodeId") for h in finance} & found - {None}
    assert all(h.get("domain") == "finance" for h in finance if "nodeId" not in h)
    # lineage hits carry no domain of their own: this job is finance's by its lineage.jobs
    # (finance-revenue-daily, examples/lineage-dbt), found by its SQL reading sales_orders
    assert [h["nodeId"] for h in finance if "nodeId" in h] == [
        "job:mesh-dbt:mesh.main.mesh.finance_revenue_daily.build.run"]
    assert search(mesh, q="shakespeare", domain="sales")["total"] == 0


def test_limit_and_offset_page_through_the_ranking(mesh: TestClient) -> None:
    whole = search(mesh, q="order", limit=12)
    first = search(mesh, q="order", limit=6)
    second = search(mesh, q="order", limit=6, offset=6)
    assert first["total"] == second["total"] == whole["total"] > 12
    assert first["hits"] + second["hits"] == whole["hits"]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "rule"), [
    ({}, "search:q-required"),
    ({"q": ""}, "search:q-required"),
    ({"q": "   "}, "search:q-required"),
    ({"q": "x" * 201}, "search:q-max-length"),
    ({"q": "-- () \" *"}, "search:q-no-words"),
])
def test_a_missing_empty_or_over_long_q_is_refused(mesh: TestClient, params: dict[str, str],
                                                   rule: str) -> None:
    body = _problem(mesh, **params)
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [("q", rule)]


def test_an_unknown_type_is_refused_naming_it(mesh: TestClient) -> None:
    body = _problem(mesh, q="order", type="product,table")
    (error,) = body["errors"]
    assert (error["field"], error["rule"], error["value"]) == ("type", "search:type-unknown",
                                                               "table")
    assert "product, element, column" in error["message"]


@pytest.mark.parametrize("q", ['"AND NEAR(', "order OR", "customer*", "{name}: x", "a\"b c",
                               "NOT sales", "col:umn ^start"])
def test_fts_syntax_in_q_is_plain_text(mesh: TestClient, q: str) -> None:
    search(mesh, q=q)


def test_punctuation_in_q_is_a_word_separator(mesh: TestClient) -> None:
    assert search(mesh, q="sales-orders", type="product")["hits"][0]["id"] == "sales-orders"
    assert search(mesh, q="(sales) orders!", type="product")["hits"][0]["id"] == "sales-orders"


# --- a projection of the log -----------------------------------------------------------------


def _post_yaml(c: TestClient, path: str, doc: dict[str, Any]) -> None:
    r = c.post(path, content=yaml.safe_dump(doc), headers={"Content-Type": "application/yaml"})
    assert r.is_success, r.text


def test_a_reregistration_replaces_the_products_rows(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data", demo=True))) as c:
        assert search(c, q="change data capture")["total"] == 1
        product = example_product("sales-orders")
        product["description"] = "Orders of the webshop, loaded nightly by a batch export."
        product["elements"][1]["title"] = "Buyer number"
        _post_yaml(c, "/api/v1/products", product)
        # read-your-writes: the acknowledged registration is searchable at once
        assert search(c, q="change data capture")["total"] == 0
        assert [h["id"] for h in search(c, q="nightly batch export")["hits"]] == ["sales-orders"]
        assert search(c, q="buyer number", type="element")["hits"][0]["name"] == "customer_id"
        assert search(c, q="customer identifier", type="element",
                      domain="sales")["total"] == 1  # sales-order-lines has none: only ours left
        r = c.post("/api/v1/products/sales-orders/deprecation",
                   json={"reason": "replaced", "status": "deprecated"})
        assert r.is_success, r.text
        (hit,) = search(c, q="deprecated", type="product")["hits"]
        assert (hit["id"], hit["status"], hit["matched"]) == ("sales-orders", "deprecated",
                                                               ["status"])


def test_lineage_rows_are_merged_one_per_dataset_and_job(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as c:
        ds = ("s3://lake", "raw/orders")
        for run, fields in (("1", [("order_id", "")]), ("2", [("order_total", "Gross sum")])):
            body = _event(("etl", "load_orders"), [_dataset(*ds, fields)], run=run)
            assert c.post("/api/v1/lineage", content=body, headers=JSON).is_success
        (dataset,) = search(c, q="orders", type="dataset")["hits"]
        assert dataset["nodeId"] == "dataset:s3://lake:raw/orders"
        assert len(search(c, q="load_orders", type="job")["hits"]) == 1
        (merged,) = search(c, q="order_id order_total", type="dataset")["hits"]
        assert merged["snippet"]["text"] == "order_id, order_total"
        assert {h["name"] for h in search(c, q="order", type="column")["hits"]} == {
            "order_id", "order_total"}


def _dump(data_dir: Path) -> list[tuple[Any, ...]]:
    """Every row of the index and every claim, without the row ids."""
    with sqlite3.connect(data_dir / "search.sqlite") as db:
        rows = db.execute(
            "SELECT e.key, e.type, e.scope, e.domain, e.namespace, e.name, e.location, e.text,"
            " e.show, t.* FROM entry e JOIN entry_text t ON t.rowid = e.id ORDER BY e.key"
        ).fetchall()
        claims = db.execute("SELECT * FROM attribution ORDER BY 1, 2, 3, 4").fetchall()
        (offset,) = db.execute("SELECT offset FROM state").fetchone()
    return [*rows, *claims, ("offset", offset)]


def test_replay_rebuilds_the_same_index(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TestClient(create_app(Settings(data_dir=data, demo=True))) as c:
        _post_lineage(c)
        assert c.post("/api/v1/products/customer-consent/deprecation",
                      json={"status": "retired"}).is_success
        head = c.get("/health").json()["offsets"]["log"]
    live = _dump(data)
    assert live[-1] == ("offset", head)
    assert len(live) > 400
    replay = dpgraph("replay", "--data-dir", data)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert _dump(data) == live
    (data / "search.sqlite").unlink()  # lost or from an older version: rebuilt on start
    for suffix in ("-wal", "-shm"):
        (data / f"search.sqlite{suffix}").unlink(missing_ok=True)
    rt = open_runtime(Settings(data_dir=data))
    rt.close()
    assert _dump(data) == live


def test_a_record_logged_but_not_indexed_is_indexed_on_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    rt = open_runtime(settings)
    try:
        doc = ProductDescriptor.model_validate(example_product("customer-consent") | {
            "description": "Written right before a crash, projected on the next start."}
        ).model_dump(mode="json", exclude_none=True)
        # committed to the log, never handed to the projection: a crash right after the commit
        rt.log.append([NewRecord(PRODUCT_REGISTERED, "customer-consent", {"descriptor": doc})])
        assert rt.search_index.offset < rt.log.head()
    finally:
        rt.close()
    rt = open_runtime(settings)
    try:
        assert rt.search_index.offset == rt.log.head()
        body = rt.search.search(parse_request("crash", None, None, 10, 0))
        assert [h["id"] for h in body["hits"]] == ["customer-consent"]
    finally:
        rt.close()


def test_the_example_catalog_is_indexed_whole(mesh: TestClient) -> None:
    catalog = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text(encoding="utf-8"))
    for term in catalog["glossary"]:
        hits = search(mesh, q=term["label"], type="term")["hits"]
        assert term["id"] in [h["id"] for h in hits[:3]], term["id"]
