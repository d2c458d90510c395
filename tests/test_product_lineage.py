"""Product lineage, the domain dependency matrix and the principle findings, on the demo mesh
and its recorded lineage (examples/lineage), with expectations derived by hand from the
descriptors and events (see examples/lineage/README.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, read_yaml
from fastapi.testclient import TestClient
from mesh_fixture import LINEAGE_EVENTS, open_mesh
from procs import Server, dpgraph, wait_projected

from dpgraph.api.app import create_app
from dpgraph.demo import demo_products
from dpgraph.descriptor import CatalogDescriptor
from dpgraph.findings.model import Finding
from dpgraph.lineage.iris import job_iri
from dpgraph.offline_replay import replay
from dpgraph.product_lineage.findings import cross_domain_raw_reads
from dpgraph.product_lineage.graph import ProductLineage
from dpgraph.product_lineage.model import (
    DatasetRef,
    Facts,
    JobFacts,
    app_facts,
    product_facts,
)
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

RUN = "0192e8b4-0000-7000-8000-0000000000{:02d}"

# (from, to) -> (crossesDomain, jobs, lastRun (run, time, state), runCount)
EXPECTED_EDGES = {
    ("customer-profile", "marketing-campaign-responses"):
        (True, ["job:mesh-dbt:mesh.marketing_campaign_responses"],
         (3, "2026-11-24T02:00:00Z", "COMPLETE"), 1),
    ("sales-orders", "finance-revenue-daily"):
        (True, ["job:mesh-dbt:mesh.finance_revenue_daily"],
         (6, "2026-11-24T03:00:00Z", "FAIL"), 2),
    ("marketing-campaign-responses", "finance-revenue-daily"):
        (True, ["job:mesh-dbt:mesh.finance_revenue_daily"],
         (6, "2026-11-24T03:00:00Z", "FAIL"), 2),
    ("sales-orders", "logistics-shipments"):
        (True, ["job:mesh-dbt:mesh.logistics_shipments"],
         (7, "2026-11-24T04:10:00Z", "FAIL"), 3),
    # run 10 failed at 05:00, then completed at 05:30: its state is COMPLETE
    ("sales-orders", "sales-order-lines"):
        (False, ["job:mesh-dbt:mesh.sales_order_lines"],
         (10, "2026-11-24T05:30:00Z", "COMPLETE"), 1),
}

EXPECTED_FINDINGS = [
    ("cross-domain-raw-read", "job:mesh-dbt:mesh.finance_revenue_daily",
     "finance-revenue-daily", "finance"),
    # finance's job reads the bronze landing of marketing-automation, not its golden source
    ("golden-source-bypass", "product:finance-revenue-daily", "finance-revenue-daily",
     "finance"),
    ("ownerless-dataset", "dataset:file:/exports/campaign_contacts.csv", None, None),
    ("ownerless-dataset", "dataset:s3://mesh-customer-bronze:crm_contacts",
     "customer-profile", "customer"),
    ("ownerless-dataset", "dataset:s3://mesh-sales-bronze:webshop_orders",
     "sales-orders", "sales"),
]


def edges(rt: Runtime) -> dict[tuple[str, str], dict[str, Any]]:
    assert rt.product_lineage is not None
    out = {}
    for p in ("finance-revenue-daily", "logistics-shipments", "sales-order-lines",
              "marketing-campaign-responses"):
        for e in rt.product_lineage.lineage(p, "upstream", 1)["edges"]:
            out[(e["from"], e["to"])] = e
    return out


PRINCIPLE_KINDS = {"cross-domain-raw-read", "golden-source-bypass", "ownerless-dataset"}


def finding_rows(findings: list[Finding]) -> list[tuple[Any, ...]]:
    """The principle findings (tests/test_propagation.py checks the other sources' kinds)."""
    return [(f.kind, f.subject, f.product, f.domain) for f in findings
            if f.kind in PRINCIPLE_KINDS]


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = open_mesh(tmp_path_factory.mktemp("mesh"))
    yield rt
    rt.close()


def test_product_edges_of_the_demo_mesh(mesh: Runtime) -> None:
    got = edges(mesh)
    assert set(got) == set(EXPECTED_EDGES)
    for key, (crosses, jobs, (run, time, state), count) in EXPECTED_EDGES.items():
        e = got[key]
        assert e["crossesDomain"] is crosses, key
        assert [j["id"] for j in e["jobs"]] == jobs, key
        assert e["lastRun"] == {"runId": RUN.format(run), "time": time, "state": state}, key
        assert e["runCount"] == count, key
    e = got[("customer-profile", "marketing-campaign-responses")]
    assert (e["fromDomain"], e["toDomain"]) == ("customer", "marketing")
    assert e["jobs"][0]["domain"] == "marketing" and e["jobs"][0]["attributedBy"] == "declared"
    assert e["reads"] == [{"dataset": "dataset:s3://mesh-customer-gold:customer_profile",
                           "namespace": "s3://mesh-customer-gold", "name": "customer_profile",
                           "product": "customer-profile",
                           "representation": "customer-profile-delta"}]
    assert [(w["dataset"], w["representation"]) for w in e["writes"]] == [
        ("dataset:s3://mesh-marketing-gold:campaign_responses", "responses-delta")]
    # the duckdb dataset is named mesh.main.sales_orders; its location drops the database
    assert [r["representation"] for r in got[("sales-orders", "sales-order-lines")]["reads"]] \
        == ["sales-orders-duckdb"]


def test_neighbourhood_by_direction_and_depth(mesh: Runtime) -> None:
    assert mesh.product_lineage is not None
    lineage = mesh.product_lineage.lineage

    def shape(r: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
        return [n["id"] for n in r["nodes"]], [(e["from"], e["to"]) for e in r["edges"]]

    assert shape(lineage("marketing-campaign-responses")) == (
        ["customer-profile", "finance-revenue-daily", "marketing-campaign-responses"],
        [("customer-profile", "marketing-campaign-responses"),
         ("marketing-campaign-responses", "finance-revenue-daily")])
    assert shape(lineage("marketing-campaign-responses", "downstream", 1)) == (
        ["finance-revenue-daily", "marketing-campaign-responses"],
        [("marketing-campaign-responses", "finance-revenue-daily")])
    assert shape(lineage("finance-revenue-daily", "upstream", 1))[0] == [
        "finance-revenue-daily", "marketing-campaign-responses", "sales-orders"]
    assert shape(lineage("finance-revenue-daily", "upstream", 2))[0] == [
        "customer-profile", "finance-revenue-daily", "marketing-campaign-responses",
        "sales-orders"]
    # downstream of sales-orders does not climb back up to the other inputs of its consumers
    assert shape(lineage("sales-orders", "downstream", 3))[0] == [
        "finance-revenue-daily", "logistics-shipments", "sales-order-lines", "sales-orders"]
    assert shape(lineage("customer-consent")) == (["customer-consent"], [])
    nodes = {n["id"]: n for n in lineage("sales-orders", "downstream", 1)["nodes"]}
    assert nodes["logistics-shipments"]["domain"] == "logistics"
    assert nodes["logistics-shipments"]["lifecycleStatus"] == "active"


def test_domain_dependency_matrix(mesh: Runtime) -> None:
    assert mesh.product_lineage is not None
    m = mesh.product_lineage.dependencies()
    assert m["matrix"] == {"finance": {"marketing": 1, "sales": 1}, "logistics": {"sales": 1},
                           "marketing": {"customer": 1}, "sales": {"sales": 1}}
    cell = next(c for c in m["cells"] if (c["consumer"], c["producer"]) == ("sales", "sales"))
    assert cell == {"consumer": "sales", "producer": "sales", "crossesDomain": False,
                    "edges": 1, "products": [{"from": "sales-orders", "to": "sales-order-lines"}],
                    "jobs": ["job:mesh-dbt:mesh.sales_order_lines"]}
    assert m["withoutDomain"] == []


def test_principle_findings_of_the_demo_mesh(mesh: Runtime) -> None:
    assert mesh.findings is not None
    found = [f for f in mesh.findings.list() if f.kind in PRINCIPLE_KINDS]
    assert finding_rows(found) == EXPECTED_FINDINGS
    raw = found[0].evidence
    assert (raw["dataset"], raw["representation"], raw["storageLayer"], raw["sourceProduct"],
            raw["sourceDomain"], raw["jobDomain"]) == (
        "dataset:s3://mesh-marketing-bronze:automation_webhooks", "responses-raw-webhooks",
        "bronze", "marketing-campaign-responses", "marketing", "finance")
    # marketing's own job reading its own bronze data is no finding
    assert found[3].evidence["readBy"] == ["job:mesh-dbt:mesh.customer_profile"]
    assert found[2].evidence["writtenBy"] == ["job:adhoc:export_campaign_contacts"]
    assert (found[1].evidence["reason"], found[1].evidence["captureSources"]) == (
        "other-application", [{"dataset": "dataset:s3://mesh-marketing-bronze:automation_webhooks",
                               "application": "marketing-automation"}])
    # filters: a cross-domain finding concerns both domains and both products
    assert finding_rows(mesh.findings.list(kind="cross-domain-raw-read", domain="marketing")) \
        == EXPECTED_FINDINGS[:1]
    assert finding_rows(mesh.findings.list(product="marketing-campaign-responses")) \
        == EXPECTED_FINDINGS[:1]
    assert finding_rows(mesh.findings.list(domain="sales")) == EXPECTED_FINDINGS[4:]
    assert finding_rows(mesh.findings.list(kind="golden-source-bypass", domain="marketing")) \
        == EXPECTED_FINDINGS[1:2]


def test_registering_after_the_lineage_gives_the_same_answers(
        mesh: Runtime, tmp_path: Path) -> None:
    rt = open_runtime(Settings(data_dir=tmp_path / "late"))
    try:
        for path in LINEAGE_EVENTS:
            rt.lineage.receive(path.read_bytes())
        assert rt.findings is not None and rt.product_lineage is not None
        assert rt.product_lineage.dependencies()["matrix"] == {}
        rt.registry.register_catalog(CatalogDescriptor.model_validate(
            read_yaml(EXAMPLES / "catalog.yaml")))
        for d in demo_products(EXAMPLES / "products"):
            rt.registry.register_product(d)
        assert edges(rt) == edges(mesh)
        assert finding_rows(rt.findings.list()) == EXPECTED_FINDINGS
    finally:
        rt.close()


def test_replay_gives_the_same_findings_and_deprecated_products_stay(tmp_path: Path) -> None:
    data = tmp_path / "mesh"
    rt = open_mesh(data)
    rt.registry.deprecate("sales-orders", reason="replaced", successor=None)
    assert rt.findings is not None and rt.product_lineage is not None
    live = (finding_rows(rt.findings.list()), rt.product_lineage.dependencies(),
            rt.product_lineage.lineage("sales-orders", "downstream", 2))
    rt.close()
    replay(Settings(data_dir=data))
    rt = open_runtime(Settings(data_dir=data))
    try:
        assert rt.findings is not None and rt.product_lineage is not None
        replayed = (finding_rows(rt.findings.list()), rt.product_lineage.dependencies(),
                    rt.product_lineage.lineage("sales-orders", "downstream", 2))
    finally:
        rt.close()
    assert replayed == live
    nodes = {n["id"]: n["lifecycleStatus"] for n in live[2]["nodes"]}
    assert nodes["sales-orders"] == "deprecated"
    assert len(live[2]["edges"]) == 3  # a deprecated product keeps its edges


def _event(job: tuple[str, str], run: str, inputs: list[tuple[str, str]],
           outputs: list[tuple[str, str]]) -> bytes:
    return json.dumps({
        "eventType": "COMPLETE", "eventTime": "2026-11-24T06:00:00Z",
        "run": {"runId": run}, "job": {"namespace": job[0], "name": job[1]},
        "inputs": [{"namespace": ns, "name": n} for ns, n in inputs],
        "outputs": [{"namespace": ns, "name": n} for ns, n in outputs],
        "producer": "https://example.com/test", "schemaURL":
            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}).encode()


def test_golden_source_bypass(mesh: Runtime, tmp_path: Path) -> None:
    rt = open_mesh(tmp_path / "gs")
    try:
        assert rt.findings is not None
        rt.registry.register_catalog(CatalogDescriptor.model_validate({"applications": [
            {"id": "consent-manager", "name": "OneTrust", "domain": "customer",
             "lineage": {"namespaces": ["s3://consent-exports"]}}]}))
        # logistics (namespace airflow://logistics, lineage.namespaces) reads the webshop's
        # raw orders to build shipments: captured from webshop, not from carrier-tms
        rt.lineage.receive(_event(
            ("airflow://logistics", "shipments_enrich"), "0192e8b4-0000-7000-8000-0000000000a1",
            [("s3://mesh-sales-bronze", "webshop_orders")],
            [("s3://mesh-logistics-gold", "shipments")]))
        # customer-consent built through an unowned staging table from a bucket that is not
        # consent-manager's, which declares where its data lands
        rt.lineage.receive(_event(
            ("mesh-dbt", "stage_consents"), "0192e8b4-0000-7000-8000-0000000000a2",
            [("s3://mystery-exports", "consents")], [("s3://mesh-customer-stage", "consents")]))
        rt.lineage.receive(_event(
            ("mesh-dbt", "mesh.customer_consent"), "0192e8b4-0000-7000-8000-0000000000a3",
            [("s3://mesh-customer-stage", "consents")],
            [("s3://mesh-customer-gold", "customer_consent")]))
        found = {f.product: f for f in rt.findings.list(kind="golden-source-bypass")}
        assert sorted(found) == ["customer-consent", "finance-revenue-daily",
                                 "logistics-shipments"]
        ship = found["logistics-shipments"]
        assert ship.evidence["reason"] == "other-application"
        assert ship.evidence["captureSources"] == [
            {"dataset": "dataset:s3://mesh-sales-bronze:webshop_orders",
             "application": "webshop"}]
        assert ship.evidence["jobs"] == ["job:airflow://logistics:shipments_enrich",
                                         "job:mesh-dbt:mesh.sales_orders"]
        assert ship.domain == "logistics" and ship.evidence["domains"] == ["logistics", "sales"]
        consent = found["customer-consent"]
        assert consent.evidence["reason"] == "golden-source-not-reached"
        # the walk went through the unowned staging dataset to its source
        assert consent.evidence["captureSources"] == [
            {"dataset": "dataset:s3://mystery-exports:consents", "application": None}]
        assert finding_rows(rt.findings.list(kind="golden-source-bypass", domain="sales")) == [
            ("golden-source-bypass", "product:logistics-shipments", "logistics-shipments",
             "logistics")]
    finally:
        rt.close()


def test_cross_domain_read_of_a_private_raw_only_representation() -> None:
    """A silver representation served only through private-raw ports is raw for principle 2;
    the same one also served by a public port is not."""
    def product(pid: str, domain: str, visibilities: list[str], jobs: list[str]) -> Any:
        return product_facts({
            "id": pid, "domain": domain,
            "representations": [{"id": "r", "location": f"s3://{pid}/r",
                                 "storageLayer": "silver"}],
            "outputPorts": [{"id": f"p{i}", "representation": "r", "visibility": v}
                            for i, v in enumerate(visibilities)],
            "lineage": {"jobs": [{"namespace": "ns", "name": j} for j in jobs]}})

    def run(visibilities: list[str]) -> list[Finding]:
        src = product("src", "a", visibilities, [])
        dst = product("dst", "b", ["public"], ["build"])
        job = JobFacts("ns", "build", (DatasetRef("s3://src", "r", frozenset({"s3://src/r"})),),
                       (DatasetRef("s3://dst", "r", frozenset({"s3://dst/r"})),), 0, None)
        return cross_domain_raw_reads(ProductLineage(Facts(
            {"src": src, "dst": dst}, {"x": app_facts({"id": "x"})},
            {job_iri("ns", "build"): job})))

    [f] = run(["private-raw"])
    assert (f.subject, f.domain, f.product, f.evidence["privateOnly"]) == (
        "job:ns:build", "b", "dst", True)
    assert run(["private-raw", "public"]) == []


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path / "api", demo=True))) as c:
        yield c


