"""Join keys and join paths on the demo mesh: declared keys, inferred candidates with their
evidence (identifier terms, SQL of ingested jobs, column lineage), decisions that survive a
restart, ranked multi-hop paths naming the physical columns, the HTTP answers and the CLI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from conftest import EXAMPLES, read_yaml
from procs import Server, dpgraph, wait_projected
from pyoxigraph import Literal

from dpgraph import vocab as v
from dpgraph.joins.model import pair_id, parse_pair_id
from dpgraph.joins.sql import TableColumn, join_conditions, table_matches
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

PRODUCER = "https://github.com/example/dpgraph-tests"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
DUCKDB = "duckdb://mesh.duckdb"
PG_LOGISTICS = "postgres://pg-logistics.mesh.internal:5432"
PG_FINANCE = "postgres://pg-finance.mesh.internal:5432"

SHIPMENTS_TO_CUSTOMERS_SQL = """SELECT *
FROM delta_scan('s3://mesh-logistics-gold/shipments') AS t0
JOIN delta_scan('s3://mesh-sales-gold/sales_orders') AS t1
  ON t0.order_id = t1.order_id
JOIN delta_scan('s3://mesh-customer-gold/customer_profile') AS t2
  ON t1.cust_id = t2.customer_id"""


# ---------------------------------------------------------------- events
def sql_event(job: str, query: str, inputs: list[tuple[str, str]],
              run: str | None = None) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE", "eventTime": "2026-03-01T10:00:00Z", "producer": PRODUCER,
        "schemaURL": SPEC, "run": {"runId": run or str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "mesh-jobs", "name": job, "facets": {"sql": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json"
                          "#/$defs/SQLJobFacet",
            "query": query, "dialect": "duckdb"}}},
        "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
        "outputs": [{"namespace": DUCKDB, "name": f"mesh.main.{job}"}],
    }


def carried_event() -> dict[str, Any]:
    """Invoices' customer_id copied unchanged from the orders table (column lineage)."""
    facet = {"_producer": PRODUCER,
             "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/"
                           "ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
             "fields": {"customer_id": {"inputFields": [{
                 "namespace": DUCKDB, "name": "mesh.main.sales_orders", "field": "customer_id",
                 "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}}}
    return {
        "eventType": "COMPLETE", "eventTime": "2026-03-01T11:00:00Z", "producer": PRODUCER,
        "schemaURL": SPEC, "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "spark://finance-cluster", "name": "orders_to_invoices",
                "facets": {}},
        "inputs": [{"namespace": DUCKDB, "name": "mesh.main.sales_orders"}],
        "outputs": [{"namespace": PG_FINANCE, "name": "finance.gold.invoices",
                     "facets": {"columnLineage": facet}}],
    }


WAREHOUSE_SQL = ("SELECT s.shipment_id, i.on_hand_qty FROM logistics.gold.shipments s "
                 "JOIN main.logistics_inventory_levels AS i ON s.warehouse_id = i.warehouse_id")
CHANNEL_SQL = ("WITH o AS (SELECT sales_channel AS channel, net_amount FROM main.sales_orders) "
               "SELECT r.accounting_date, sum(o.net_amount) FROM o "
               "JOIN main.finance_revenue_daily r ON o.channel = r.sales_channel GROUP BY 1")


def ingest(rt: Runtime, event: dict[str, Any]) -> None:
    rt.lineage.receive(json.dumps(event).encode())


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def joins(demo_runtime: Runtime):  # type: ignore[no-untyped-def]
    assert demo_runtime.joins is not None
    return demo_runtime.joins


def demo_declared() -> set[str]:
    out = set()
    for path in (EXAMPLES / "products").glob("*.yaml"):
        d = read_yaml(path)
        for k in d.get("joinKeys", []):
            out.add(f"{d['id']}:{k['element']}>{k['references']['product']}:"
                    f"{k['references']['element']}")
    return out


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


# ---------------------------------------------------------------- SQL parsing (pure)
def test_join_conditions_resolve_aliases_ctes_and_using() -> None:
    query = """WITH o AS (SELECT order_id AS oid, cust_id FROM mesh.main.sales_orders)
        SELECT * FROM o JOIN customer.gold.customer_profile c ON o.cust_id = c.cust_id
        JOIN finance.gold.invoices i ON i.order_id = o.oid
        JOIN main.lines USING (order_id), main.x x WHERE x.a = c.cust_id AND x.b = 1"""
    found = {(c.left, c.right, c.condition) for c in join_conditions(query, "duckdb")}
    orders = ("mesh", "main", "sales_orders")
    profile = ("customer", "gold", "customer_profile")
    assert found == {
        (TableColumn(orders, "cust_id"), TableColumn(profile, "cust_id"), "o.cust_id = c.cust_id"),
        (TableColumn(("finance", "gold", "invoices"), "order_id"), TableColumn(orders, "order_id"),
         "i.order_id = o.oid"),
        (TableColumn(("main", "x"), "a"), TableColumn(profile, "cust_id"), "x.a = c.cust_id"),
    }  # USING(order_id) is not resolved: the CTE o does not project order_id


def test_join_conditions_skip_guesses_and_garbage() -> None:
    assert join_conditions("SELECT * FROM a JOIN b ON id = other_id") == ()  # unqualified
    assert join_conditions("SELECT * FROM a JOIN b ON a.x + 1 = b.y") == ()  # computed
    assert join_conditions("this is not ( sql") == ()
    assert join_conditions("SELECT * FROM a x JOIN a y ON x.id = y.parent") == ()  # self join


def test_table_names_match_dataset_names_by_their_last_parts() -> None:
    assert table_matches(("main", "sales_orders"), "mesh.main.sales_orders")
    assert table_matches(("SALES_ORDERS",), "mesh.main.sales_orders")
    assert not table_matches(("other", "sales_orders"), "mesh.main.sales_orders")
    assert not table_matches(("a", "mesh", "main", "sales_orders"), "mesh.main.sales_orders")


def test_pair_ids_are_sorted_and_read_back() -> None:
    a, b = parse_pair_id("sales-orders:customer_id~customer-profile:customer_id")
    assert pair_id(a, b) == "customer-profile:customer_id~sales-orders:customer_id"
    with pytest.raises(ValueError):
        parse_pair_id("sales-orders.customer_id")


# ---------------------------------------------------------------- declared and candidates
def test_declared_keys_are_the_demo_registrations(joins) -> None:  # type: ignore[no-untyped-def]
    listed = joins.list(None, "declared", 1000, 0)["joinKeys"]
    got = {f"{k['from']['product']}:{k['from']['element']}>{k['to']['product']}:"
           f"{k['to']['element']}" for k in listed}
    assert got == demo_declared()
    assert {k["confidence"] for k in listed} == {1.0}
    assert all(k["evidence"][0]["kind"] == "registration" for k in listed)


def test_identifier_terms_give_candidates_with_their_evidence(joins) -> None:  # type: ignore[no-untyped-def]
    items = joins.list("customer-consent", "candidate", 1000, 0)["joinKeys"]
    by_id = {i["id"]: i for i in items}
    # customer-identifier is a master identifier: every other product carrying it, except
    # customer-profile, which customer-consent already declares a key to.
    assert set(by_id) == {
        "customer-consent:customer_id~finance-invoices:customer_id",
        "customer-consent:customer_id~marketing-campaign-responses:customer_id",
        "customer-consent:customer_id~sales-orders:customer_id",
    }
    c = by_id["customer-consent:customer_id~sales-orders:customer_id"]
    assert (c["status"], c["kind"], c["confidence"]) == ("candidate", "master-identifier", 0.8)
    assert c["evidence"] == [{"kind": "shared-term", "confidence": 0.8,
                              "term": "customer-identifier",
                              "identifierRole": "master-identifier"}]
    # a local identifier term gives a weaker candidate; a term without a role gives none
    warehouse = joins.list("logistics-shipments", "candidate", 1000, 0)["joinKeys"]
    assert {(i["id"], i["confidence"], i["kind"]) for i in warehouse
            if "warehouse_id" in i["id"]} == {
        ("logistics-inventory-levels:warehouse_id~logistics-shipments:warehouse_id", 0.5,
         "foreign-key")}
    assert not [i for i in warehouse if "country" in i["id"]]


def test_sql_of_an_ingested_job_gives_candidates(demo_runtime: Runtime, joins) -> None:  # type: ignore[no-untyped-def]
    before = joins.paths("finance-revenue-daily", "sales-orders", 4, 5)
    assert before["paths"] == []
    assert before["reason"] == ("product 'finance-revenue-daily' has no declared join key, no "
                                "join-key candidate and no element with an identifier term")
    run = str(uuid.uuid4())
    ingest(demo_runtime, sql_event("warehouse_stock", WAREHOUSE_SQL, [
        (PG_LOGISTICS, "logistics.gold.shipments"),
        (DUCKDB, "mesh.main.logistics_inventory_levels")], run))
    ingest(demo_runtime, sql_event("channel_revenue", CHANNEL_SQL, [
        (DUCKDB, "mesh.main.sales_orders"), (DUCKDB, "mesh.main.finance_revenue_daily")]))

    items = {i["id"]: i for i in joins.list(None, "candidate", 1000, 0)["joinKeys"]}
    wh = items["logistics-inventory-levels:warehouse_id~logistics-shipments:warehouse_id"]
    assert wh["confidence"] == 0.85  # 1 - (1 - 0.5)(1 - 0.7): identifier term and one job
    term, sql = wh["evidence"]
    assert term["kind"] == "shared-term"
    assert sql == {"kind": "sql-join", "confidence": 0.7,
                   "job": {"namespace": "mesh-jobs", "name": "warehouse_stock"},
                   "condition": "s.warehouse_id = i.warehouse_id",
                   "tables": ["main.logistics_inventory_levels", "logistics.gold.shipments"],
                   "sql": WAREHOUSE_SQL, "runs": [run], "runCount": 1}
    ch = items["finance-revenue-daily:sales_channel~sales-orders:sales_channel"]
    assert (ch["confidence"], [e["kind"] for e in ch["evidence"]]) == (0.7, ["sql-join"])
    assert ch["evidence"][0]["condition"] == "o.channel = r.sales_channel"  # through the CTE

    after = joins.paths("finance-revenue-daily", "sales-orders", 4, 5)
    step = after["paths"][0]["steps"][0]
    assert (step["from"]["column"], step["to"]["column"], step["status"]) == (
        "sales_channel", "channel", "candidate")  # revenue-daily-duckdb, sales-orders-delta


def test_key_columns_carried_by_column_lineage(demo_runtime: Runtime, joins) -> None:  # type: ignore[no-untyped-def]
    ingest(demo_runtime, carried_event())
    items = {i["id"]: i for i in joins.list("finance-invoices", "candidate", 1000, 0)["joinKeys"]}
    c = items["finance-invoices:customer_id~sales-orders:customer_id"]
    assert c["confidence"] == 0.95  # 1 - (1 - 0.8)(1 - 0.75)
    carried = c["evidence"][1]
    assert (carried["kind"], carried["transformation"], carried["output"], carried["input"]) == (
        "column-lineage", "DIRECT/IDENTITY",
        {"dataset": f"{PG_FINANCE}/finance.gold.invoices", "field": "customer_id"},
        {"dataset": f"{DUCKDB}/mesh.main.sales_orders", "field": "customer_id"})


# ---------------------------------------------------------------- paths
def test_two_hop_path_through_an_intermediate_product(joins) -> None:  # type: ignore[no-untyped-def]
    result = joins.paths("logistics-shipments", "customer-profile", 4, 5)
    assert result["reason"] is None
    best = result["paths"][0]
    assert (best["rank"], best["hops"], best["confidence"], best["products"]) == (
        1, 2, 1.0, ["logistics-shipments", "sales-orders", "customer-profile"])
    assert [(s["from"], s["to"], s["kind"], s["status"]) for s in best["steps"]] == [
        ({"product": "logistics-shipments", "element": "order_id", "term": "order-identifier",
          "representation": "shipments-delta", "location": "s3://mesh-logistics-gold/shipments",
          "storageLayer": "gold", "column": "order_id"},
         {"product": "sales-orders", "element": "order_id", "term": "order-identifier",
          "representation": "sales-orders-delta", "location": "s3://mesh-sales-gold/sales_orders",
          "storageLayer": "gold", "column": "order_id"}, "foreign-key", "declared"),
        ({"product": "sales-orders", "element": "customer_id", "term": "customer-identifier",
          "representation": "sales-orders-delta", "location": "s3://mesh-sales-gold/sales_orders",
          "storageLayer": "gold", "column": "cust_id"},
         {"product": "customer-profile", "element": "customer_id", "term": "customer-identifier",
          "representation": "customer-profile-delta",
          "location": "s3://mesh-customer-gold/customer_profile", "storageLayer": "gold",
          "column": "customer_id"}, "foreign-key", "declared"),
    ]
    assert best["sql"] == SHIPMENTS_TO_CUSTOMERS_SQL
    sqlglot.parse_one(best["sql"], read="duckdb")  # the example is valid SQL
    # every other path is longer or less certain, and ranked so
    ranks = [(p["hops"], -p["confidence"]) for p in result["paths"]]
    assert ranks == sorted(ranks) and len(result["paths"]) > 1
    assert all(p["hops"] <= 4 for p in result["paths"])


def test_term_hub_gives_a_one_hop_candidate_path(joins) -> None:  # type: ignore[no-untyped-def]
    best = joins.paths("logistics-inventory-levels", "sales-order-lines", 4, 3)["paths"][0]
    assert (best["hops"], best["confidence"], best["inferredSteps"]) == (1, 0.8, 1)
    step = best["steps"][0]
    assert (step["from"]["column"], step["to"]["column"], step["joinKeyId"]) == (
        "product_sku", "sku",  # inventory-duckdb (a table before files), sales-order-lines-delta
        "logistics-inventory-levels:product_sku~sales-order-lines:product_sku")


def test_no_path_within_the_hop_limit_is_an_empty_list_with_a_reason(joins) -> None:  # type: ignore[no-untyped-def]
    result = joins.paths("logistics-shipments", "customer-profile", 1, 5)
    assert result["paths"] == []
    assert result["reason"] == ("no join path of at most 1 hop(s) links 'logistics-shipments' "
                                "to 'customer-profile'")


# ---------------------------------------------------------------- HTTP
def test_http_errors_name_the_field(demo_client) -> None:  # type: ignore[no-untyped-def]
    r = demo_client.get("/api/v1/join-paths", params={"from": "nope", "to": "sales-orders"})
    assert r.status_code == 404 and "'nope'" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "from"
    r = demo_client.get("/api/v1/join-paths", params={"from": "sales-orders", "to": "sales-orders"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "to"
    r = demo_client.get("/api/v1/join-paths",
                        params={"from": "sales-orders", "to": "customer-profile", "max_hops": 9})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "query.max_hops"
    r = demo_client.get("/api/v1/join-keys", params={"product": "nope"})
    assert r.status_code == 404
    r = demo_client.get("/api/v1/join-keys", params={"status": "maybe"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "query.status"
    r = demo_client.post("/api/v1/join-keys/candidates/not-an-id/confirm")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "id"
    r = demo_client.post("/api/v1/join-keys/candidates/"
                         "customer-profile:given_name~sales-orders:net_amount/confirm")
    assert r.status_code == 404 and "not a join-key candidate" in r.json()["detail"]
    r = demo_client.post("/api/v1/join-keys/candidates/"
                         "customer-profile:customer_id~sales-orders:customer_id/reject")
    assert r.status_code == 409  # declared by sales-orders' registration
    head = demo_client.get("/health").json()["offsets"]["log"]
    assert demo_client.get("/health").json()["offsets"]["log"] == head  # refusals wrote nothing


# ---------------------------------------------------------------- decisions, durable
CONFIRM = "finance-invoices:customer_id~sales-orders:customer_id"
REJECT = "customer-consent:customer_id~sales-orders:customer_id"


def test_confirm_and_reject_survive_restart_and_replay(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", tmp_path)
    server.start(demo=True)
    try:
        r = server.post(f"/api/v1/join-keys/candidates/{CONFIRM}/confirm",
                        json={"by": "anna-de-vries", "reason": "same CRM number",
                              "from": "finance-invoices"})
        assert r.status_code == 200, r.text
        confirmed = r.json()
        assert (confirmed["status"], confirmed["confidence"], confirmed["kind"]) == (
            "declared", 1.0, "master-identifier")
        assert confirmed["from"] == {"product": "finance-invoices", "element": "customer_id"}
        assert confirmed["decision"]["by"] == "anna-de-vries"
        r = server.post(f"/api/v1/join-keys/candidates/{REJECT}/reject",
                        json={"reason": "consents are not per order"})
        assert r.status_code == 200 and r.json()["status"] == "rejected"
        again = server.post(f"/api/v1/join-keys/candidates/{REJECT}/reject")
        assert again.json()["unchanged"] is True

        def state() -> tuple[set[str], set[str], set[str]]:
            get = lambda s: ids(server.get("/api/v1/join-keys", params={  # noqa: E731
                "status": s, "limit": 1000}).json()["joinKeys"])
            return get("declared"), get("candidate"), get("rejected")

        declared, candidates, rejected = state()
        assert CONFIRM in declared and CONFIRM not in candidates
        assert rejected == {REJECT} and REJECT not in candidates
        paths = server.get("/api/v1/join-paths", params={
            "from": "customer-consent", "to": "sales-orders", "max_hops": 1}).json()
        assert paths["paths"] == []  # the rejected pair is not a path either
        server.stop()

        server.start()  # no --demo: everything comes back from the log
        assert state() == (declared, candidates, rejected)
        out = dpgraph("join-path", "logistics-shipments", "customer-profile", "--limit", "1",
                      "--sql", "--server", server.url)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == [
            "#1 2 hop(s), confidence 1.0: logistics-shipments -> sales-orders -> "
            "customer-profile",
            "  logistics-shipments.order_id [shipments-delta.order_id] = sales-orders.order_id "
            "[sales-orders-delta.order_id]  (declared foreign-key, 1.0)",
            "  sales-orders.customer_id [sales-orders-delta.cust_id] = "
            "customer-profile.customer_id [customer-profile-delta.customer_id]  "
            "(declared foreign-key, 1.0)",
            *("  " + line for line in SHIPMENTS_TO_CUSTOMERS_SQL.splitlines()),
        ]
        missing = dpgraph("join-path", "nope", "sales-orders", "--server", server.url)
        assert missing.returncode == 1 and "'nope'" in missing.stderr
        wait_projected(server)
        server.stop()
    finally:
        server.kill()

    replay = dpgraph("replay", "--data-dir", tmp_path / "data")
    assert replay.returncode == 0, replay.stderr
    rt = open_runtime(Settings(data_dir=tmp_path / "data"))
    try:
        rows = list(rt.store.select(v.sparql_prefixes() + """
            SELECT ?from ?to ?by ?kind WHERE {
                ?k a dpg:JoinKey ; dpg:fromElement ?from ; dpg:toElement ?to ;
                   dpg:confirmedBy ?by ; dpg:joinKind ?kind }"""))
        assert [(r["from"].value, r["to"].value, r["by"], r["kind"]) for r in rows] == [(
            "https://w3id.org/dpgraph/id/product/finance-invoices/element/customer_id",
            "https://w3id.org/dpgraph/id/product/sales-orders/element/customer_id",
            Literal("anna-de-vries"), v.JOIN_KINDS["master-identifier"])]
        assert rt.joins is not None
        assert ids(rt.joins.list(None, "rejected", 10, 0)["joinKeys"]) == {REJECT}
    finally:
        rt.close()
