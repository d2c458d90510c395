"""The property-graph view end to end: registrations and lineage events through the real
services, the embedded engine, POST /api/v1/cypher, `dpgraph cypher`, replay."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, read_yaml
from fastapi.testclient import TestClient
from procs import Server, dpgraph

from dpgraph.api.app import create_app
from dpgraph.cypher.embedded import ENGINE_MODULE
from dpgraph.cypher.readonly import CypherRefused, CypherSyntaxError
from dpgraph.demo import load_demo
from dpgraph.descriptor import ProductDescriptor
from dpgraph.offline_replay import replay
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

CORPUS = Path("/work/shared/corpus/openlineage/valid")
if not CORPUS.is_dir():  # the shared corpus next to the checkout, as the other lineage tests
    CORPUS = EXAMPLES.parent.parent / "shared" / "corpus" / "openlineage" / "valid"
RUN = "0190a5a2-3c4e-7b4f-9a51-6f0d2c1e0a01"
PARENT = "0190a5a2-3c4e-7b4f-9a51-6f0d2c1e0a02"


def event(event_type: str, at: str, run_id: str = RUN, **extra: Any) -> dict[str, Any]:
    """A dbt-like run writing the sales-orders gold table, read from a raw table, with a
    masked column derivation, a parent run and a nested schema field."""
    return {
        "eventType": event_type, "eventTime": at,
        "producer": "https://example.com/producer", "schemaURL":
            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {"parent": {
            "run": {"runId": PARENT}, "job": {"namespace": "mesh-dbt", "name": "mesh"}}}},
        "job": {"namespace": "mesh-dbt", "name": "mesh.sales_orders"},
        "inputs": [{"namespace": "s3://mesh-sales-raw", "name": "orders"}],
        "outputs": [{"namespace": "s3://mesh-sales-gold", "name": "sales_orders", "facets": {
            "schema": {"fields": [
                {"name": "order_id", "type": "string"}, {"name": "CUST_ID", "type": "string"},
                {"name": "shipping", "type": "struct",
                 "fields": [{"name": "country", "type": "string"}]}]},
            "columnLineage": {"fields": {"CUST_ID": {"inputFields": [{
                "namespace": "s3://mesh-sales-raw", "name": "orders", "field": "customer_email",
                "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION",
                                     "masking": True}]}]}}}}}],
        **extra,
    }


def post_events(rt: Runtime, *events: dict[str, Any]) -> None:
    for e in events:
        rt.lineage.receive(json.dumps(e).encode())


def corpus_events() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.rglob("*.json"))]


def rows(rt: Runtime, query: str, **params: Any) -> list[dict[str, Any]]:
    assert rt.cypher is not None
    return rt.cypher.query(query, params)["rows"]


def dump(rt: Runtime) -> tuple[list[Any], list[Any]]:
    """Every node and relationship, comparable across runtimes."""
    nodes = rows(rt, "MATCH (n) RETURN label(n) AS l, n.id AS id, n AS n ORDER BY l, id")
    # a job and a dataset may share an id (both in the same namespace): order by label too
    rels = rows(rt, "MATCH (a)-[r]->(b) RETURN label(r) AS t, a.id AS src, b.id AS dst, "
                    "label(a) AS sl, r AS r ORDER BY t, src, dst, sl")
    return nodes, rels


@pytest.fixture
def mesh(runtime: Runtime) -> Runtime:
    load_demo(runtime.registry, runtime.artefacts.examples)
    for body in corpus_events():
        runtime.lineage.receive(body)
    return runtime


def test_registrations_become_labelled_nodes_and_relationships(mesh: Runtime) -> None:
    assert rows(mesh, "MATCH (p:Product {id: 'sales-orders'})-[:IN_DOMAIN]->(d:Domain), "
                      "(p)-[:OWNED_BY]->(o:Owner), (p)-[:GOLDEN_SOURCE]->(a:Application) "
                      "RETURN d.name AS d, o.id AS o, a.id AS a, p.lifecycle AS l") == [
        {"d": "Sales", "o": "team-sales-commerce", "a": "webshop", "l": "active"}]
    assert rows(mesh, "MATCH (e:DataElement {id: 'sales-orders/customer_id'})-[:MEANS]->"
                      "(t:BusinessTerm), (e)-[:CLASSIFIED_AS]->(c:Classification) "
                      "RETURN t.id AS t, c.id AS c, c.rank AS rank") == [
        {"t": "customer-identifier", "c": "confidential", "rank": 2}]
    # the schema's label Column works unquoted (it is a reserved word in the engine)
    assert rows(mesh, "MATCH (r:Representation)-[:HAS_COLUMN]->(c:Column)-[:HOLDS]->"
                      "(e:DataElement) WHERE r.id = 'sales-orders/sales-orders-delta' "
                      "AND c.name = 'cust_id' RETURN e.name AS e, r.layer AS layer") == [
        {"e": "customer_id", "layer": "gold"}]
    assert rows(mesh, "MATCH (:Product)-[:HAS_JOIN_KEY]->(k:JoinKey)-[:TO_ELEMENT]->"
                      "(e:DataElement) WHERE k.product = 'sales-orders' RETURN e.id AS e") == [
        {"e": "customer-profile/customer_id"}]
    counts = {r["l"]: r["c"] for r in rows(mesh, "MATCH (n) RETURN label(n) AS l, count(*) AS c")}
    assert counts["Product"] == 10 and counts["Classification"] >= 4
    assert counts["Run"] > 10 and counts["Dataset"] > 10 and counts["Field"] > 10


def test_run_state_parent_and_masked_derivation_whatever_the_order(runtime: Runtime) -> None:
    post_events(runtime, event("COMPLETE", "2026-03-01T10:05:00Z"),
                event("START", "2026-03-01T10:00:00+00:00"))
    assert rows(runtime, "MATCH (r:Run {id: $id})-[:OF_JOB]->(j:Job) RETURN r.state AS s, "
                         "r.startedAt AS st, r.endedAt AS en, j.id AS j", id=RUN) == [
        {"s": "COMPLETE", "st": "2026-03-01T10:00:00.000000Z",
         "en": "2026-03-01T10:05:00.000000Z", "j": "mesh-dbt:mesh.sales_orders"}]
    assert rows(runtime, "MATCH (r:Run {id: $id})-[:PARENT]->(p:Run)-[:OF_JOB]->(j:Job) "
                         "RETURN p.id AS p, j.id AS j", id=RUN) == [
        {"p": PARENT, "j": "mesh-dbt:mesh"}]
    assert rows(runtime, "MATCH (f:Field)-[d:DERIVED_FROM]->(g:Field) RETURN f.id AS f, "
                         "g.id AS g, d.masking AS m, d.transformationType AS t") == [
        {"f": "s3://mesh-sales-gold:sales_orders:CUST_ID",
         "g": "s3://mesh-sales-raw:orders:customer_email", "m": True, "t": "DIRECT"}]
    assert rows(runtime, "MATCH (:Dataset {id: 's3://mesh-sales-gold:sales_orders'})"
                         "-[:HAS_FIELD]->(f:Field) RETURN f.name AS n ORDER BY n") == [
        {"n": "CUST_ID"}, {"n": "order_id"}, {"n": "shipping"}, {"n": "shipping.country"}]
    assert rows(runtime, "MATCH (j:Job)-[w:WRITES]->(d:Dataset) RETURN w.firstSeen AS f, "
                         "w.lastSeen AS l") == [
        {"f": "2026-03-01T10:00:00.000000Z", "l": "2026-03-01T10:05:00.000000Z"}]


# (aliases differ from the variables: the engine would order by the node, not the alias)
LINKS = ("MATCH (ds:Dataset)-[:REPRESENTS]->(rep:Representation) OPTIONAL MATCH "
         "(ds)-[:HAS_FIELD]->(fi:Field)-[:REALISES]->(co:Column) RETURN ds.id AS d, "
         "rep.id AS r, fi.name AS f, co.id AS c ORDER BY d, r, f")


@pytest.mark.parametrize("product_first", [True, False])
def test_represents_and_realises_in_both_arrival_orders(tmp_path: Path,
                                                        product_first: bool) -> None:
    alias = {"namespace": "s3://mesh-sales-gold-alias", "name": "orders_view"}
    symlinked = event("COMPLETE", "2026-03-01T10:05:00Z", run_id=PARENT)
    symlinked["outputs"] = [{**alias, "facets": {"symlinks": {"identifiers": [
        {"namespace": "s3://mesh-sales-gold", "name": "sales_orders", "type": "TABLE"}]}}}]
    rt = open_runtime(Settings(data_dir=tmp_path / "data"))
    try:
        if product_first:
            load_demo(rt.registry, rt.artefacts.examples)
        post_events(rt, event("COMPLETE", "2026-03-01T10:05:00Z"), symlinked)
        if not product_first:
            load_demo(rt.registry, rt.artefacts.examples)
        links = rows(rt, LINKS)
    finally:
        rt.close()
    rep, cols = "sales-orders/sales-orders-delta", "sales-orders/sales-orders-delta/"
    assert links == [
        {"d": "s3://mesh-sales-gold-alias:orders_view", "r": rep, "f": None, "c": None},
        {"d": "s3://mesh-sales-gold:sales_orders", "r": rep, "f": "CUST_ID",
         "c": cols + "cust_id"},
        {"d": "s3://mesh-sales-gold:sales_orders", "r": rep, "f": "order_id",
         "c": cols + "order_id"}]


def test_reregistration_replaces_owned_nodes_and_keeps_links(runtime: Runtime) -> None:
    load_demo(runtime.registry, runtime.artefacts.examples)
    post_events(runtime, event("COMPLETE", "2026-03-01T10:05:00Z"))
    d = read_yaml(EXAMPLES / "products" / "sales-orders.yaml")
    d["version"] = "3.2.0"
    d["qualityRules"] = d["qualityRules"][:1]
    runtime.registry.register_product(ProductDescriptor.model_validate(d))
    assert rows(runtime, "MATCH (p:Product {id: 'sales-orders'})-[:HAS_QUALITY_RULE]->(q) "
                         "RETURN p.version AS v, count(q) AS n") == [{"v": "3.2.0", "n": 1}]
    assert len(rows(runtime, LINKS)) == 2  # REPRESENTS/REALISES drawn again
    # the other product's join key into sales-orders survives its re-registration
    assert rows(runtime, "MATCH (k:JoinKey)-[:TO_ELEMENT]->(e:DataElement) WHERE "
                         "e.product = 'sales-orders' RETURN count(k) AS n")[0]["n"] >= 1
    runtime.registry.deprecate("sales-orders", reason="replaced", successor=None)
    assert rows(runtime, "MATCH (p:Product {id: 'sales-orders'}) RETURN p.lifecycle AS l, "
                         "p.deprecatedAt IS NOT NULL AS d") == [{"l": "deprecated", "d": True}]


def test_reapplying_a_batch_changes_nothing_and_replay_rebuilds_the_same_view(
        settings: Settings) -> None:
    mesh = open_runtime(settings)  # closed here, not by a fixture: replay needs the files
    load_demo(mesh.registry, mesh.artefacts.examples)
    for body in corpus_events():
        mesh.lineage.receive(body)
    post_events(mesh, event("START", "2026-03-01T10:00:00Z"))
    before = dump(mesh)
    assert mesh.cypher_view is not None
    records = list(mesh.log.read())
    mesh.cypher_view.project(records)  # the whole log again, as one batch
    assert dump(mesh) == before
    mesh.cypher_view.project(records[-1:])  # the last event again
    assert dump(mesh) == before
    mesh.close()
    assert replay(settings) == len(records)
    rt = open_runtime(settings, catch_up=False)
    try:
        assert dump(rt) == before
    finally:
        rt.close()
    # a view that lags the graph (a crash between the two commits) catches up on start
    rt = open_runtime(settings, catch_up=False)
    rt.log.set_projected("cypher", 3)
    rt.close()
    rt = open_runtime(settings)
    try:
        assert rt.cypher_view is not None
        rt.cypher_view.wait_for(rt.log.head())  # its own thread catches up from offset 3
        assert dump(rt) == before
    finally:
        rt.close()



def test_a_view_from_before_a_property_was_kept_is_rebuilt_from_the_log(
        settings: Settings) -> None:
    # An older version's database lacks the schema signatures: an added column would hold
    # them only for what is projected from now on, so the view is rebuilt and has them all.
    mesh = open_runtime(settings)
    load_demo(mesh.registry, mesh.artefacts.examples)
    post_events(mesh, event("COMPLETE", "2026-03-01T10:00:00Z"))
    before = dump(mesh)
    signed = "MATCH (d:Dataset) WHERE d.schemaHi IS NOT NULL RETURN d.id AS id ORDER BY id"
    assert rows(mesh, signed) == [{"id": "s3://mesh-sales-gold:sales_orders"}]
    mesh.close()
    engine = importlib.import_module(ENGINE_MODULE)
    db = engine.Database(str(settings.data_dir / "cypher" / f"graph.{ENGINE_MODULE}"))
    conn = engine.Connection(db)
    conn.execute("ALTER TABLE Dataset DROP schemaHi")
    conn.close()
    db.close()
    rt = open_runtime(settings)
    try:
        assert rt.cypher_view is not None
        rt.cypher_view.wait_for(rt.log.head())
        assert dump(rt) == before
    finally:
        rt.close()

FORBIDDEN = {
    "CREATE (n:Product {id: 'x'})": "CREATE",
    "MATCH (n:Product) SET n.name = 'x'": "SET",
    "MATCH (n:Product) DETACH DELETE n": "DELETE",
    "MATCH (n:Product) REMOVE n.name": "REMOVE",
    "MERGE (d:Domain {id: 'x'})": "MERGE",
    "MATCH (n) WHERE EXISTS { MATCH (n)-[r]->() DELETE r } RETURN n": "DELETE",
    "UNWIND [1] AS x FOREACH (i IN [1] | CREATE (:Domain {id: 'y'}))": "FOREACH",
    "COPY (MATCH (p:Product) RETURN p.id) TO '/tmp/dpgraph-cypher-test.csv'": "COPY",
    "COPY Product FROM '/etc/passwd'": "COPY",
    "LOAD FROM '/etc/passwd' RETURN *": "LOAD",
    "INSTALL httpfs": "INSTALL",
    "ATTACH '/tmp/other.lbdb' AS other (dbtype lbug)": "ATTACH",
    "EXPORT DATABASE '/tmp/dpgraph-cypher-export'": "EXPORT",
    "IMPORT DATABASE '/tmp/dpgraph-cypher-export'": "IMPORT",
    "CREATE NODE TABLE Evil(id STRING PRIMARY KEY)": "CREATE",
    "DROP TABLE Product": "DROP",
    "CALL show_tables() RETURN *": "CALL show_tables",
}


def test_read_only_allowlist(mesh: Runtime) -> None:
    before = dump(mesh)
    for query, clause in FORBIDDEN.items():
        with pytest.raises(CypherRefused) as refused:
            rows(mesh, query)
        assert refused.value.errors[0].value == clause, query
        assert refused.value.errors[0].rule == "cypher:read-only-allowlist"
    with pytest.raises(CypherSyntaxError, match="one statement per query"):
        rows(mesh, "MATCH (n) RETURN count(n); MATCH (n) DETACH DELETE n")
    assert dump(mesh) == before
    assert not Path("/tmp/dpgraph-cypher-export").exists()
    # keywords inside literals, comments and names are not clauses
    assert rows(mesh, "MATCH (p:Product) WHERE p.name = 'CREATE (x) SET y' // DELETE\n"
                      "RETURN count(*) AS n") == [{"n": 0}]
    assert rows(mesh, "MATCH (p:Product) WITH p.id AS created UNWIND [created] AS x "
                      "RETURN x ORDER BY x LIMIT 1 UNION MATCH (d:Domain {id: 'sales'}) "
                      "RETURN d.id AS x") == [{"x": "customer-consent"}, {"x": "sales"}]
    # list quantifiers (openCypher's all/any/none/single) are read expressions
    assert rows(mesh, "UNWIND [[1, 2], [3]] AS l WITH l WHERE none(x IN l WHERE x > 2) "
                      "AND any(x IN l WHERE x = 2) AND all(x IN l WHERE x < 3) "
                      "RETURN size(l) AS n") == [{"n": 2}]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "api-data", demo=True, cypher_timeout=5)
    with TestClient(create_app(settings)) as c:
        yield c


def test_api(api: TestClient) -> None:
    r = api.post("/api/v1/cypher", json={
        "query": "MATCH (p:Product)-[:HAS_ELEMENT]->(e:DataElement) WHERE p.id = $id "
                 "RETURN p, count(e) AS elements", "parameters": {"id": "sales-orders"}})
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    assert row["elements"] == 10 and row["p"]["_labels"] == ["Product"]
    assert row["p"]["name"] == "Sales Orders"
    r = api.post("/api/v1/cypher", json={"query": "MATCH (p:Product) SET p.name = 'x'"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["value"] == "SET"
    r = api.post("/api/v1/cypher", json={"query": "MATCH (p:Product RETURN p"})
    assert r.status_code == 400 and "column 18" in r.json()["detail"]
    r = api.post("/api/v1/cypher", json={"query": "MATCH (p:Nope) RETURN p"})
    assert r.status_code == 400 and "Nope" in r.json()["detail"]
    r = api.post("/api/v1/cypher", json={
        "query": "MATCH (a), (b), (c) WHERE a.id < b.id AND b.id < c.id RETURN count(*)",
        "timeout": 0.5})
    assert r.status_code == 408, r.text
    r = api.post("/api/v1/cypher", json={"query": "RETURN 1 AS one"})
    assert r.json()["rows"] == [{"one": 1}]  # still serving
    r = api.post("/api/v1/cypher", json={"query": "RETURN 1", "timeout": -1})
    assert r.status_code == 400


def test_a_query_past_the_engines_memory_is_refused_and_the_view_goes_on(tmp_path: Path
                                                                       ) -> None:
    settings = Settings(data_dir=tmp_path / "data", demo=True, cypher_buffer_pool_mb=64)
    with TestClient(create_app(settings)) as small:
        r = small.post("/api/v1/cypher", json={"query": "MATCH (a)-[*1..30]-(b) RETURN count(*)"})
        assert r.status_code == 422, r.text
        assert r.json()["title"] == "Query needs too much memory"
        assert "DPGRAPH_CYPHER_BUFFER_POOL_MB" in r.json()["detail"]
        r = small.post("/api/v1/cypher", json={"query": "MATCH (p:Product) RETURN count(p) AS n"})
        assert r.json()["rows"] == [{"n": 10}]


def health_when(client: TestClient, done: Any, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/health").json()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_a_view_that_cannot_advance_is_reported_and_recovers(tmp_path: Path) -> None:
    """A real failure of the view's writes (its bulk-load file cannot be written): /health
    names it, the log and the RDF graph go on, Cypher readers are told at once instead of
    waiting, and the view resumes once the cause is gone."""
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as c:
        at = health_when(c, lambda b: b["offsets"]["cypher"] == b["offsets"]["log"])
        blocker = settings.data_dir / "cypher" / "copy-rows.csv"
        blocker.unlink(missing_ok=True)
        blocker.mkdir()
        r = c.post("/api/v1/lineage", json=event("COMPLETE", "2026-03-01T10:05:00Z"))
        assert r.status_code == 201, r.text
        body = health_when(c, lambda b: "stalled" in b)
        assert body["status"] == "degraded"
        stalled = body["stalled"]["cypher"]
        assert stalled["after"] == at["offsets"]["cypher"] == body["offsets"]["cypher"]
        assert "IsADirectoryError" in stalled["error"] and stalled["attempts"] >= 1
        assert "projected" not in body["stalled"]
        body = health_when(c, lambda b: b["offsets"]["projected"] == b["offsets"]["log"])
        assert body["offsets"]["log"] == at["offsets"]["log"] + 1
        started = time.monotonic()
        r = c.post("/api/v1/cypher", json={"query": "MATCH (j:Job) RETURN count(j) AS n"})
        assert r.status_code == 503 and time.monotonic() - started < 5
        assert r.json()["title"] == "Projection stalled" and "/health" in r.json()["detail"]
        blocker.rmdir()
        body = health_when(c, lambda b: b["offsets"]["cypher"] == b["offsets"]["log"])
        assert body["status"] == "ok" and "stalled" not in body
        r = c.post("/api/v1/cypher",
                   json={"query": "MATCH (job:Job) RETURN job.id AS j ORDER BY j"})
        assert r.status_code == 200, r.text
        assert r.json()["rows"] == [{"j": "mesh-dbt:mesh"}, {"j": "mesh-dbt:mesh.sales_orders"}]


def test_cli_against_a_server(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", tmp_path)
    server.start(demo=True)
    try:
        done = dpgraph("cypher", "MATCH (p:Product) WHERE p.id = $id RETURN p.name AS name",
                       "--param", "id=sales-orders", "--server", server.url)
        assert done.returncode == 0, done.stderr
        assert [json.loads(line) for line in done.stdout.splitlines()] == [
            {"name": "Sales Orders"}]
        refused = dpgraph("cypher", "MATCH (p:Product) DETACH DELETE p", "--server", server.url)
        assert refused.returncode == 1 and "DELETE is not allowed" in refused.stderr
    finally:
        server.stop()


CHAIN = 50  # derivations: more than the two links of the relink step reach in one round


SALES_ORDERS = {"namespace": "s3://mesh-sales-gold", "name": "sales_orders"}


def chain_event(step: int, first: dict[str, str] = SALES_ORDERS) -> dict[str, Any]:
    """Job step{n} derives CUST_ID of s3://chain t{n} from the previous table's CUST_ID; the
    first reads ``first``, by default the sales_orders table that sales-orders'
    representation is."""
    source = first if step == 1 else {"namespace": "s3://chain", "name": f"t{step - 1}"}
    return {
        "eventType": "COMPLETE", "eventTime": f"2026-03-02T10:{step:02d}:00Z",
        "producer": "https://example.com/producer", "schemaURL":
            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"0190a5a2-3c4e-7b4f-9a51-6f0d2c1e{step:04x}"},
        "job": {"namespace": "chain", "name": f"step{step}"},
        "inputs": [source],
        "outputs": [{"namespace": "s3://chain", "name": f"t{step}", "facets": {
            "columnLineage": {"fields": {"CUST_ID": {"inputFields": [
                {**source, "field": "CUST_ID"}]}}}}}],
    }


FLOWS = ("MATCH (el:DataElement)-[r:FLOWS_TO]->(fi:Field) RETURN el.id AS e, fi.id AS f, "
         "r.dataset AS d, r.field AS n ORDER BY e, f")


@pytest.mark.parametrize("order", ["product first", "lineage first, reversed", "one batch"])
def test_flows_to_is_the_closure_of_derivations_whatever_the_order(
        settings: Settings, order: str) -> None:
    chain = [chain_event(n) for n in range(1, CHAIN + 1)]
    rt = open_runtime(settings)
    try:
        if order == "product first":
            load_demo(rt.registry, rt.artefacts.examples)
            post_events(rt, event("COMPLETE", "2026-03-01T10:05:00Z"), *chain)
        else:
            post_events(rt, *reversed(chain), event("COMPLETE", "2026-03-01T10:05:00Z"))
            load_demo(rt.registry, rt.artefacts.examples)
        flows = rows(rt, FLOWS)
    finally:
        rt.close()
    if order == "one batch":  # the whole log projected again from scratch, in one page
        assert replay(settings) > CHAIN
        rt = open_runtime(settings, catch_up=False)
        try:
            assert rows(rt, FLOWS) == flows
        finally:
            rt.close()
    # customer_id's column cust_id is realised by sales_orders.CUST_ID; every field of the
    # chain derives from it, 50 derivations deep at the end. Its own upstream field
    # (orders.customer_email) is not reached.
    assert flows == sorted(
        [{"e": "sales-orders/customer_id", "f": f"s3://chain:t{n}:CUST_ID",
          "d": f"s3://chain:t{n}", "n": "CUST_ID"}  # the field's dataset and name ride along
         for n in range(1, CHAIN + 1)], key=lambda r: (r["e"], r["f"]))


def test_flows_to_is_drawn_again_after_a_reregistration(runtime: Runtime) -> None:
    load_demo(runtime.registry, runtime.artefacts.examples)
    post_events(runtime, event("COMPLETE", "2026-03-01T10:05:00Z"), *map(chain_event, (1, 2)))
    before = rows(runtime, FLOWS)
    assert [r["f"] for r in before] == ["s3://chain:t1:CUST_ID", "s3://chain:t2:CUST_ID"]
    d = read_yaml(EXAMPLES / "products" / "sales-orders.yaml")
    d["version"] = "3.2.0"
    runtime.registry.register_product(ProductDescriptor.model_validate(d))
    assert rows(runtime, FLOWS) == before


def test_a_view_without_flows_to_gains_them_on_start(runtime: Runtime) -> None:
    # as a view filled by a version from before FLOWS_TO: the links are drawn on start
    load_demo(runtime.registry, runtime.artefacts.examples)
    post_events(runtime, event("COMPLETE", "2026-03-01T10:05:00Z"), *map(chain_event, (1, 2)))
    before = rows(runtime, FLOWS)
    assert len(before) == 2
    view = runtime.cypher_view
    assert view is not None
    view.backend.run([("MATCH ()-[r:FLOWS_TO]->() DELETE r", {})])
    assert rows(runtime, FLOWS) == []
    # A batch that brings no derivation, registration or REALISES link does not look for
    # missing flows (~100-200 ms a batch at 10,000 products): they stay missing.
    no_column_lineage = event("COMPLETE", "2026-03-03T10:00:00Z", run_id=PARENT)
    del no_column_lineage["outputs"][0]["facets"]["columnLineage"]
    post_events(runtime, no_column_lineage)
    assert rows(runtime, FLOWS) == []
    view.bootstrap()
    assert rows(runtime, FLOWS) == before


def test_flows_to_follows_realises_links_a_later_batch_alone_draws(runtime: Runtime) -> None:
    # The chain starts at a copy nobody represents: no flow. A later event, with no column
    # lineage and no registration, names sales_orders (the representation's location) as an
    # alias of the copy: the copy's CUST_ID now realises cust_id, and the flows follow.
    copy = {"namespace": "s3://elsewhere", "name": "orders_copy"}
    load_demo(runtime.registry, runtime.artefacts.examples)
    post_events(runtime, *(chain_event(n, first=copy) for n in (1, 2)))
    assert rows(runtime, FLOWS) == []
    aliased = event("COMPLETE", "2026-03-03T10:00:00Z", run_id=PARENT, inputs=[])
    aliased["outputs"] = [{**copy, "facets": {"symlinks": {"identifiers": [
        {**SALES_ORDERS, "type": "TABLE"}]}}}]
    post_events(runtime, aliased)
    assert [(r["e"], r["f"]) for r in rows(runtime, FLOWS)] == [
        ("sales-orders/customer_id", "s3://chain:t1:CUST_ID"),
        ("sales-orders/customer_id", "s3://chain:t2:CUST_ID")]