def test_http_resources_and_bad_parameters(api: TestClient) -> None:
    r = api.get("/api/v1/products/customer-profile/lineage",
                params={"direction": "downstream", "depth": 2})
    assert r.status_code == 200, r.text
    assert [(e["from"], e["to"], e["crossesDomain"]) for e in r.json()["edges"]] == [
        ("customer-profile", "marketing-campaign-responses", True),
        ("marketing-campaign-responses", "finance-revenue-daily", True)]
    # the served demo adds the dbt lineage (examples/lineage-dbt): logistics' dbt model reads
    # sales-order-lines' bronze table besides logistics-shipments reading sales-orders
    assert api.get("/api/v1/domains/dependencies").json()["matrix"]["logistics"] == {"sales": 2}
    r = api.get("/api/v1/findings", params={"kind": "cross-domain-raw-read"})
    assert r.status_code == 200
    assert [f["subject"] for f in r.json()["findings"]] == [
        "job:mesh-dbt:mesh.finance_revenue_daily",
        "job:mesh-dbt:mesh.main.mesh.logistics_inventory_levels.build.run"]

    def problem(path: str, status: int, **params: Any) -> dict[str, Any]:
        r = api.get(path, params=params)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        return r.json()

    lineage = "/api/v1/products/customer-profile/lineage"
    for depth in (0, 11):
        [err] = problem(lineage, 422, depth=depth)["errors"]
        assert (err["field"], err["rule"], err["value"]) == (
            "depth", "product-lineage:depth-range", str(depth))
    [err] = problem(lineage, 422, direction="sideways")["errors"]
    assert (err["field"], err["rule"]) == ("direction", "product-lineage:direction")
    assert problem(lineage, 400, depth="two")["errors"][0]["field"] == "query.depth"
    body = problem("/api/v1/products/no-such-product/lineage", 404)
    assert "no-such-product" in body["detail"]
    [err] = problem("/api/v1/findings", 422, kind="bogus")["errors"]
    assert (err["field"], err["rule"], err["value"]) == ("kind", "findings:known-kind", "bogus")
    for kind in ("cross-domain-raw-read", "golden-source-bypass", "ownerless-dataset"):
        assert kind in err["message"]


