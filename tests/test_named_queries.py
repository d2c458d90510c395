"""Named governance queries on the demo mesh plus the lineage events of examples/lineage.

Every expected row below is written by hand from the data (examples/products/*.yaml,
examples/catalog.yaml, examples/lineage/*.json and the one catalog change of mesh_fixture),
never captured from a query's own output; the comment on each says where it comes from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from fastapi.testclient import TestClient
from mesh_fixture import NOW, open_mesh
from procs import Server, dpgraph

from dpgraph.api.app import create_app
from dpgraph.errors import InvalidInput, NotFound, StoreUnavailable
from dpgraph.runtime import Runtime
from dpgraph.services.named_queries import NamedQueries, QueryFileError, load_all, load_query
from dpgraph.settings import Settings

QUERIES = EXAMPLES.parent / "queries"
CUSTOMER_GOLD = "s3://mesh-customer-gold:customer_profile"
RESPONSES = "s3://mesh-marketing-gold:campaign_responses"
EXPORT = "file:/exports/campaign_contacts.csv"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = open_mesh(tmp_path_factory.mktemp("mesh") / "data")
    yield rt
    rt.close()


def run(mesh: Runtime, query: str, **params: object) -> list[list[Any]]:
    assert mesh.queries is not None
    return mesh.queries.run(query, params).rows


# ------------------------------------------------------------------ the files
def test_at_least_twelve_queries_each_in_both_languages_with_one_header() -> None:
    queries = load_all(QUERIES)
    assert len(queries) >= 12
    for q in queries.values():
        assert set(q.texts) == {"sparql", "cypher"}, q.name
        assert q.header.title and q.header.description and q.header.columns, q.name
        assert "ORDER BY" in q.texts["cypher"], f"{q.name}.cypher must order its rows"


def test_time_relative_queries_take_now() -> None:
    for name in ("inactive_owner_or_expired_contract", "stale_products",
                 "failed_runs_by_domain"):
        params = {p.name: p for p in load_query(QUERIES, name).header.params}
        assert params["now"].type == "datetime" and params["now"].default == "now"


def _write(directory: Path, name: str, rq: str, cypher: str) -> None:
    (directory / f"{name}.rq").write_text(rq, encoding="utf-8")
    (directory / f"{name}.cypher").write_text(cypher, encoding="utf-8")


def test_a_file_pair_with_different_headers_or_undeclared_parameters_is_refused(
        tmp_path: Path) -> None:
    _write(tmp_path, "a", "# title: A\n# columns: x\nSELECT ?x {}\n",
           "// title: B\n// columns: x\nRETURN 1 AS x ORDER BY x\n")
    with pytest.raises(QueryFileError, match="headers"):
        load_query(tmp_path, "a")
    _write(tmp_path, "b", "# title: B\n# columns: x\nSELECT ?x { BIND($who AS ?x) }\n",
           "// title: B\n// columns: x\nRETURN $who AS x ORDER BY x\n")
    with pytest.raises(QueryFileError, match="undeclared"):
        load_query(tmp_path, "b")
    _write(tmp_path, "c", "# title: C\n# param: n (number) x\n# columns: x\nSELECT ?x {}\n",
           "// title: C\n// param: n (number) x\n// columns: x\nRETURN 1 AS x ORDER BY x\n")
    with pytest.raises(QueryFileError, match="param"):
        load_query(tmp_path, "c")


# ------------------------------------------------------------------ expected rows (SPARQL)
def test_inactive_owner_or_expired_contract(mesh: Runtime) -> None:
    # customer-consent is owned by anna-de-vries, marked inactive by the fixture's catalog
    # change; product-catalog's contract is validUntil 2025-06-30 (product-catalog.yaml).
    assert run(mesh, "inactive_owner_or_expired_contract", now=NOW) == [
        ["customer-consent", "inactive-owner", "anna-de-vries", "2027-12-31"],
        ["product-catalog", "expired-contract", "team-sales-commerce", "2025-06-30"],
    ]
    # validUntil is the last valid day: not expired on it, expired the day after.
    on_last_day = run(mesh, "inactive_owner_or_expired_contract", now="2025-06-30T23:00:00Z")
    assert [r[:2] for r in on_last_day] == [["customer-consent", "inactive-owner"]]
    day_after = run(mesh, "inactive_owner_or_expired_contract", now="2025-07-01T00:00:00+00:00")
    assert ["product-catalog", "expired-contract"] in [r[:2] for r in day_after]


def test_products_by_domain(mesh: Runtime) -> None:
    rows = run(mesh, "products_by_domain")
    assert len(rows) == 10  # ten files in examples/products
    # sales-orders.yaml: domain sales, owner team-sales-commerce, lifecycleStatus active;
    # logistics-inventory-levels.yaml is the only draft.
    assert ["sales", "sales-orders", "Sales Orders", "team-sales-commerce", "active"] in rows
    assert ["logistics", "logistics-inventory-levels", "Daily Inventory Levels",
            "team-logistics-ops", "draft"] in rows
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_pii_flow(mesh: Runtime) -> None:
    # The pii elements of customer-profile.yaml (6) and logistics-shipments.yaml (1). Event 02
    # writes customer_profile (the customer-profile-delta location) with an email_address
    # field; event 04 derives campaign_responses.contact_email from it (marketing's delta);
    # event 05 derives the shadow export's email from contact_email.
    assert run(mesh, "pii_flow") == [
        ["customer-profile/date_of_birth", None, None, None],
        ["customer-profile/email_address", EXPORT, "email", None],
        ["customer-profile/email_address", RESPONSES, "contact_email",
         "marketing-campaign-responses"],
        ["customer-profile/family_name", None, None, None],
        ["customer-profile/given_name", None, None, None],
        ["customer-profile/phone_number", None, None, None],
        ["customer-profile/postal_code", None, None, None],
        ["logistics-shipments/destination_postal_code", None, None, None],
    ]


def test_upstream_lineage_of_a_product(mesh: Runtime) -> None:
    # Event 04: campaign_responses derives response_id from automation_webhooks.eventId
    # (marketing's own bronze), customer_id and contact_email from customer_profile; event 02:
    # those come from crm_contacts.contact_id and .email (two derivations away, no product).
    assert run(mesh, "upstream_lineage", product="marketing-campaign-responses") == [
        ["s3://mesh-customer-bronze:crm_contacts", "contact_id", None],
        ["s3://mesh-customer-bronze:crm_contacts", "email", None],
        [CUSTOMER_GOLD, "customer_id", "customer-profile"],
        [CUSTOMER_GOLD, "email_address", "customer-profile"],
        ["s3://mesh-marketing-bronze:automation_webhooks", "eventId",
         "marketing-campaign-responses"],
    ]
    assert run(mesh, "upstream_lineage", product="no-such-product") == []


def test_downstream_impact_of_a_dataset_and_of_a_column(mesh: Runtime) -> None:
    ns, name = "s3://mesh-customer-gold", "customer_profile"
    # Events 04 and 05: customer_id and email_address feed campaign_responses, whose
    # contact_email feeds the export.
    assert run(mesh, "downstream_impact", namespace=ns, name=name) == [
        [EXPORT, "email", None],
        [RESPONSES, "contact_email", "marketing-campaign-responses"],
        [RESPONSES, "customer_id", "marketing-campaign-responses"],
    ]
    assert run(mesh, "downstream_impact", namespace=ns, name=name, field="email_address") == [
        [EXPORT, "email", None],
        [RESPONSES, "contact_email", "marketing-campaign-responses"],
    ]


def test_shadow_datasets(mesh: Runtime) -> None:
    # Datasets of the events whose location is no representation's: the CRM extract (02),
    # the webshop extract (03) and the ad-hoc export (05).
    assert run(mesh, "shadow_datasets") == [
        [EXPORT, "file", "/exports/campaign_contacts.csv"],
        ["s3://mesh-customer-bronze:crm_contacts", "s3://mesh-customer-bronze", "crm_contacts"],
        ["s3://mesh-sales-bronze:webshop_orders", "s3://mesh-sales-bronze", "webshop_orders"],
    ]
    assert len(run(mesh, "shadow_datasets", limit=1)) == 1


def test_cross_domain_raw_reads(mesh: Runtime) -> None:
    # Event 08: mesh.finance_revenue_daily (declared by finance-revenue-daily) reads
    # automation_webhooks, the bronze responses-raw-webhooks of marketing-campaign-responses.
    # Event 04 reads it too, but from the marketing domain itself.
    assert run(mesh, "cross_domain_raw_reads") == [
        ["finance-revenue-daily", "finance", "marketing-campaign-responses", "marketing",
         "s3://mesh-marketing-bronze:automation_webhooks"],
    ]


def test_golden_source_bypass(mesh: Runtime) -> None:
    # examples/catalog.yaml: marketing-automation lands its data in s3://mesh-marketing-bronze.
    # Event 08: mesh.finance_revenue_daily (finance-revenue-daily, golden source
    # sap-erp-finance) reads automation_webhooks there. marketing-campaign-responses reads it
    # too (04), but marketing-automation is its own golden source; customer-profile and
    # sales-orders read the bronze namespaces of their own golden sources (01-03).
    assert run(mesh, "golden_source_bypass") == [
        ["finance-revenue-daily", "sap-erp-finance", "marketing-automation",
         "mesh-dbt:mesh.finance_revenue_daily", "s3://mesh-marketing-bronze:automation_webhooks"],
    ]


def test_cross_domain_dependencies(mesh: Runtime) -> None:
    # finance-revenue-daily reads marketing's webhooks (08) and sales-orders' duckdb table
    # (06, 08); logistics-shipments reads sales_orders (09-12); marketing reads
    # customer_profile (04). sales-order-lines reads sales_orders too, within sales.
    assert run(mesh, "cross_domain_dependencies") == [
        ["finance", "marketing", 1],
        ["finance", "sales", 1],
        ["logistics", "sales", 1],
        ["marketing", "customer", 1],
    ]


def test_products_without_quality_rules(mesh: Runtime) -> None:
    # marketing-campaign-responses.yaml is the only product without qualityRules.
    assert run(mesh, "products_without_quality_rules") == [
        ["marketing-campaign-responses", "marketing", "team-marketing-insights"]]


def test_join_keys_between_two_products(mesh: Runtime) -> None:
    # sales-orders.yaml: customer_id -> customer-profile.customer_id, foreign-key.
    expected = [["sales-orders", "customer_id", "customer-profile", "customer_id",
                 "foreign-key"]]
    assert run(mesh, "join_keys_between", product_a="sales-orders",
               product_b="customer-profile") == expected
    assert run(mesh, "join_keys_between", product_a="customer-profile",
               product_b="sales-orders") == expected
    # sales-order-lines.yaml: product_sku -> product-catalog.product_sku, master-identifier.
    assert run(mesh, "join_keys_between", product_a="product-catalog",
               product_b="sales-order-lines") == [
        ["sales-order-lines", "product_sku", "product-catalog", "product_sku",
         "master-identifier"]]


def test_stale_products(mesh: Runtime) -> None:
    # Since 2026-11-17T12:00Z: customer-profile (02), sales-orders (03), marketing (04),
    # logistics-shipments (11, 2026-11-23) and sales-order-lines (13 FAIL then 14 COMPLETE
    # in the same run) succeeded; finance-revenue-daily's last COMPLETE is run 5 on
    # 2026-11-10 (06), its run 6 failed (08); the other four never ran.
    assert run(mesh, "stale_products", now=NOW) == [
        ["customer-consent", None],
        ["finance-invoices", None],
        ["finance-revenue-daily", "2026-11-10T03:00:00.000000Z"],
        ["logistics-inventory-levels", None],
        ["product-catalog", None],
    ]
    twenty_days = run(mesh, "stale_products", now=NOW, days=20)
    assert "finance-revenue-daily" not in [r[0] for r in twenty_days]
    assert len(twenty_days) == 4


def test_failed_runs_by_domain(mesh: Runtime) -> None:
    # Last 24 h: run 6 of finance (08, 03:00) and run 7 of logistics (09, 04:10, posted
    # before its START). Run 9 of logistics failed on 2026-11-20 (12), outside the window;
    # run 10 of sales-order-lines failed then completed (13, 14): its state is COMPLETE.
    assert run(mesh, "failed_runs_by_domain", now=NOW) == [
        ["finance", 1, "2026-11-24T03:00:00.000000Z"],
        ["logistics", 1, "2026-11-24T04:10:00.000000Z"],
    ]
    # 200 hours back (from 2026-11-16T04:00Z) run 9 counts as well.
    assert run(mesh, "failed_runs_by_domain", now=NOW, hours=200) == [
        ["finance", 1, "2026-11-24T03:00:00.000000Z"],
        ["logistics", 2, "2026-11-24T04:10:00.000000Z"],
    ]


def test_schema_drift(mesh: Runtime) -> None:
    # The output schemas of events 02, 03 and 04 against the registered attributes of the
    # representations at those locations (customer-profile.yaml, sales-orders.yaml,
    # marketing-campaign-responses.yaml): every registered column the run did not report is
    # removed; campaign_responses reports contact_email, which is not registered (added).
    # Types agree where both sides have the column (string/string, VARCHAR/VARCHAR,
    # DECIMAL(18,2)/DECIMAL(18,2)); the extract datasets (02, 03) are no representation's.
    profile = ["customer-profile/customer-profile-delta", CUSTOMER_GOLD, "removed"]
    responses = ["marketing-campaign-responses/responses-delta", RESPONSES]
    orders = ["sales-orders/sales-orders-duckdb",
              "duckdb://mesh.duckdb:mesh.main.sales_orders", "removed"]
    assert run(mesh, "schema_drift") == [
        [*profile, "country_code", "string", None],
        [*profile, "date_of_birth", "date", None],
        [*profile, "family_name", "string", None],
        [*profile, "loyalty_tier", "string", None],
        [*profile, "phone_e164", "string", None],
        [*profile, "postal_code", "string", None],
        [*profile, "registered_on", "date", None],
        [*responses, "added", "contact_email", None, "string"],
        [*responses, "removed", "attributed_order_id", "string", None],
        [*responses, "removed", "campaign_id", "string", None],
        [*responses, "removed", "channel", "string", None],
        [*responses, "removed", "responded_at", "timestamp", None],
        [*responses, "removed", "response_type", "string", None],
        [*orders, "currency_code", "VARCHAR", None],
        [*orders, "gross_amount", "DECIMAL(18,2)", None],
        [*orders, "order_status", "VARCHAR", None],
        [*orders, "ordered_at", "TIMESTAMP", None],
        [*orders, "sales_channel", "VARCHAR", None],
        [*orders, "shipping_country", "VARCHAR", None],
        [*orders, "tax_amount", "DECIMAL(18,2)", None],
    ]


# ------------------------------------------------------------------ parameters
def _refusal(mesh: Runtime, query: str, **params: object) -> dict[str, Any]:
    with pytest.raises(InvalidInput) as caught:
        run(mesh, query, **params)
    (finding,) = caught.value.errors
    return finding.as_dict()


def test_parameters_are_checked_and_typed(mesh: Runtime) -> None:
    missing = _refusal(mesh, "upstream_lineage")
    assert (missing["field"], missing["rule"]) == ("product", "param:required")
    bad_int = _refusal(mesh, "stale_products", now=NOW, days="seven")
    assert (bad_int["field"], bad_int["rule"]) == ("days", "param:integer")
    assert _refusal(mesh, "stale_products", days="-1")["rule"] == "param:integer"
    bad_time = _refusal(mesh, "failed_runs_by_domain", now="yesterday")
    assert (bad_time["field"], bad_time["rule"]) == ("now", "param:datetime")
    unknown = _refusal(mesh, "products_by_domain", domain="sales")
    assert (unknown["field"], unknown["rule"]) == ("domain", "param:unknown")
    # The default of now is the time of the call: in 2026-11 terms everything is stale.
    assert len(run(mesh, "stale_products", now="2030-01-01T00:00:00Z")) == 10
    assert run(mesh, "stale_products")  # runs with the defaults


def test_parameter_values_are_bound_as_values_not_as_query_text(mesh: Runtime) -> None:
    hostile = 'sales-orders" } UNION { ?start ?p ?o } #'
    assert run(mesh, "upstream_lineage", product=hostile) == []
    assert run(mesh, "join_keys_between", product_a=hostile, product_b="customer-profile") == []
    assert run(mesh, "downstream_impact", namespace="s3://x\n}", name="$name") == []


def test_unknown_query_and_language(mesh: Runtime) -> None:
    assert mesh.queries is not None
    with pytest.raises(NotFound, match="no_such_query"):
        mesh.queries.run("no_such_query", {})
    with pytest.raises(InvalidInput, match="lang"):
        mesh.queries.run("products_by_domain", {}, "gremlin")
    # without a Cypher backend, lang=cypher is refused as unavailable
    bare = NamedQueries(QUERIES, mesh.store, mesh.sync)
    with pytest.raises(StoreUnavailable, match="Cypher"):
        bare.run("products_by_domain", {}, "cypher")


def test_the_cypher_text_and_typed_parameters_go_to_the_pluggable_backend(
        mesh: Runtime) -> None:
    calls: list[tuple[str, dict[str, Any], float]] = []

    def backend(cypher: str, params: Any = None, *, timeout: float) -> list[dict[str, Any]]:
        calls.append((cypher, dict(params or {}), timeout))
        return [{"domain": "finance", "failed_runs": 1, "last_failure": "x"}]

    queries = NamedQueries(QUERIES, mesh.store, mesh.sync, backend, timeout=5.0)
    result = queries.run("failed_runs_by_domain", {"now": NOW, "hours": "2"}, "cypher")
    assert result.rows == [["finance", 1, "x"]]
    (cypher, params, timeout) = calls[0]
    assert cypher == (QUERIES / "failed_runs_by_domain.cypher").read_text(encoding="utf-8")
    assert params == {"now": "2026-11-24T12:00:00.000000Z", "hours": 2,
                      "since": "2026-11-24T10:00:00.000000Z"}
    assert timeout == 5.0


# ------------------------------------------------------------------ HTTP API
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("api") / "data"
    open_mesh(data).close()
    with TestClient(create_app(Settings(data_dir=data))) as c:
        yield c


def test_api_lists_the_queries(api: TestClient) -> None:
    r = api.get("/api/v1/queries")
    assert r.status_code == 200
    listed = {q["name"]: q for q in r.json()}
    assert len(listed) >= 12
    upstream = listed["upstream_lineage"]
    assert upstream["title"] == "Upstream lineage of a product"
    assert upstream["languages"] == ["cypher", "sparql"]
    assert upstream["columns"] == ["dataset", "field", "product"]
    assert upstream["params"] == [{"name": "product", "type": "string", "required": True,
                                   "default": None, "description": "id of the product"}]


def test_api_runs_a_query(api: TestClient) -> None:
    r = api.get("/api/v1/queries/join_keys_between",
                params={"product_a": "sales-orders", "product_b": "customer-profile"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["from_product", "from_element", "to_product", "to_element",
                               "kind"]
    assert body["rows"] == [["sales-orders", "customer_id", "customer-profile", "customer_id",
                             "foreign-key"]]
    assert body["language"] == "sparql"


def test_api_errors_name_the_query_or_the_parameter(api: TestClient) -> None:
    r = api.get("/api/v1/queries/no_such_query")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert "no_such_query" in r.json()["detail"]
    r = api.get("/api/v1/queries/stale_products", params={"days": "many"})
    assert r.status_code == 400
    (error,) = r.json()["errors"]
    assert (error["field"], error["rule"]) == ("days", "param:integer")
    assert "days" in r.json()["detail"]
    r = api.get("/api/v1/queries/upstream_lineage")
    assert r.status_code == 400
    assert r.json()["errors"][0]["rule"] == "param:required"
    assert api.get("/api/v1/queries/products_by_domain", params={"lang": "sql"}).status_code \
        == 400


# ------------------------------------------------------------------ CLI
def test_cli_runs_named_queries_against_the_service(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", tmp_path)
    server.start(demo=True)
    try:
        for path in sorted((EXAMPLES / "lineage").glob("*.json")):
            assert server.post("/api/v1/lineage", content=path.read_bytes(),
                               headers={"Content-Type": "application/json"}).is_success
        listed = dpgraph("query", "--server", server.url)
        assert listed.returncode == 0, listed.stderr
        assert "pii_flow: Where PII flows" in listed.stdout
        table = dpgraph("query", "products_without_quality_rules", "--server", server.url)
        assert table.returncode == 0, table.stderr
        assert table.stdout.splitlines()[0].split() == ["product", "domain", "owner"]
        assert "marketing-campaign-responses  marketing  team-marketing-insights" in table.stdout
        as_json = dpgraph("query", "failed_runs_by_domain", "--param", f"now={NOW}",
                          "--format", "json", "--server", server.url)
        assert as_json.returncode == 0, as_json.stderr
        assert json.loads(as_json.stdout)["rows"] == [
            ["finance", 1, "2026-11-24T03:00:00.000000Z"],
            ["logistics", 1, "2026-11-24T04:10:00.000000Z"]]
        refused = dpgraph("query", "upstream_lineage", "--server", server.url)
        assert refused.returncode == 1
        assert "product" in refused.stderr and "required" in refused.stderr
        malformed = dpgraph("query", "stale_products", "--param", "days", "--server",
                            server.url)
        assert malformed.returncode == 1 and "NAME=VALUE" in malformed.stderr
    finally:
        server.kill()
