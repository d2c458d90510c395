"""Scenario: the served demo mesh with all its recorded lineage (hand-written events plus the
real dbt-ol run of examples/dbt/demo), through the HTTP API. Every expectation is derived by
hand from examples/ (products, catalog, lineage README files), not captured from the output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dpgraph.api.app import create_app
from dpgraph.settings import Settings

DBT = "job:mesh-dbt:mesh.main.mesh."
DUCKDB = "dataset:duckdb://mesh.duckdb:mesh.main."


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("demo")
    with TestClient(create_app(Settings(data_dir=data, demo=True))) as client:
        yield client


def test_product_edges(api: TestClient) -> None:
    def edges(pid: str, direction: str) -> list[tuple[str, str, bool]]:
        r = api.get(f"/api/v1/products/{pid}/lineage", params={"direction": direction})
        assert r.status_code == 200, r.text
        return [(e["from"], e["to"], e["crossesDomain"]) for e in r.json()["edges"]]

    # dbt: logistics_inventory_levels reads sales-order-lines' bronze raw_webshop_order_lines
    assert edges("sales-order-lines", "downstream") == [
        ("sales-order-lines", "logistics-inventory-levels", True)]
    # hand-written: finance_revenue_daily reads marketing's responses (run 5, 6) and sales
    # orders; dbt: finance_revenue_daily reads the gold sales_orders table
    assert sorted(edges("finance-revenue-daily", "upstream")) == [
        ("marketing-campaign-responses", "finance-revenue-daily", True),
        ("sales-orders", "finance-revenue-daily", True)]
    matrix = api.get("/api/v1/domains/dependencies").json()["matrix"]
    assert matrix == {"finance": {"marketing": 1, "sales": 1}, "logistics": {"sales": 2},
                      "marketing": {"customer": 1}, "sales": {"sales": 1}}


def test_findings(api: TestClient) -> None:
    found = {(f["kind"], f["subject"], f["product"])
             for f in api.get("/api/v1/findings").json()["findings"]}
    assert found == {
        # a finance job reads marketing's bronze webhooks (hand-written events 07, 08)
        ("cross-domain-raw-read", "job:mesh-dbt:mesh.finance_revenue_daily",
         "finance-revenue-daily"),
        # the dbt model of logistics reads sales-order-lines' bronze table
        ("cross-domain-raw-read", DBT + "logistics_inventory_levels.build.run",
         "logistics-inventory-levels"),
        # finance's revenue comes from marketing-automation's landing, not its golden source
        ("golden-source-bypass", "product:finance-revenue-daily", "finance-revenue-daily"),
        # read or written by jobs, registered by no product: the dbt sources and staging views,
        # the CRM and webshop extracts, and the exported CSV (no product, so no owner)
        ("ownerless-dataset", DUCKDB + "raw_webshop_orders", "sales-orders"),
        ("ownerless-dataset", DUCKDB + "raw_wms_stock", "logistics-inventory-levels"),
        ("ownerless-dataset", DUCKDB + "stg_webshop_order_lines", "sales-order-lines"),
        ("ownerless-dataset", DUCKDB + "stg_webshop_orders", "sales-orders"),
        ("ownerless-dataset", DUCKDB + "stg_wms_stock", "logistics-inventory-levels"),
        ("ownerless-dataset", "dataset:file:/exports/campaign_contacts.csv", None),
        ("ownerless-dataset", "dataset:s3://mesh-customer-bronze:crm_contacts",
         "customer-profile"),
        ("ownerless-dataset", "dataset:s3://mesh-sales-bronze:webshop_orders", "sales-orders"),
        # dbt: sales_order_lines drops discount_amount, finance_revenue_daily retypes
        # order_count; hand-written events report partial schemas of the two delta tables
        ("schema-drift", "representation:sales-order-lines/sales-order-lines-duckdb",
         "sales-order-lines"),
        ("schema-drift", "representation:finance-revenue-daily/revenue-daily-duckdb",
         "finance-revenue-daily"),
        ("schema-drift", "representation:customer-profile/customer-profile-delta",
         "customer-profile"),
        ("schema-drift", "representation:marketing-campaign-responses/responses-delta",
         "marketing-campaign-responses"),
    }


def test_drift_of_the_dbt_gold_tables(api: TestClient) -> None:
    def changes(pid: str) -> list[tuple[str, str, str | None, str | None, str]]:
        body = api.get(f"/api/v1/products/{pid}/drift").json()
        return [(c["change"], c["column"], c["registeredType"], c["observedType"],
                 c["run"]["job"]["name"])
                for rep in body["representations"] for c in rep["changes"]]

    assert changes("sales-order-lines") == [
        ("removed", "discount_amount", "DECIMAL(18,2)", None,
         "mesh.main.mesh.sales_order_lines.build.run")]
    assert changes("finance-revenue-daily") == [
        ("type-changed", "order_count", "INTEGER", "BIGINT",
         "mesh.main.mesh.finance_revenue_daily.build.run")]
    # the dbt model writes exactly the registered columns: the newer schema wins
    assert changes("sales-orders") == []


def test_pii_propagates_into_the_export(api: TestClient) -> None:
    # customer-profile.email_address (pii) -> campaign_responses.contact_email (IDENTITY,
    # event 04) -> the exported CSV's email (IDENTITY, event 05)
    r = api.get("/api/v1/classifications",
                params={"namespace": "file", "name": "/exports/campaign_contacts.csv"})
    assert r.status_code == 200, r.text
    (field,) = r.json()["fields"]
    assert field["field"] == "email"
    (label,) = field["labels"]
    assert label["label"] == "pii"
    assert label["path"]["source"]["element"] == "email_address"
    assert [(h["to"]["field"], h["transformation"]) for h in label["path"]["hops"]] == [
        ("contact_email", "DIRECT/IDENTITY"), ("email", "DIRECT/IDENTITY")]


def test_join_path_between_domains(api: TestClient) -> None:
    # logistics-shipments declares order_id -> sales-orders.order_id; sales-orders declares
    # customer_id -> customer-profile.customer_id: two declared hops
    r = api.get("/api/v1/join-paths", params={"from": "logistics-shipments",
                                              "to": "customer-profile", "max_hops": 2})
    assert r.status_code == 200, r.text
    best = r.json()["paths"][0]
    assert best["products"] == ["logistics-shipments", "sales-orders", "customer-profile"]
    assert [(s["from"]["element"], s["to"]["element"], s["status"]) for s in best["steps"]] \
        == [("order_id", "order_id", "declared"), ("customer_id", "customer_id", "declared")]


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "openlineage" / "valid"


def test_corpus_events_leave_the_demo_answers_unchanged(tmp_path: Path) -> None:
    """Spark, dbt, Airflow and Marquez events of other systems posted into the demo: they
    add ownerless datasets of their own, and change no product edge, drift or other finding."""
    def answers(client: TestClient) -> tuple[object, ...]:
        findings = client.get("/api/v1/findings").json()["findings"]
        return (client.get("/api/v1/domains/dependencies").json()["matrix"],
                [client.get(f"/api/v1/products/{p}/drift").json()
                 for p in ("sales-order-lines", "finance-revenue-daily")],
                sorted((f["kind"], f["subject"]) for f in findings
                       if f["kind"] != "ownerless-dataset"),
                {f["subject"] for f in findings if f["kind"] == "ownerless-dataset"})

    events = sorted(CORPUS.rglob("*.json"))
    assert len(events) > 50
    with TestClient(create_app(Settings(data_dir=tmp_path, demo=True))) as client:
        matrix, drift, others, ownerless = answers(client)
        for path in events:
            r = client.post("/api/v1/lineage", content=path.read_bytes(),
                            headers={"content-type": "application/json"})
            assert r.status_code in (200, 201), (path.name, r.text)
        after = answers(client)
    assert after[:3] == (matrix, drift, others)
    assert after[3] > ownerless  # a strict superset: the corpus's own datasets
    assert not any("mesh" in s for s in after[3] - ownerless)