def test_cli_findings_against_a_served_demo(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", tmp_path)
    srv.start(demo=True)
    try:
        wait_projected(srv)
        r = dpgraph("findings", "--kind", "cross-domain-raw-read", "--domain", "logistics",
                    "--server", srv.url)
        assert r.returncode == 0, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        assert lines[-1] == "(1 finding)"
        assert lines[0].startswith(
            "error: cross-domain-raw-read: job mesh-dbt:mesh.main.mesh."
            "logistics_inventory_levels.build.run of domain logistics"), lines
        r = dpgraph("findings", "--kind", "nope", "--server", srv.url)
        assert r.returncode != 0
        assert "findings:known-kind" in r.stdout + r.stderr
    finally:
        srv.kill()


def test_findings_gather_every_source(mesh: Runtime) -> None:
    assert mesh.findings is not None
    drift = {(f.subject, f.product) for f in mesh.findings.list(kind="schema-drift")}
    assert drift == {
        ("representation:customer-profile/customer-profile-delta", "customer-profile"),
        ("representation:sales-orders/sales-orders-duckdb", "sales-orders"),
        ("representation:marketing-campaign-responses/responses-delta",
         "marketing-campaign-responses")}
    assert {f.kind for f in mesh.findings.list()} == PRINCIPLE_KINDS | {"schema-drift"}


def test_a_snapshot_rebuilt_after_each_record_equals_one_built_at_once(mesh: Runtime) -> None:
    """The index keeps job facts across snapshots and rebuilds only the jobs a record
    touches (all of them after a symlinks facet): fed one record at a time, reading after
    each, it must end where an index fed the whole log at once does."""
    from dpgraph.services.lineage_index import LineageIndex
    from dpgraph.services.product_lineage_index import ProductLineageIndex

    records = list(mesh.log.read())
    symlinked = {"namespace": "duckdb://mesh.duckdb", "name": "mesh.main.sales_orders",
                 "facets": {"symlinks": {"_producer": "t", "_schemaURL": "t", "identifiers": [
                     {"namespace": "duckdb://mesh.duckdb", "name": "mesh.main.orders_alias",
                      "type": "TABLE"}]}}}
    late = {"eventType": "COMPLETE", "eventTime": "2026-11-24T09:00:00Z",
            "run": {"runId": RUN.format(90)},
            "job": {"namespace": "mesh-dbt", "name": "mesh.sales_order_lines"},
            "inputs": [symlinked], "outputs": [],
            "producer": "t", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"}
    def record(offset: int, event: dict[str, Any]) -> Any:
        return type(records[0])(offset, "lineage.event", "x", records[0].recorded_at,
                                f"d{offset}", {"event": event})

    # the symlinks facet (regrouping aliases of a dataset other jobs read) comes in the
    # middle; a further run of an already-seen job comes last
    rerun = {**late, "run": {"runId": RUN.format(91)}, "inputs": [], "eventType": "FAIL",
             "eventTime": "2026-11-24T10:00:00Z"}
    middle = len(records) // 2 + 5
    records = [*records[:middle], late, *records[middle:], rerun]
    records = [record(i, r) if isinstance(r, dict) else record(i, r.payload["event"])
               if r.kind == "lineage.event" else type(r)(i, r.kind, r.key, r.recorded_at,
                                                         r.digest, r.payload)
               for i, r in enumerate(records, start=1)]
    step_lineage = LineageIndex()
    stepwise = ProductLineageIndex(step_lineage)
    for r in records:
        step_lineage.add([r])
        stepwise.apply([r])
        stepwise.graph()
    whole_lineage = LineageIndex()
    whole = ProductLineageIndex(whole_lineage)
    whole_lineage.add(records)
    whole.apply(records)
    a, b = stepwise.graph(), whole.graph()
    assert a.facts.jobs == b.facts.jobs
    job = a.facts.jobs[job_iri("mesh-dbt", "mesh.sales_order_lines")]
    assert (job.run_count, job.last_run.state if job.last_run else None) == (3, "FAIL")
    aliased = [(iri, ds) for iri, j in a.facts.jobs.items() for ds in j.inputs
               if ds.name in ("mesh.main.sales_orders", "mesh.main.orders_alias")]
    # read by jobs other than the one whose event carried the facet
    assert {iri for iri, _ in aliased} - {job_iri("mesh-dbt", "mesh.sales_order_lines")}
    assert all("duckdb://mesh.duckdb/main.orders_alias" in ds.locations for _, ds in aliased)
    assert a.edges == b.edges
