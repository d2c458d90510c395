"""The Marquez-shaped read API over the projected lineage, through the real app.

Events are posted over HTTP (hand-made ones and corpus ones); the expected answers are
written by hand from those events."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR",
                             Path(__file__).resolve().parents[2] / "shared"))
CORPUS = SHARED / "corpus" / "openlineage"
VALID = sorted((CORPUS / "valid").rglob("*.json"))
JSON = {"Content-Type": "application/json"}
PRODUCER = "https://github.com/example/dpgraph-tests"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_VERSIONS = {
    "SchemaDatasetFacet": "1-2-0", "SymlinksDatasetFacet": "1-0-1",
    "SQLJobFacet": "1-1-0", "DocumentationJobFacet": "1-1-0", "JobTypeJobFacet": "2-0-3",
    "ParentRunFacet": "1-2-0", "NominalTimeRunFacet": "1-0-1", "ErrorMessageRunFacet": "1-0-1",
    "DatasourceDatasetFacet": "1-0-1", "ColumnLineageDatasetFacet": "1-2-0",
}
PG = "postgres://db:5432"
WH = "warehouse"
DIGEST = re.compile(r"^[0-9a-f]{64}$")


# ---------------------------------------------------------------- helpers
def facet(kind: str, **body: Any) -> dict[str, Any]:
    url = f"https://openlineage.io/spec/facets/{FACET_VERSIONS[kind]}/{kind}.json#/$defs/{kind}"
    return {"_producer": PRODUCER, "_schemaURL": url, **body}


def schema(*fields: Any) -> dict[str, Any]:
    return {"schema": facet("SchemaDatasetFacet", fields=[
        f if isinstance(f, dict) else {"name": f[0], "type": f[1]} for f in fields])}


def ds(name: str, ns: str = PG, **facets: Any) -> dict[str, Any]:
    return {"namespace": ns, "name": name, "facets": facets}


def event(job: str, run: str, kind: str, time: str, inputs: list[Any] = (),  # type: ignore[assignment]
          outputs: list[Any] = (), job_facets: dict[str, Any] | None = None,  # type: ignore[assignment]
          run_facets: dict[str, Any] | None = None, ns: str = WH) -> dict[str, Any]:
    return {
        "eventType": kind, "eventTime": time, "producer": PRODUCER, "schemaURL": RUN_EVENT,
        "run": {"runId": run, "facets": run_facets or {}},
        "job": {"namespace": ns, "name": job, "facets": job_facets or {}},
        "inputs": [ds(x) if isinstance(x, str) else x for x in inputs],
        "outputs": [ds(x) if isinstance(x, str) else x for x in outputs],
    }


def post(client: TestClient, *events: dict[str, Any]) -> list[dict[str, Any]]:
    receipts = []
    for e in events:
        r = client.post("/api/v1/lineage", content=json.dumps(e), headers=JSON)
        assert r.status_code in (200, 201), r.text
        assert r.json()["warnings"] == [], r.json()["warnings"]
        receipts.append(r.json())
    return receipts


def get(client: TestClient, path: str, status: int = 200, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    return r.json()


def enc(text: str) -> str:
    return quote(text, safe="")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def run_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def edge(origin: str, destination: str, first: str, last: str) -> dict[str, str]:
    return {"origin": origin, "destination": destination, "firstSeen": first, "lastSeen": last}


def strip_versions(graph: dict[str, Any]) -> dict[str, Any]:
    """The graph without job version digests (checked separately: they are sha256)."""
    out = copy.deepcopy(graph)
    for node in out["graph"]:
        if node["type"] == "JOB":
            version = node["data"].pop("currentVersion")
            assert version is None or DIGEST.match(version)
    return out


def dataset_node(ns: str, name: str, ins: list[Any], outs: list[Any],
                 symlinks: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"id": f"dataset:{ns}:{name}", "type": "DATASET",
            "data": {"id": {"namespace": ns, "name": name}, "namespace": ns, "name": name,
                     "symlinks": list(symlinks)},
            "inEdges": ins, "outEdges": outs}


def job_node(name: str, inputs: list[Any], outputs: list[Any], ins: list[Any],
             outs: list[Any], ns: str = WH) -> dict[str, Any]:
    return {"id": f"job:{ns}:{name}", "type": "JOB",
            "data": {"id": {"namespace": ns, "name": name}, "namespace": ns, "name": name,
                     "inputs": inputs, "outputs": outputs},
            "inEdges": ins, "outEdges": outs}


def side(name: str, first: str, last: str, ns: str = PG) -> dict[str, str]:
    return {"namespace": ns, "name": name, "firstSeen": first, "lastSeen": last}


# ---------------------------------------------------------------- the lineage graph
CHAIN = [
    event("load", run_id(1), "START", "2025-01-01T10:00:00Z", ["public.d0"], ["public.d1"]),
    event("load", run_id(1), "COMPLETE", "2025-01-01T10:05:00Z", ["public.d0"], ["public.d1"]),
    event("transform", run_id(2), "START", "2025-01-01T11:00:00Z", ["public.d1"], ["public.d2"]),
    event("transform", run_id(2), "COMPLETE", "2025-01-01T11:10:00Z", ["public.d1"],
          ["public.d2"]),
]
D0, D1, D2 = (f"dataset:{PG}:public.d{i}" for i in range(3))
LOAD, TRANSFORM = f"job:{WH}:load", f"job:{WH}:transform"
E01 = edge(D0, LOAD, "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z")
E1 = edge(LOAD, D1, "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z")
E12 = edge(D1, TRANSFORM, "2025-01-01T11:00:00Z", "2025-01-01T11:10:00Z")
E2 = edge(TRANSFORM, D2, "2025-01-01T11:00:00Z", "2025-01-01T11:10:00Z")
LOAD_IO = ([side("public.d0", "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z")],
           [side("public.d1", "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z")])
TRANSFORM_IO = ([side("public.d1", "2025-01-01T11:00:00Z", "2025-01-01T11:10:00Z")],
                [side("public.d2", "2025-01-01T11:00:00Z", "2025-01-01T11:10:00Z")])


def test_lineage_of_a_chain_at_depth_0_1_and_2(client: TestClient) -> None:
    post(client, *CHAIN)
    at0 = get(client, "/api/v1/lineage", nodeId=D1, depth=0)
    assert at0 == {"graph": [dataset_node(PG, "public.d1", [], [])]}
    at1 = strip_versions(get(client, "/api/v1/lineage", nodeId=D1, depth=1))
    assert at1 == {"graph": [
        dataset_node(PG, "public.d1", [E1], [E12]),
        job_node("load", *LOAD_IO, [], [E1]),
        job_node("transform", *TRANSFORM_IO, [E12], []),
    ]}
    at2 = strip_versions(get(client, "/api/v1/lineage", nodeId=D1, depth=2))
    assert at2 == {"graph": [
        dataset_node(PG, "public.d0", [], [E01]),
        dataset_node(PG, "public.d1", [E1], [E12]),
        dataset_node(PG, "public.d2", [E2], []),
        job_node("load", *LOAD_IO, [E01], [E1]),
        job_node("transform", *TRANSFORM_IO, [E12], [E2]),
    ]}
    # The default depth reaches the same graph; a job node starts the walk too.
    assert strip_versions(get(client, "/api/v1/lineage", nodeId=D1)) == at2
    from_job = strip_versions(get(client, "/api/v1/lineage", nodeId=TRANSFORM, depth=1))
    assert from_job == {"graph": [
        dataset_node(PG, "public.d1", [], [E12]),
        dataset_node(PG, "public.d2", [E2], []),
        job_node("transform", *TRANSFORM_IO, [E12], [E2]),
    ]}
    # Upstream and downstream only: d0 → load is reached from d2 in 4 hops, never sideways.
    from_d2 = strip_versions(get(client, "/api/v1/lineage", nodeId=D2, depth=3))
    assert [n["id"] for n in from_d2["graph"]] == [D1, D2, LOAD, TRANSFORM]
    # A datasetField node id answers with its dataset's lineage.
    field = get(client, "/api/v1/lineage", nodeId=f"datasetField:{PG}:public.d1:x", depth=1)
    assert strip_versions(field) == at1
    version = get(client, f"/api/v1/namespaces/{WH}/jobs/load")["currentVersion"]["version"]
    node = next(n for n in get(client, "/api/v1/lineage", nodeId=LOAD, depth=0)["graph"])
    assert node["data"]["currentVersion"] == version


def test_symlinked_datasets_answer_as_one(client: TestClient) -> None:
    hdfs, hive = "hdfs://nn:8020", "hive://metastore:9083"
    table = {"namespace": hive, "name": "default.sales", "type": "TABLE"}
    post(client,
         event("spark_write", run_id(10), "COMPLETE", "2025-03-01T12:00:00Z", [],
               [ds("/warehouse/sales", hdfs,
                   symlinks=facet("SymlinksDatasetFacet", identifiers=[table]))]),
         event("report", run_id(11), "COMPLETE", "2025-03-01T13:00:00Z",
               [ds("default.sales", hive)], ["public.report"]))
    canonical = f"dataset:{hdfs}:/warehouse/sales"
    w = edge(f"job:{WH}:spark_write", canonical, "2025-03-01T12:00:00Z", "2025-03-01T12:00:00Z")
    r = edge(canonical, f"job:{WH}:report", "2025-03-01T13:00:00Z", "2025-03-01T13:00:00Z")
    alias = [{"namespace": hive, "name": "default.sales"}]
    graph = strip_versions(get(client, "/api/v1/lineage",
                               nodeId=f"dataset:{hive}:default.sales", depth=1))
    assert graph == {"graph": [
        dataset_node(hdfs, "/warehouse/sales", [w], [r], symlinks=alias),
        job_node("report", [side("/warehouse/sales", "2025-03-01T13:00:00Z",
                                 "2025-03-01T13:00:00Z", hdfs)],
                 [side("public.report", "2025-03-01T13:00:00Z", "2025-03-01T13:00:00Z")],
                 [r], []),
        job_node("spark_write", [], [side("/warehouse/sales", "2025-03-01T12:00:00Z",
                                          "2025-03-01T12:00:00Z", hdfs)], [], [w]),
    ]}
    assert strip_versions(get(client, "/api/v1/lineage", nodeId=canonical, depth=1)) == graph
    # The dataset resource answers for the alias with the canonical dataset.
    detail = get(client, f"/api/v1/namespaces/{enc(hive)}/datasets/default.sales")
    assert detail["id"] == {"namespace": hdfs, "name": "/warehouse/sales"}
    assert detail["symlinks"] == alias
    assert detail["facets"]["symlinks"]["identifiers"] == [table]
    # The report job itself reports the dataset as it named it.
    job = get(client, f"/api/v1/namespaces/{WH}/jobs/report")
    assert job["inputs"] == alias


def test_as_of_shows_an_older_job_version(client: TestClient) -> None:
    # Posted newest first: the answers do not depend on arrival order.
    post(client,
         event("enrich", run_id(22), "START", "2025-02-03T08:00:00Z", ["public.src_c"],
               ["public.enriched"]),
         event("enrich", run_id(21), "COMPLETE", "2025-02-02T08:10:00Z", ["public.src_b"],
               ["public.enriched"]),
         event("enrich", run_id(21), "START", "2025-02-02T08:00:00Z", ["public.src_b"],
               ["public.enriched"]),
         event("enrich", run_id(20), "COMPLETE", "2025-02-01T08:10:00Z", ["public.src_a"],
               ["public.enriched"]),
         event("enrich", run_id(20), "START", "2025-02-01T08:00:00Z", ["public.src_a"],
               ["public.enriched"]))
    job = f"job:{WH}:enrich"
    enriched = f"dataset:{PG}:public.enriched"

    def graph(**params: Any) -> dict[str, Any]:
        return strip_versions(get(client, "/api/v1/lineage", nodeId=job, depth=1, **params))

    # Current: the version of the latest terminal event (run 21), not the running run 22.
    out_now = edge(job, enriched, "2025-02-01T08:00:00Z", "2025-02-03T08:00:00Z")
    b = edge(f"dataset:{PG}:public.src_b", job, "2025-02-02T08:00:00Z", "2025-02-02T08:10:00Z")
    assert graph() == {"graph": [
        dataset_node(PG, "public.enriched", [out_now], []),
        dataset_node(PG, "public.src_b", [], [b]),
        job_node("enrich", [side("public.src_b", "2025-02-02T08:00:00Z", "2025-02-02T08:10:00Z")],
                 [side("public.enriched", "2025-02-01T08:00:00Z", "2025-02-03T08:00:00Z")],
                 [b], [out_now]),
    ]}
    out_then = edge(job, enriched, "2025-02-01T08:00:00Z", "2025-02-01T08:10:00Z")
    a = edge(f"dataset:{PG}:public.src_a", job, "2025-02-01T08:00:00Z", "2025-02-01T08:10:00Z")
    assert graph(asOf="2025-02-01T12:00:00Z") == {"graph": [
        dataset_node(PG, "public.enriched", [out_then], []),
        dataset_node(PG, "public.src_a", [], [a]),
        job_node("enrich", [side("public.src_a", "2025-02-01T08:00:00Z", "2025-02-01T08:10:00Z")],
                 [side("public.enriched", "2025-02-01T08:00:00Z", "2025-02-01T08:10:00Z")],
                 [a], [out_then]),
    ]}
    # asOf without offset is UTC; before any event the job stands alone.
    assert graph(asOf="2025-02-01T08:05:00")["graph"][-1]["data"]["inputs"] == [
        side("public.src_a", "2025-02-01T08:00:00Z", "2025-02-01T08:00:00Z")]
    alone = graph(asOf="2024-12-31T00:00:00+01:00")
    assert [n["id"] for n in alone["graph"]] == [job]
    assert get(client, f"/api/v1/namespaces/{WH}/jobs/enrich")["inputs"] == [
        {"namespace": PG, "name": "public.src_b"}]


# ---------------------------------------------------------------- runs
def test_run_state_does_not_depend_on_arrival_order(client: TestClient) -> None:
    rid = run_id(30)
    complete = event("stateful", rid, "COMPLETE", "2025-04-01T10:05:00Z", [], ["public.s"])
    start = event("stateful", rid, "START", "2025-04-01T10:00:00Z", [], ["public.s"])
    running = event("stateful", rid, "RUNNING", "2025-04-01T10:03:00Z", [], ["public.s"])
    post(client, complete)
    run = get(client, f"/api/v1/jobs/runs/{rid}")
    assert (run["state"], run["startedAt"], run["endedAt"]) == (
        "COMPLETED", "2025-04-01T10:05:00Z", "2025-04-01T10:05:00Z")
    post(client, start, running)  # a START after the COMPLETE does not reopen the run
    run = get(client, f"/api/v1/jobs/runs/{rid}")
    assert {k: run[k] for k in ("id", "state", "startedAt", "endedAt", "durationMs",
                                "createdAt", "updatedAt")} == {
        "id": rid, "state": "COMPLETED", "startedAt": "2025-04-01T10:00:00Z",
        "endedAt": "2025-04-01T10:05:00Z", "durationMs": 300000,
        "createdAt": "2025-04-01T10:00:00Z", "updatedAt": "2025-04-01T10:05:00Z"}
    # Only a START: running; then a FAIL with its error message.
    failing = run_id(31)
    post(client, event("stateful", failing, "START", "2025-04-02T10:00:00Z"))
    assert get(client, f"/api/v1/jobs/runs/{failing}")["state"] == "RUNNING"
    post(client, event("stateful", failing, "FAIL", "2025-04-02T10:01:00Z", run_facets={
        "errorMessage": facet("ErrorMessageRunFacet", message="division by zero",
                              programmingLanguage="python")}))
    run = get(client, f"/api/v1/jobs/runs/{failing}")
    assert (run["state"], run["endedAt"]) == ("FAILED", "2025-04-02T10:01:00Z")
    assert run["facets"]["errorMessage"] == {"message": "division by zero",
                                             "programmingLanguage": "python"}
    # Of several terminal events, the latest wins.
    post(client, event("stateful", failing, "COMPLETE", "2025-04-02T10:02:00Z"))
    assert get(client, f"/api/v1/jobs/runs/{failing}")["state"] == "COMPLETED"
    runs = get(client, f"/api/v1/namespaces/{WH}/jobs/stateful/runs")
    assert [r["id"] for r in runs["runs"]] == [failing, rid] and runs["totalCount"] == 2
    assert get(client, f"/api/v1/namespaces/{WH}/jobs/stateful")["latestRun"]["id"] == failing


def test_run_resource(client: TestClient) -> None:
    parent, child = run_id(40), run_id(41)
    post(client,
         event("nightly", parent, "START", "2025-05-01T00:00:00Z"),
         event("nightly.orders", child, "START", "2025-05-01T00:01:00Z", ["public.raw"],
               [ds("public.orders", **schema(("id", "bigint")))], run_facets={
                   "parent": facet("ParentRunFacet", run={"runId": parent},
                                   job={"namespace": WH, "name": "nightly"}),
                   "nominalTime": facet("NominalTimeRunFacet",
                                        nominalStartTime="2025-05-01T00:00:00Z",
                                        nominalEndTime="2025-05-02T00:00:00Z")}),
         event("nightly.orders", child, "COMPLETE", "2025-05-01T00:03:00Z", ["public.raw"],
               [ds("public.orders", **schema(("id", "bigint"), ("total", "decimal(10,2)")))]))
    run = get(client, f"/api/v1/jobs/runs/{child}")
    version = run.pop("jobVersion")
    assert DIGEST.match(version.pop("version"))
    assert version == {"namespace": WH, "name": "nightly.orders"}
    assert run == {
        "id": child, "createdAt": "2025-05-01T00:01:00Z", "updatedAt": "2025-05-01T00:03:00Z",
        "state": "COMPLETED", "startedAt": "2025-05-01T00:01:00Z",
        "endedAt": "2025-05-01T00:03:00Z", "durationMs": 120000,
        "nominalStartTime": "2025-05-01T00:00:00Z", "nominalEndTime": "2025-05-02T00:00:00Z",
        "args": {}, "job": {"namespace": WH, "name": "nightly.orders"},
        "parentRun": {"id": parent, "job": {"namespace": WH, "name": "nightly"}},
        "inputDatasetVersions": [{
            "datasetVersionId": {"namespace": PG, "name": "public.raw", "version": child},
            "fields": [], "facets": {}}],
        "outputDatasetVersions": [{
            "datasetVersionId": {"namespace": PG, "name": "public.orders", "version": child},
            "fields": [
                {"name": "id", "type": "bigint", "tags": [], "description": None},
                {"name": "total", "type": "decimal(10,2)", "tags": [], "description": None}],
            "facets": {}}],
        "context": {},
        "facets": {
            "nominalTime": facet("NominalTimeRunFacet", nominalStartTime="2025-05-01T00:00:00Z",
                                 nominalEndTime="2025-05-02T00:00:00Z"),
            "parent": {"run": {"runId": parent}, "job": {"namespace": WH, "name": "nightly"}}},
    }
    job = get(client, f"/api/v1/namespaces/{WH}/jobs/nightly.orders")
    assert (job["parentJobName"], job["parentJob"], job["simpleName"]) == (
        "nightly", {"namespace": WH, "name": "nightly"}, "orders")
    get(client, f"/api/v1/jobs/runs/{run_id(99)}", status=404)

    # A run two levels down: its parent and root runs with the jobs its parent facet names.
    check = run_id(42)
    post(client, event("nightly.orders.check", check, "COMPLETE", "2025-05-01T00:04:00Z",
                       run_facets={"parent": facet(
                           "ParentRunFacet", run={"runId": child},
                           job={"namespace": WH, "name": "nightly.orders"},
                           root={"run": {"runId": parent},
                                 "job": {"namespace": WH, "name": "nightly"}})}))
    run = get(client, f"/api/v1/jobs/runs/{check}")
    assert run["parentRun"] == {"id": child,
                                "job": {"namespace": WH, "name": "nightly.orders"}}
    assert run["facets"]["parent"] == {
        "run": {"runId": child}, "job": {"namespace": WH, "name": "nightly.orders"},
        "root": {"run": {"runId": parent}, "job": {"namespace": WH, "name": "nightly"}}}


# ---------------------------------------------------------------- namespaces, jobs, datasets
def test_namespaces_jobs_and_datasets(client: TestClient) -> None:
    job_facets = {
        "sql": facet("SQLJobFacet", query="select * from public.d0"),
        "documentation": facet("DocumentationJobFacet", description="Loads d1."),
        "jobType": facet("JobTypeJobFacet", processingType="BATCH", integration="DBT",
                         jobType="MODEL"),
    }
    events = copy.deepcopy(CHAIN)
    for e in events[:2]:
        e["job"]["facets"] = job_facets
    post(client, *events)
    assert get(client, "/api/v1/namespaces") == {"namespaces": [
        {"name": PG, "createdAt": "2025-01-01T10:00:00Z", "updatedAt": "2025-01-01T11:10:00Z",
         "ownerName": None, "description": None, "isHidden": False},
        {"name": WH, "createdAt": "2025-01-01T10:00:00Z", "updatedAt": "2025-01-01T11:10:00Z",
         "ownerName": None, "description": None, "isHidden": False}]}
    assert get(client, f"/api/v1/namespaces/{enc(PG)}")["name"] == PG
    jobs = get(client, f"/api/v1/namespaces/{WH}/jobs")
    assert jobs["totalCount"] == 2 and [j["name"] for j in jobs["jobs"]] == ["load", "transform"]
    assert [j["name"] for j in get(client, f"/api/v1/namespaces/{WH}/jobs", limit=1,
                                   offset=1)["jobs"]] == ["transform"]
    load = get(client, f"/api/v1/namespaces/{WH}/jobs/load")
    latest = load.pop("latestRun")
    assert DIGEST.match(load.pop("currentVersion").pop("version"))
    assert load == {
        "id": {"namespace": WH, "name": "load"}, "type": "BATCH", "name": "load",
        "simpleName": "load", "namespace": WH, "parentJobName": None, "parentJob": None,
        "createdAt": "2025-01-01T10:00:00Z", "updatedAt": "2025-01-01T10:05:00Z",
        "inputs": [{"namespace": PG, "name": "public.d0"}],
        "outputs": [{"namespace": PG, "name": "public.d1"}],
        "location": None, "description": "Loads d1.",
        "facets": {"documentation": {"description": "Loads d1."},
                   "jobType": {"processingType": "BATCH", "integration": "DBT",
                               "jobType": "MODEL"},
                   "sql": {"query": "select * from public.d0"}},
    }
    assert (latest["id"], latest["state"], latest["startedAt"], latest["endedAt"]) == (
        run_id(1), "COMPLETED", "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z")
    datasets = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets")
    assert datasets["totalCount"] == 3
    assert [d["name"] for d in datasets["datasets"]] == ["public.d0", "public.d1", "public.d2"]
    d1 = datasets["datasets"][1]
    assert {k: d1[k] for k in ("id", "createdAt", "updatedAt", "lastModifiedAt", "fields")} == {
        "id": {"namespace": PG, "name": "public.d1"}, "createdAt": "2025-01-01T10:00:00Z",
        "updatedAt": "2025-01-01T11:10:00Z", "lastModifiedAt": "2025-01-01T10:05:00Z",
        "fields": []}


def test_a_namespace_with_jobs_and_datasets_lists_each_where_it_belongs(
        client: TestClient) -> None:
    shared = "file"  # the job and the files it reads and writes in one namespace
    post(client, event("copy", run_id(1), "COMPLETE", "2025-01-01T10:00:00Z",
                       inputs=[ds("/in/a.csv", shared)], outputs=[ds("/out/b.csv", shared)],
                       ns=shared))
    jobs = get(client, f"/api/v1/namespaces/{shared}/jobs")
    assert (jobs["totalCount"], [j["name"] for j in jobs["jobs"]]) == (1, ["copy"])
    datasets = get(client, f"/api/v1/namespaces/{shared}/datasets")
    assert (datasets["totalCount"], [d["name"] for d in datasets["datasets"]]) == (
        2, ["/in/a.csv", "/out/b.csv"])


def test_dataset_fields_come_from_the_latest_schema(client: TestClient) -> None:
    orders = "public.orders"
    customer = {"name": "customer", "type": "struct", "fields": [
        {"name": "id", "type": "bigint"}, {"name": "name", "type": "varchar"}]}
    post(client,
         event("orders", run_id(50), "COMPLETE", "2025-06-01T00:00:00Z", [], [ds(orders, **schema(
             {"name": "order_id", "type": "varchar", "description": "The order.",
              "ordinal_position": 1},
             {"name": "amount", "type": "decimal", "ordinal_position": 2}))]),
         event("orders", run_id(51), "COMPLETE", "2025-06-02T00:00:00Z", [], [orders]))
    detail = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets/{orders}")
    assert detail["fields"] == [
        {"name": "order_id", "type": "varchar", "tags": [], "description": "The order."},
        {"name": "amount", "type": "decimal", "tags": [], "description": None}]
    assert detail["lastModifiedAt"] == "2025-06-02T00:00:00Z"
    post(client, event("orders", run_id(52), "COMPLETE", "2025-06-03T00:00:00Z", [],
                       [ds(orders, **schema(("order_id", "varchar"), customer))]))
    detail = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets/{orders}")
    assert [(f["name"], f["type"]) for f in detail["fields"]] == [  # the producer's order
        ("order_id", "varchar"), ("customer", "struct"), ("customer.id", "bigint"),
        ("customer.name", "varchar")]
    versions = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets/{orders}/versions")
    assert versions["totalCount"] == 3
    assert [(v["runId"], v["version"], v["createdAt"], [f["name"] for f in v["fields"]],
             v["createdByRun"]["state"]) for v in versions["versions"]] == [
        (run_id(52), run_id(52), "2025-06-03T00:00:00Z",
         ["order_id", "customer", "customer.id", "customer.name"], "COMPLETED"),
        (run_id(51), run_id(51), "2025-06-02T00:00:00Z", [], "COMPLETED"),
        (run_id(50), run_id(50), "2025-06-01T00:00:00Z", ["order_id", "amount"], "COMPLETED")]
    assert versions["versions"][0]["id"] == {"namespace": PG, "name": orders,
                                             "version": run_id(52)}


def test_names_with_slashes_and_colons_are_url_encoded(client: TestClient) -> None:
    post(client, event("ingest", run_id(60), "COMPLETE", "2025-07-01T00:00:00Z",
                       [ds("raw/orders.csv", "s3://landing")], [ds("a/b", "s3://landing")],
                       ns="etl/daily"))
    path = f"/api/v1/namespaces/{enc('s3://landing')}/datasets/{enc('raw/orders.csv')}"
    assert get(client, path)["id"] == {"namespace": "s3://landing", "name": "raw/orders.csv"}
    versions = get(client, f"/api/v1/namespaces/{enc('s3://landing')}/datasets/{enc('a/b')}"
                           "/versions")
    assert [v["runId"] for v in versions["versions"]] == [run_id(60)]
    job = get(client, f"/api/v1/namespaces/{enc('etl/daily')}/jobs/ingest")
    assert job["outputs"] == [{"namespace": "s3://landing", "name": "a/b"}]
    runs = get(client, f"/api/v1/namespaces/{enc('etl/daily')}/jobs/ingest/runs")
    assert [r["id"] for r in runs["runs"]] == [run_id(60)]
    graph = get(client, "/api/v1/lineage", nodeId="dataset:s3://landing:a/b", depth=1)
    assert [n["id"] for n in graph["graph"]] == ["dataset:s3://landing:a/b",
                                                "job:etl/daily:ingest"]


def test_posting_the_same_events_twice_changes_no_answer(client: TestClient) -> None:
    events = [*CHAIN, load(next(p for p in VALID if p.name.endswith("1729097631761.json")))]
    post(client, *events)
    paths = [
        ("/api/v1/lineage", {"nodeId": D1}), ("/api/v1/namespaces", {}),
        (f"/api/v1/namespaces/{WH}/jobs", {}), (f"/api/v1/namespaces/{enc(PG)}/datasets", {}),
        (f"/api/v1/namespaces/{enc(PG)}/datasets/public.d1/versions", {}),
        (f"/api/v1/jobs/runs/{run_id(2)}", {}),
        ("/api/v1/column-lineage", {"nodeId": "dataset:file:/tmp/outputs/1729097570970",
                                    "withDownstream": True}),
    ]
    before = [get(client, p, **q) for p, q in paths]
    again = post(client, *events)
    assert all(r["duplicate"] for r in again)
    assert [get(client, p, **q) for p, q in paths] == before


# ---------------------------------------------------------------- column lineage
SPARK_OUT = "dataset:file:/tmp/outputs/1729097570970"
BQ = ("bigquery", "bigquery-public-data.samples.shakespeare")


def column(ns: str, name: str, field: str) -> str:
    return f"datasetField:{ns}:{name}:{field}"


def source(field: str, kind: str, subtype: str) -> dict[str, Any]:
    return {"namespace": BQ[0], "dataset": BQ[1], "field": field,
            "transformationDescription": None, "transformationType": kind,
            "transformationSubtype": subtype, "masking": False}


def test_column_lineage_of_a_spark_event(client: TestClient) -> None:
    post_corpus(client, "1729097631761.json")
    out_word = column("file", "/tmp/outputs/1729097570970", "word")
    out_sum = column("file", "/tmp/outputs/1729097570970", "sum(word_count)")
    bq_word, bq_count = column(*BQ, "word"), column(*BQ, "word_count")

    def link(a: str, b: str) -> dict[str, str]:
        return {"origin": a, "destination": b}

    def node(node_id: str, ftype: str, inputs: list[Any], ins: list[Any], outs: list[Any]
             ) -> dict[str, Any]:
        ns, rest = node_id.split(":", 2)[1:]
        name, field = rest.rsplit(":", 1) if ns == "bigquery" else (
            "/tmp/outputs/1729097570970", rest.rsplit(":", 1)[1])
        return {"id": node_id, "type": "DATASET_FIELD",
                "data": {"namespace": ns, "dataset": name, "field": field, "fieldType": ftype,
                         "transformationDescription": None, "transformationType": None,
                         "inputFields": inputs},
                "inEdges": ins, "outEdges": outs}

    word_inputs = [source("word", "DIRECT", "IDENTITY"), source("word", "INDIRECT", "FILTER"),
                   source("word", "INDIRECT", "GROUP_BY"),
                   source("word_count", "INDIRECT", "FILTER")]
    sum_inputs = [source("word", "INDIRECT", "FILTER"), source("word", "INDIRECT", "GROUP_BY"),
                  source("word_count", "DIRECT", "AGGREGATION"),
                  source("word_count", "INDIRECT", "FILTER")]
    assert get(client, "/api/v1/column-lineage", nodeId=SPARK_OUT) == {"graph": [
        node(bq_word, "string", [], [], [link(bq_word, out_sum), link(bq_word, out_word)]),
        node(bq_count, "long", [], [], [link(bq_count, out_sum), link(bq_count, out_word)]),
        node(out_sum, "long", sum_inputs, [link(bq_word, out_sum), link(bq_count, out_sum)], []),
        node(out_word, "string", word_inputs,
             [link(bq_word, out_word), link(bq_count, out_word)], []),
    ]}
    # From one source field: nothing upstream; downstream only when asked.
    alone = get(client, "/api/v1/column-lineage", nodeId=bq_word)
    assert [n["id"] for n in alone["graph"]] == [bq_word]
    down = get(client, "/api/v1/column-lineage", nodeId=bq_word, withDownstream="true")
    assert [(n["id"], n["inEdges"], n["outEdges"]) for n in down["graph"]] == [
        (bq_word, [], [link(bq_word, out_sum), link(bq_word, out_word)]),
        (out_sum, [link(bq_word, out_sum)], []),
        (out_word, [link(bq_word, out_word)], [])]


def test_column_lineage_depth_over_two_dbt_models(client: TestClient) -> None:
    post_corpus(client, "csv_to_postgres_local__event_007.json",
                "csv_to_postgres_local__event_009.json")
    pg = "postgres://localhost:5432"
    revenue = column(pg, "dbt_test.main.customer_analytics", "total_revenue")
    completed = column(pg, "dbt_test.main.stg_orders", "completed_amount")
    amount = column(pg, "dbt_test.main.raw_orders", "amount")
    status = column(pg, "dbt_test.main.raw_orders", "status")
    one = get(client, "/api/v1/column-lineage", nodeId=revenue, depth=1)
    assert [n["id"] for n in one["graph"]] == [revenue, completed]
    assert one["graph"][0]["data"]["inputFields"] == [
        {"namespace": pg, "dataset": "dbt_test.main.stg_orders", "field": "completed_amount",
         "transformationDescription": None, "transformationType": None,
         "transformationSubtype": None}]
    two = get(client, "/api/v1/column-lineage", nodeId=revenue, depth=2)
    assert [(n["id"], [e["origin"] for e in n["inEdges"]]) for n in two["graph"]] == [
        (revenue, [completed]), (amount, []), (status, []), (completed, [amount, status])]


def post_corpus(client: TestClient, *suffixes: str) -> None:
    for suffix in suffixes:
        path = next(p for p in VALID if p.name.endswith(suffix))
        r = client.post("/api/v1/lineage", content=path.read_bytes(), headers=JSON)
        assert r.status_code == 201, r.text


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(("path", "params", "status"), [
    ("/api/v1/lineage", {"nodeId": f"dataset:{PG}:public.nope"}, 404),
    ("/api/v1/lineage", {"nodeId": "job:warehouse:nope"}, 404),
    ("/api/v1/lineage", {"nodeId": "run:abc"}, 400),
    ("/api/v1/lineage", {"nodeId": "dataset:only"}, 400),
    ("/api/v1/lineage", {"nodeId": "datasetField:a:b"}, 400),
    ("/api/v1/lineage", {"nodeId": D1, "asOf": "yesterday"}, 400),
    ("/api/v1/lineage", {"nodeId": D1, "depth": -1}, 400),
    ("/api/v1/lineage", {}, 400),
    ("/api/v1/column-lineage", {"nodeId": LOAD}, 400),
    ("/api/v1/column-lineage", {"nodeId": f"datasetField:{PG}:public.d1:nope"}, 404),
    ("/api/v1/namespaces/nope", {}, 404),
    ("/api/v1/namespaces/nope/jobs", {}, 404),
    ("/api/v1/namespaces/nope/datasets", {}, 404),
    (f"/api/v1/namespaces/{WH}/jobs/nope", {}, 404),
    (f"/api/v1/namespaces/{WH}/jobs/nope/runs", {}, 404),
    (f"/api/v1/namespaces/{enc(PG)}/datasets/public.nope", {}, 404),
    (f"/api/v1/namespaces/{enc(PG)}/datasets/public.nope/versions", {}, 404),
    (f"/api/v1/namespaces/{WH}/other", {}, 404),
    ("/api/v1/jobs/runs/not-a-run", {}, 404),
])
def test_unknown_nodes_are_404_and_malformed_ids_400(
        client: TestClient, path: str, params: dict[str, Any], status: int) -> None:
    post(client, *CHAIN)
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


# ---------------------------------------------------------------- every corpus event
def test_every_valid_corpus_event_is_found_through_the_api(client: TestClient) -> None:
    """For each event of valid/: its job, run, inputs, outputs and schema fields."""
    events = []
    for path in VALID:
        r = client.post("/api/v1/lineage", content=path.read_bytes(), headers=JSON)
        assert r.status_code in (200, 201), (path.name, r.text)
        events.append((path.name, load(path), r.json()["warnings"]))
    # Examples reuse run ids: the types every event of a run gave each field of a dataset.
    stated: dict[tuple[str, str, str, str], set[str | None]] = {}
    for _, e, _ in events:
        for d in [*(e.get("inputs") or []), *(e.get("outputs") or [])] if "run" in e else []:
            for path, kind in field_paths(d).items():
                key = (e["run"]["runId"].lower(), d["namespace"], d["name"], path)
                stated.setdefault(key, set()).add(kind)
    for name, e, warnings in events:
        bad = {w["field"] for w in warnings if w["rule"] == "facet-schema"}
        job = e.get("job")
        if job is not None:
            jpath = f"/api/v1/namespaces/{enc(job['namespace'])}/jobs/{enc(job['name'])}"
            assert get(client, jpath)["id"] == {"namespace": job["namespace"],
                                                "name": job["name"]}, name
        run = e.get("run")
        if run is not None:
            got = get(client, f"/api/v1/jobs/runs/{enc(run['runId'])}")
            assert got["id"] == run["runId"], name
            assert got["state"] in ("COMPLETED", "RUNNING", "NEW"), name
            runs = get(client, f"{jpath}/runs", limit=1000)["runs"]
            assert run["runId"] in [r["id"] for r in runs], name
        for side_name, slot in (("inputs", "inputDatasetVersions"),
                                ("outputs", "outputDatasetVersions")):
            for i, d in enumerate(e.get(side_name) or []):
                expected = field_paths(d) if f"/{side_name}/{i}/facets/schema" not in bad else []
                dpath = f"/api/v1/namespaces/{enc(d['namespace'])}/datasets/{enc(d['name'])}"
                found = get(client, dpath)
                assert {"namespace": d["namespace"], "name": d["name"]} in [
                    found["id"], *found["symlinks"]], name
                if run is None:
                    continue
                versions = [x for x in got[slot] if x["datasetVersionId"]["namespace"] ==
                            d["namespace"] and x["datasetVersionId"]["name"] == d["name"]]
                assert len(versions) == 1, (name, d["name"])
                fields = {f["name"]: f["type"] for f in versions[0]["fields"]}
                for path in expected:
                    key = (run["runId"].lower(), d["namespace"], d["name"], path)
                    assert path in fields and fields[path] in stated[key], (name, path)
        if job is None:  # a DatasetEvent: its schema is the dataset's latest
            d = e["dataset"]
            found = get(client, f"/api/v1/namespaces/{enc(d['namespace'])}/datasets/"
                                f"{enc(d['name'])}")
            fields = {f["name"]: f["type"] for f in found["fields"]}
            assert field_paths(d).items() <= fields.items(), name
        if job is not None and run is None:  # a JobEvent: its lineage as of its time
            graph = get(client, "/api/v1/lineage", depth=1, asOf=e["eventTime"],
                        nodeId=f"job:{job['namespace']}:{job['name']}")
            node = next(n for n in graph["graph"] if n["type"] == "JOB")
            named = {(x["namespace"], x["name"]) for x in
                     node["data"]["inputs"] + node["data"]["outputs"]}
            assert {(d["namespace"], d["name"]) for d in e["inputs"] + e["outputs"]} <= named


def field_paths(dataset: dict[str, Any]) -> dict[str, str | None]:
    """Dotted field paths and types of a dataset's schema facet."""
    out: dict[str, str | None] = {}

    def walk(fields: Any, prefix: str) -> None:
        for f in fields or []:
            path = f"{prefix}{f['name']}"
            out[path] = f.get("type") or None
            walk(f.get("fields"), f"{path}.")

    walk(((dataset.get("facets") or {}).get("schema") or {}).get("fields"), "")
    return out


