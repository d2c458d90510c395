"""The demo mesh's real pipelines: ``scripts/record_demo_lineage.py`` runs the dbt project
``examples/dbt/demo`` (dbt-core 1.11, dbt-duckdb, openlineage-dbt's ``dbt-ol``, from
``.venv-dbt``) with its HTTP transport pointed at a live dpgraph server holding the demo
catalog and products; then jobs, inputs, outputs, column lineage, the cross-domain bronze read
and the schema drift are read back through dpgraph's API, and the live run is compared with the
recorded events of ``examples/lineage-dbt`` so the recording cannot go stale silently.

Every expected name is derived by hand from the project: jobs
``<database>.<schema>.<project>.<model>.build.run`` = ``mesh.main.mesh.<model>.build.run`` in
namespace ``mesh-dbt`` (``OPENLINEAGE_NAMESPACE``), datasets ``mesh.main.<table>`` in
namespace ``duckdb://mesh.duckdb`` (dbt-ol writes ``duckdb://`` + the profile's ``path``,
here the relative ``mesh.duckdb``), which normalise to the registered locations
``duckdb://mesh.duckdb/main.<table>``. Seeds are not dbt-ol inputs; the raw tables are read
as dbt sources.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from conftest import EXAMPLES
from procs import REPO, Server, wait_projected

from dpgraph.demo import demo_products
from dpgraph.lineage.naming import normalize_location, normalize_uri

DBT_BIN = REPO / ".venv-dbt" / "bin"
RECORDED = EXAMPLES / "lineage-dbt"
SCRIPT = REPO / "scripts" / "record_demo_lineage.py"
JOB_NS = "mesh-dbt"
DS_NS = "duckdb://mesh.duckdb"
PARENT = "dbt-run-mesh"
YAML = {"Content-Type": "application/yaml"}

# model -> (inputs, output), from the refs and sources of examples/dbt/demo/models
MODELS: dict[str, tuple[list[str], str]] = {
    "stg_webshop_orders": (["raw_webshop_orders"], "stg_webshop_orders"),
    "stg_webshop_order_lines": (["raw_webshop_order_lines"], "stg_webshop_order_lines"),
    "stg_wms_stock": (["raw_wms_stock"], "stg_wms_stock"),
    "sales_orders": (["stg_webshop_orders"], "sales_orders"),
    "sales_order_lines": (["stg_webshop_order_lines"], "sales_order_lines"),
    "finance_revenue_daily": (["sales_orders"], "finance_revenue_daily"),
    "logistics_inventory_levels": (["raw_webshop_order_lines", "stg_wms_stock"],
                                   "logistics_inventory_levels"),
}
# product -> (representation, table) that the project builds or reads
TABLES = {
    "sales-orders": [("sales-orders-duckdb", "sales_orders")],
    "sales-order-lines": [("sales-order-lines-duckdb", "sales_order_lines"),
                          ("sales-order-lines-raw", "raw_webshop_order_lines")],
    "finance-revenue-daily": [("revenue-daily-duckdb", "finance_revenue_daily")],
    "logistics-inventory-levels": [("inventory-duckdb", "logistics_inventory_levels")],
}


def job_name(model: str) -> str:
    return f"mesh.main.mesh.{model}.build.run"


def dataset(table: str) -> dict[str, str]:
    return {"namespace": DS_NS, "name": f"mesh.main.{table}"}


@dataclass
class DemoRun:
    server: Server
    live: list[dict[str, Any]]  # the events of the live run, as dpgraph stored them

    def get(self, path: str, **params: Any) -> Any:
        r = self.server.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def job(self, name: str) -> dict[str, Any]:
        return self.get(f"/api/v1/namespaces/{JOB_NS}/jobs/{quote(name, safe='')}")

    def dataset(self, table: str) -> dict[str, Any]:
        return self.get(f"/api/v1/namespaces/{quote(DS_NS, safe='')}/datasets/mesh.main.{table}")


def register_demo_mesh(server: Server) -> None:
    """The demo catalog and products, over HTTP, join-key targets first."""
    r = server.post("/api/v1/catalog", content=(EXAMPLES / "catalog.yaml").read_bytes(),
                    headers=YAML)
    assert r.is_success, r.text
    for d in demo_products(EXAMPLES / "products"):
        r = server.post("/api/v1/products", content=(EXAMPLES / "products" / f"{d.id}.yaml")
                        .read_bytes(), headers=YAML)
        assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    assert (DBT_BIN / "dbt-ol").exists(), "run `bash scripts/setup.sh` to create .venv-dbt"
    tmp = tmp_path_factory.mktemp("dbt-demo")
    server = Server(tmp / "data", tmp)
    server.start()
    try:
        register_demo_mesh(server)
        before = server.offsets()["log"]
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "--url", server.url, "--out", str(tmp / "events"),
             "--workdir", str(tmp / "work")],
            cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        offsets = wait_projected(server)
        assert offsets["projected"] == offsets["log"]
        live = server.get("/api/v1/events/lineage",
                          params={"limit": 1000, "sortDirection": "asc"}).json()["events"]
        assert len(live) == offsets["log"] - before  # every event dbt-ol emitted, stored once
        yield DemoRun(server, live)
    finally:
        server.kill()


def test_each_model_is_a_job_with_its_inputs_and_output(demo: DemoRun) -> None:
    jobs = demo.get(f"/api/v1/namespaces/{JOB_NS}/jobs")["jobs"]
    assert sorted(j["name"] for j in jobs) == sorted(
        [PARENT, "mesh.main.mesh.sales_orders.build.test", *map(job_name, MODELS)])
    for model, (inputs, output) in MODELS.items():
        job = demo.job(job_name(model))
        assert sorted(job["inputs"], key=lambda d: d["name"]) == [dataset(t) for t in inputs]
        assert job["outputs"] == [dataset(output)]
        assert job["latestRun"]["state"] == "COMPLETED"
        assert job["parentJob"] == {"namespace": JOB_NS, "name": PARENT}
    finance = demo.job(job_name("finance_revenue_daily"))
    assert "from \"mesh\".\"main\".\"sales_orders\" as o" in finance["facets"]["sql"]["query"]


def test_the_jobs_are_the_ones_the_products_declare() -> None:
    declared = {(j.namespace, j.name): d.id for d in demo_products(EXAMPLES / "products")
                for j in d.lineage.jobs}
    assert {model: declared.get((JOB_NS, job_name(model))) for model in MODELS} == {
        "stg_webshop_orders": "sales-orders", "sales_orders": "sales-orders",
        "stg_webshop_order_lines": "sales-order-lines", "sales_order_lines": "sales-order-lines",
        "finance_revenue_daily": "finance-revenue-daily",
        "stg_wms_stock": "logistics-inventory-levels",
        "logistics_inventory_levels": "logistics-inventory-levels"}


def test_dbt_ol_duckdb_names_normalise_to_the_registered_locations() -> None:
    registered = {(d.id, r.id): normalize_uri(r.location)
                  for d in demo_products(EXAMPLES / "products") for r in d.representations}
    for product, tables in TABLES.items():
        for representation, table in tables:
            assert normalize_location(DS_NS, f"mesh.main.{table}") \
                == registered[(product, representation)] \
                == f"duckdb://mesh.duckdb/main.{table}"


def test_the_built_tables_materialise_the_products_representations(demo: DemoRun) -> None:
    for product, tables in TABLES.items():
        links = demo.get(f"/api/v1/products/{product}/datasets")
        found = {(a["representation"], a["dataset"]["nodeId"]) for a in links}
        assert found == {(rep, f"dataset:{DS_NS}:mesh.main.{table}") for rep, table in tables}


def _fields(demo: DemoRun, table: str) -> list[tuple[str, str]]:
    return [(f["name"], f["type"]) for f in demo.dataset(table)["fields"]]


def _registered(product: str, representation: str) -> list[tuple[str, str]]:
    doc = yaml.safe_load((EXAMPLES / "products" / f"{product}.yaml").read_text("utf-8"))
    (rep,) = [r for r in doc["representations"] if r["id"] == representation]
    return [(a["name"], a["type"]) for a in rep["attributes"]]


def test_gold_tables_carry_the_registered_columns_except_the_drift(demo: DemoRun) -> None:
    assert _fields(demo, "sales_orders") == _registered("sales-orders", "sales-orders-duckdb")
    assert _fields(demo, "logistics_inventory_levels") == _registered(
        "logistics-inventory-levels", "inventory-duckdb")
    assert _fields(demo, "raw_webshop_order_lines") == _registered(  # the bronze layer
        "sales-order-lines", "sales-order-lines-raw")
    # Drift 1: sales_order_lines no longer builds the registered discount_amount.
    lines = _registered("sales-order-lines", "sales-order-lines-duckdb")
    assert ("discount_amount", "DECIMAL(18,2)") in lines
    assert _fields(demo, "sales_order_lines") == [c for c in lines if c[0] != "discount_amount"]
    # Drift 2: finance_revenue_daily's order_count is count(*)'s BIGINT, registered INTEGER.
    revenue = _registered("finance-revenue-daily", "revenue-daily-duckdb")
    assert ("order_count", "INTEGER") in revenue
    assert _fields(demo, "finance_revenue_daily") == [
        ("order_count", "BIGINT") if c[0] == "order_count" else c for c in revenue]


def test_logistics_reads_the_bronze_order_lines_of_sales(demo: DemoRun) -> None:
    rows = demo.get("/api/v1/queries/cross_domain_raw_reads")["rows"]
    assert rows == [["logistics-inventory-levels", "logistics", "sales-order-lines", "sales",
                     f"{DS_NS}:mesh.main.raw_webshop_order_lines"]]


def test_cross_domain_dependencies_are_finance_and_logistics_on_sales(demo: DemoRun) -> None:
    rows = demo.get("/api/v1/queries/cross_domain_dependencies")["rows"]
    # finance-revenue-daily <- sales-orders (gold); logistics-inventory-levels <-
    # sales-order-lines (bronze). Nothing else crosses a domain.
    assert rows == [["finance", "sales", 1], ["logistics", "sales", 1]]


def test_column_lineage_follows_the_models_down_to_the_raw_columns(demo: DemoRun) -> None:
    def field(table: str, name: str) -> str:
        return f"datasetField:{DS_NS}:mesh.main.{table}:{name}"

    revenue = field("finance_revenue_daily", "net_revenue")
    graph = demo.get("/api/v1/column-lineage", nodeId=revenue, depth=5)["graph"]
    assert {n["id"] for n in graph} == {
        revenue, field("sales_orders", "net_amount"), field("stg_webshop_orders", "net_amount"),
        field("raw_webshop_orders", "net_amount")}
    gross = field("sales_orders", "gross_amount")
    graph = demo.get("/api/v1/column-lineage", nodeId=gross, depth=1)["graph"]
    (node,) = [n for n in graph if n["id"] == gross]
    assert [(i["dataset"], i["field"]) for i in node["data"]["inputFields"]] == [
        ("mesh.main.stg_webshop_orders", "net_amount"),
        ("mesh.main.stg_webshop_orders", "tax_amount")]
    reserved = field("logistics_inventory_levels", "reserved_qty")
    graph = demo.get("/api/v1/column-lineage", nodeId=reserved, depth=1)["graph"]
    (node,) = [n for n in graph if n["id"] == reserved]
    assert [(i["dataset"], i["field"]) for i in node["data"]["inputFields"]] == [
        ("mesh.main.raw_webshop_order_lines", "qty")]  # straight from sales' bronze


def signature(events: list[dict[str, Any]]) -> list[Any]:
    """What a recording must keep: per event its type, job, inputs, outputs with their schema
    fields and column lineage (not run ids, times or producer versions)."""
    def ds(d: dict[str, Any]) -> Any:
        facets = d.get("facets") or {}
        fields = [(f["name"], f.get("type")) for f in (facets.get("schema") or {})
                  .get("fields", [])]
        lineage = {out: sorted((i["namespace"], i["name"], i["field"])
                               for i in spec["inputFields"])
                   for out, spec in ((facets.get("columnLineage") or {}).get("fields") or {})
                   .items()}
        return d["namespace"], d["name"], fields, sorted(lineage.items())

    return sorted(json.dumps([e["eventType"], e["job"]["namespace"], e["job"]["name"],
                              sorted(map(json.dumps, map(ds, e.get("inputs", [])))),
                              sorted(map(json.dumps, map(ds, e.get("outputs", []))))])
                  for e in events)


def test_the_recording_matches_a_live_run(demo: DemoRun) -> None:
    recorded = [json.loads(p.read_text("utf-8")) for p in sorted(RECORDED.glob("*.json"))]
    assert len(recorded) == len(demo.live) == 18  # 2 for dbt, 2 per model, 2 for the tests
    assert signature(demo.live) == signature(recorded)
    assert {e["run"]["runId"] for e in recorded}.isdisjoint({e["run"]["runId"]
                                                             for e in demo.live})


def test_recorded_files_are_named_after_their_events() -> None:
    names = sorted(p.name for p in RECORDED.glob("*.json"))
    assert names[0] == "01-dbt-run-mesh-start.json"
    assert names[-1] == "18-dbt-run-mesh-complete.json"
    for path in RECORDED.glob("*.json"):
        event = json.loads(path.read_text("utf-8"))
        stem = path.stem.split("-", 1)[1]
        assert stem.endswith(event["eventType"].lower()), path.name
        assert event["producer"].startswith(
            "https://github.com/OpenLineage/OpenLineage/tree/"), path.name
        assert event["job"]["namespace"] == JOB_NS
