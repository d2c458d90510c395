"""The OpenLineage receiver over HTTP: acceptance, refusal, gzip, batch, retries, listing,
the real openlineage-python client, and a SIGKILL in the middle of concurrent producers."""

from __future__ import annotations

import copy
import gzip
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from procs import Server, wait_projected

from dpgraph.log.sqlite_log import GroupCommit, NewRecord, SqliteLog, digest_of
from dpgraph.offline_replay import replay
from dpgraph.runtime import open_runtime
from dpgraph.settings import Settings

SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR",
                             Path(__file__).resolve().parents[2] / "shared"))
CORPUS = SHARED / "corpus" / "openlineage"
VALID = sorted((CORPUS / "valid").rglob("*.json"))
JSON = {"Content-Type": "application/json"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def run_events() -> list[dict[str, Any]]:
    return [e for e in map(load, VALID) if isinstance(e.get("run"), dict)]


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """The same event for a new run: what a producer sends on its next execution."""
    out = copy.deepcopy(event)
    out["run"]["runId"] = str(uuid.uuid4())
    return out


def wait_client(c: TestClient) -> dict[str, int]:
    c.app.state.runtime.sync()  # type: ignore[attr-defined]
    return dict(c.get("/health").json()["offsets"])


# ---------------------------------------------------------------- single events
def test_a_valid_event_is_stored_and_projected(client: TestClient) -> None:
    event = fresh(run_events()[0])
    r = client.post("/api/v1/lineage", content=json.dumps(event), headers=JSON)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["duplicate"] is False and body["eventId"] == digest_of(event)
    offsets = wait_client(client)
    assert offsets["projected"] == offsets["log"] == body["logOffset"]
    listed = client.get("/api/v1/events/lineage").json()
    assert listed["totalCount"] == 1 and listed["events"] == [event]


def test_a_retry_is_answered_2xx_and_stored_once(client: TestClient) -> None:
    event = fresh(run_events()[1])
    first = client.post("/api/v1/lineage", content=json.dumps(event), headers=JSON)
    # Same canonical JSON, different key order and spacing.
    again = client.post("/api/v1/lineage", content=json.dumps(event, indent=3, sort_keys=True),
                        headers=JSON)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    assert again.json()["logOffset"] == first.json()["logOffset"]
    assert client.get("/api/v1/events/lineage").json()["totalCount"] == 1


def test_gzip_bodies_are_inflated(client: TestClient) -> None:
    event = fresh(run_events()[2])
    r = client.post("/api/v1/lineage", content=gzip.compress(json.dumps(event).encode()),
                    headers={**JSON, "Content-Encoding": "gzip",
                             "Authorization": "Bearer any-token"})
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/events/lineage").json()["events"] == [event]


@pytest.mark.parametrize(("content", "headers", "status"), [
    (b"{not json", JSON, 400),
    (b"\xff\xfe", JSON, 400),
    (b"{}", {"Content-Type": "text/plain"}, 415),
    (b"{}", {**JSON, "Content-Encoding": "br"}, 415),
    (b"not gzip", {**JSON, "Content-Encoding": "gzip"}, 400),
])
def test_unreadable_bodies_are_refused_and_change_nothing(
        client: TestClient, content: bytes, headers: dict[str, str], status: int) -> None:
    before = client.get("/health").json()["offsets"]["log"]
    r = client.post("/api/v1/lineage", content=content, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/health").json()["offsets"]["log"] == before


def test_an_event_without_run_id_is_refused_with_its_pointer(client: TestClient) -> None:
    event = fresh(run_events()[0])
    del event["run"]["runId"]
    r = client.post("/api/v1/lineage", content=json.dumps(event), headers=JSON)
    assert r.status_code == 422
    assert "/run/runId" in [e["field"] for e in r.json()["errors"]]
    assert client.get("/health").json()["offsets"]["log"] == 0


def test_too_large_bodies_are_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "small", max_body_bytes=4096)
    from dpgraph.api.app import create_app

    with TestClient(create_app(settings)) as c:
        event = fresh(run_events()[0])
        event["job"]["facets"] = {"padding": {"text": "x" * 10_000}}
        r = c.post("/api/v1/lineage", content=json.dumps(event), headers=JSON)
        assert r.status_code == 413
        bomb = gzip.compress(json.dumps(event).encode())
        assert len(bomb) < 4096
        r = c.post("/api/v1/lineage", content=bomb, headers={**JSON, "Content-Encoding": "gzip"})
        assert r.status_code == 413
        assert c.get("/health").json()["offsets"]["log"] == 0


# ---------------------------------------------------------------- batch
def test_a_batch_answers_per_event(client: TestClient) -> None:
    good = [fresh(e) for e in run_events()[:3]]
    bad = copy.deepcopy(good[0])
    bad["run"]["runId"] = "not-a-uuid"
    r = client.post("/api/v1/lineage/batch", content=json.dumps([good[0], bad, *good[1:]]),
                    headers=JSON)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "partial_success"
    assert body["summary"] == {"received": 4, "successful": 3, "failed": 1, "retriable": 0,
                               "non_retriable": 1}
    assert [f["index"] for f in body["failed_events"]] == [1]
    assert [e["index"] for e in body["events"]] == [0, 2, 3]
    assert client.get("/api/v1/events/lineage").json()["totalCount"] == 3


def test_a_batch_body_must_be_an_array(client: TestClient) -> None:
    r = client.post("/api/v1/lineage/batch", content=json.dumps(run_events()[0]), headers=JSON)
    assert r.status_code == 400


# ---------------------------------------------------------------- listing
def test_listing_filters_and_pages_like_marquez(client: TestClient) -> None:
    base = run_events()[0]
    times = ["2024-01-01T10:00:00Z", "2024-01-02T10:00:00+02:00", "2024-01-03T10:00:00Z"]
    for t in times:
        e = fresh(base)
        e["eventTime"] = t
        assert client.post("/api/v1/lineage", content=json.dumps(e), headers=JSON).is_success
    listed = client.get("/api/v1/events/lineage").json()
    assert [e["eventTime"] for e in listed["events"]] == times[::-1]
    asc = client.get("/api/v1/events/lineage", params={"sortDirection": "asc", "limit": 1,
                                                       "offset": 1}).json()
    assert asc["totalCount"] == 3 and [e["eventTime"] for e in asc["events"]] == [times[1]]
    window = client.get("/api/v1/events/lineage", params={
        "after": "2024-01-02T00:00:00Z", "before": "2024-01-02T23:59:59Z"}).json()
    assert [e["eventTime"] for e in window["events"]] == [times[1]]
    assert client.get("/api/v1/events/lineage", params={"after": "yesterday"}).status_code == 400


# ---------------------------------------------------------------- group commit
def test_group_commit_under_concurrency_stores_each_event_once(tmp_path: Path) -> None:
    log = SqliteLog(tmp_path / "log.sqlite")
    commit = GroupCommit(log)
    results: list[Any] = []
    lock = threading.Lock()

    def producer(n: int) -> None:
        for i in range(50):
            payload = {"event": {"producer": n, "i": i % 40}}  # 10 retries per producer
            out = commit.append([NewRecord("lineage.event", f"p{n}", payload, unique=True,
                                           digest=digest_of(payload))])
            with lock:
                results.extend(out)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = [r for r in log.read() if r.kind == "lineage.event"]
    assert len(results) == 400 and len(stored) == 8 * 40
    assert sum(1 for r in results if r.duplicate) == 8 * 10
    assert {r.record.offset for r in results} == {r.offset for r in stored}
    commit.close()
    log.close()


# ---------------------------------------------------------------- real processes
def test_openlineage_python_client_posts_with_and_without_gzip(server: Server) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import Dataset, Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import schema_dataset
    from openlineage.client.transport.http import HttpCompression, HttpConfig, HttpTransport

    sent = []
    for compression in (None, HttpCompression.GZIP):
        client = OpenLineageClient(transport=HttpTransport(HttpConfig(
            url=server.url, compression=compression)))
        schema = schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name="order_id", type="VARCHAR")])
        event = RunEvent(
            eventType=RunState.COMPLETE, eventTime="2026-11-24T10:00:00.000Z",
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace="mesh-dbt", name=f"mesh.sales_orders.{compression}"),
            producer="https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
            inputs=[Dataset(namespace="s3://raw", name="orders")],
            outputs=[Dataset(namespace="s3://mesh-sales-gold", name="sales_orders",
                             facets={"schema": schema})])
        client.emit(event)
        sent.append(event.run.runId)
    wait_projected(server)
    stored = server.get("/api/v1/events/lineage").json()
    assert sorted(e["run"]["runId"] for e in stored["events"]) == sorted(sent)