def test_schema_fields_read_back_in_the_producers_order(client: TestClient) -> None:
    """No ordinal positions given: the order of the schema facet's array is kept."""
    post(client, event("order_sink", run_id(900), "COMPLETE", "2026-11-24T10:00:00Z",
                       outputs=[ds("orders_sorted", **schema(("zeta", "INT"), ("alpha", "TEXT"),
                                                              ("mid", "DATE")))]))
    dataset = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets/orders_sorted")
    assert [f["name"] for f in dataset["fields"]] == ["zeta", "alpha", "mid"]
    versions = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets/orders_sorted/versions")
    assert [f["name"] for f in versions["versions"][0]["fields"]] == ["zeta", "alpha", "mid"]


def test_a_dataset_event_shows_its_schema_not_fields_only_lineage_names(
        client: TestClient) -> None:
    lineage = facet("ColumnLineageDatasetFacet", fields={
        "total": {"inputFields": [{"namespace": PG, "name": "public.src", "field": "amount",
                                   "transformations": [{"type": "DIRECT",
                                                        "subtype": "TRANSFORMATION"}]}]}})
    dataset_event = {
        "eventTime": "2026-11-24T11:00:00Z", "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": PG, "name": "public.report", "facets": {
            **schema(("id", "INT")), "columnLineage": lineage}}}
    r = client.post("/api/v1/lineage", content=json.dumps(dataset_event), headers=JSON)
    assert r.status_code == 201, r.text
    report = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets/public.report")
    assert [f["name"] for f in report["fields"]] == ["id"]  # "total" is only lineage-named
    source = get(client, f"/api/v1/namespaces/{enc(PG)}/datasets/public.src")
    assert source["fields"] == []  # no schema was ever reported for the source