def test_sigkill_among_concurrent_producers_loses_nothing_acknowledged(server: Server) -> None:
    events = run_events()
    acked: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def producer(seed: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for i in range(400):
                if stop.is_set():
                    return
                event = fresh(events[(seed * 7 + i) % len(events)])
                try:
                    r = http.post("/api/v1/lineage", content=json.dumps(event), headers=JSON)
                except httpx.HTTPError:
                    return  # the server is gone: this event was never acknowledged
                if r.status_code in (200, 201):
                    with lock:
                        acked[digest_of(event)] = r.json()["logOffset"]

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    while True:  # kill mid-stream, once a good number of events are acknowledged
        with lock:
            if len(acked) >= 150:
                break
    server.kill()
    stop.set()
    for t in threads:
        t.join()

    server.start()
    offsets = wait_projected(server)
    assert offsets["projected"] == offsets["log"]
    stored: dict[str, int] = {}
    for page in range(0, offsets["log"] + 1000, 1000):
        batch = server.get("/api/v1/events/lineage", params={
            "limit": 1000, "offset": page, "sortDirection": "asc"}).json()["events"]
        for e in batch:
            d = digest_of(e)
            stored[d] = stored.get(d, 0) + 1
    assert all(stored.get(d) == 1 for d in acked), "an acknowledged event is missing or doubled"
    assert len(acked) >= 150

    server.stop()
    rt = open_runtime(Settings(data_dir=server.data_dir))
    try:
        live = set(rt.store.quads())
    finally:
        rt.close()
    replay(Settings(data_dir=server.data_dir))
    rt = open_runtime(Settings(data_dir=server.data_dir), catch_up=False)
    try:
        assert set(rt.store.quads()) == live
        assert any(q.graph_name.value.endswith("/" + next(iter(acked))) for q in live)
    finally:
        rt.close()
