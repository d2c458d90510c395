"""The ingest fast path (api/ingest_asgi.py) and the commit thread behind it: the same answers
as the FastAPI routes for every status, over real HTTP and in-process; a failed commit
answers 5xx to every request in it and stores nothing; the stored text and digest of every
corpus event are today's canonical JSON."""

from __future__ import annotations

import asyncio
import copy
import gzip
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from procs import Server
from starlette.types import Receive, Scope, Send
from test_lineage_receiver import CORPUS, JSON, fresh, run_events

from dpgraph.api.app import create_app
from dpgraph.api.ingest_asgi import IngestFront
from dpgraph.errors import DpgraphError, StoreUnavailable
from dpgraph.lineage.validation import EventValidator
from dpgraph.log.sqlite_log import GroupCommit, NewRecord, SqliteLog, canonical_json, digest_of
from dpgraph.services.lineage import to_record
from dpgraph.settings import Settings

LIMIT = 4096


def small_events() -> list[dict[str, Any]]:
    return [fresh(e) for e in run_events() if len(json.dumps(e)) < 2500]


def cases() -> list[tuple[str, str, bytes, dict[str, str], int]]:
    """(label, path, body, headers, expected status), in the order they are sent."""
    a, b, c, d, *_ = small_events()
    no_run_id = copy.deepcopy(a)
    del no_run_id["run"]["runId"]
    bad = copy.deepcopy(b)
    bad["run"]["runId"] = "not-a-uuid"
    big = copy.deepcopy(c)
    big["job"]["facets"] = {"padding": {"text": "x" * 10_000}}
    ev, bat = "/api/v1/lineage", "/api/v1/lineage/batch"
    gz = {**JSON, "Content-Encoding": "gzip"}
    return [
        ("new", ev, json.dumps(a).encode(), JSON, 201),
        ("retry", ev, json.dumps(a, indent=2, sort_keys=True).encode(), JSON, 200),
        ("gzip+bearer", ev, gzip.compress(json.dumps(b).encode()),
         {**gz, "Authorization": "Bearer any-token"}, 201),
        ("charset", ev, json.dumps(c).encode(),
         {"Content-Type": "Application/JSON; charset=utf-8"}, 201),
        ("empty", ev, b"", JSON, 400),
        ("blank", ev, b"  \n ", JSON, 400),
        ("not json", ev, b"{not json", JSON, 400),
        ("not utf-8", ev, b"\xff\xfe", JSON, 400),
        ("text/plain", ev, b"{}", {"Content-Type": "text/plain"}, 415),
        ("no content-type", ev, b"{}", {}, 415),
        ("brotli", ev, b"{}", {**JSON, "Content-Encoding": "br"}, 415),
        ("bad gzip", ev, b"not gzip", gz, 400),
        ("too large", ev, json.dumps(big).encode(), JSON, 413),
        ("gzip bomb", ev, gzip.compress(json.dumps(big).encode()), gz, 413),
        ("no runId", ev, json.dumps(no_run_id).encode(), JSON, 422),
        ("batch partial", bat, json.dumps([d, bad]).encode(), JSON, 200),
        ("batch retry", bat, json.dumps([a, d]).encode(), JSON, 200),
        ("batch not array", bat, json.dumps(a).encode(), JSON, 400),
        ("batch empty", bat, b"[]", JSON, 200),
        ("batch text/plain", bat, b"[]", {"Content-Type": "text/plain"}, 415),
    ]


def without_front(settings: Settings) -> FastAPI:
    """The same app with its FastAPI routes answering the lineage POSTs."""
    app = create_app(settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not IngestFront]
    return app


def answers(client: TestClient) -> list[tuple[int, str, Any]]:
    out = []
    for _, path, body, headers, _ in CASES:
        r = client.post(path, content=body, headers=headers)
        out.append((r.status_code, r.headers["content-type"], r.json()))
    return out


CASES = cases()


# ---------------------------------------------------------------- in-process
def test_the_front_answers_exactly_as_the_fastapi_routes(tmp_path: Path) -> None:
    fast = Settings(data_dir=tmp_path / "fast", max_body_bytes=LIMIT)
    plain = Settings(data_dir=tmp_path / "plain", max_body_bytes=LIMIT)
    with TestClient(create_app(fast)) as c:
        got = answers(c)
        log_head = c.get("/health").json()["offsets"]["log"]
    with TestClient(without_front(plain)) as c:
        expected = answers(c)
    assert [s for s, _, _ in got] == [case[-1] for case in CASES]
    assert got == expected
    problem = [ct for s, ct, _ in got if s >= 400]
    assert problem and all(ct == "application/problem+json" for ct in problem)
    assert log_head == 5  # a, b, c, d and nothing from a refused request
    partial = got[[c[0] for c in CASES].index("batch partial")][2]
    assert partial["status"] == "partial_success"
    assert [f["index"] for f in partial["failed_events"]] == [1]
    retried = got[[c[0] for c in CASES].index("batch retry")][2]
    assert [e["duplicate"] for e in retried["events"]] == [True, True]


def test_the_front_answers_without_calling_the_app_behind_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_body_bytes=LIMIT)
    app = create_app(settings)
    passed: list[str] = []

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    front = IngestFront(behind)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await app(scope, receive, send)  # opens and closes the runtime
            return
        await front({**scope, "app": app}, receive, send)

    with TestClient(asgi) as c:
        for label, path, body, headers, status in CASES:
            assert c.post(path, content=body, headers=headers).status_code == status, label
        assert c.get("/api/v1/lineage").status_code == 299
        assert c.post("/api/v1/lineage/").status_code == 299
        assert c.post("/api/v1/products").status_code == 299
    assert passed == ["GET /api/v1/lineage", "POST /api/v1/lineage/", "POST /api/v1/products"]


def test_other_methods_and_paths_still_reach_fastapi(client: TestClient) -> None:
    r = client.put("/api/v1/lineage", content=b"{}", headers=JSON)
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/lineage").status_code == 400  # the read API's nodeId
    assert client.get("/api/v1/events/lineage").json() == {"events": [], "totalCount": 0}
    assert "/api/v1/lineage" in client.get("/openapi.json").json()["paths"]


def poison(log_path: Path, run_id: str) -> None:
    """A real commit failure: SQLite aborts the insert of this run's event."""
    db = sqlite3.connect(log_path)
    db.execute(f"CREATE TRIGGER poison BEFORE INSERT ON log WHEN NEW.key = 'run:{run_id}' "
               "BEGIN SELECT RAISE(ABORT, 'the disk refused'); END")
    db.commit()
    db.close()


def test_a_failed_commit_answers_5xx_and_stores_nothing(client: TestClient) -> None:
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    good, other, doomed = small_events()[:3]
    poison(rt.settings.data_dir / "log.sqlite", doomed["run"]["runId"])
    r = client.post("/api/v1/lineage/batch", content=json.dumps([good, other, doomed]),
                    headers=JSON)
    assert r.status_code == 500, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "the service failed; see its log"  # no internals shown
    r = client.post("/api/v1/lineage", content=json.dumps(doomed), headers=JSON)
    assert r.status_code == 500
    assert client.get("/health").json()["offsets"]["log"] == 0
    # The committer survives the failure.
    assert client.post("/api/v1/lineage", content=json.dumps(good), headers=JSON
                       ).status_code == 201
    assert client.get("/api/v1/events/lineage").json()["events"] == [good]


# ---------------------------------------------------------------- the commit thread
def record(n: int, key: str = "k") -> NewRecord:
    payload = {"event": {"n": n}}
    return NewRecord("lineage.event", key, payload, unique=True, digest=digest_of(payload))


def test_every_request_of_a_failed_commit_gets_the_error(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = SqliteLog(path)
    commit = GroupCommit(log)
    poison(path, "doomed")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the commit thread waits on this write lock

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(commit.append_async([record(0)]))
        await asyncio.sleep(0.3)  # the thread is now inside the first commit, blocked
        rest = [asyncio.ensure_future(commit.append_async(r)) for r in
                ([record(1)], [record(2), record(3)], [record(4, "run:doomed")])]
        await asyncio.sleep(0.3)
        blocker.execute("ROLLBACK")
        return await asyncio.gather(first, *rest, return_exceptions=True)

    first, *rest = asyncio.run(scenario())
    assert [a.record.offset for a in first] == [1]
    assert all(isinstance(e, sqlite3.DatabaseError) for e in rest), rest
    assert [r.offset for r in log.read()] == [1]  # the failed transaction left nothing
    assert [a.record.offset for a in commit.append([record(1)])] == [2]
    commit.close()
    blocker.close()
    log.close()


def test_close_commits_what_is_queued_then_refuses(tmp_path: Path) -> None:
    log = SqliteLog(tmp_path / "log.sqlite")
    commit = GroupCommit(log)
    results: list[Any] = []

    def writer(n: int) -> None:
        results.extend(commit.append([record(n, f"w{n}")]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    commit.close()
    for t in threads:
        t.join()
    # Each writer either got in before close (and is committed) or was refused.
    assert len(results) == log.head()
    with pytest.raises(StoreUnavailable):
        commit.append([record(99)])
    log.close()


# ---------------------------------------------------------------- stored text and digest
def corpus_events() -> Iterator[tuple[str, Any]]:
    for folder in ("valid", "partial", "invalid"):
        for path in sorted((CORPUS / folder).rglob("*.json")):
            try:
                yield str(path.relative_to(CORPUS)), json.loads(path.read_bytes())
            except ValueError:
                continue


def test_stored_text_and_digest_are_the_canonical_json_of_every_corpus_event() -> None:
    validator = EventValidator()
    checked: list[str] = []
    extra = [{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": str(uuid.uuid4())},
              "job": {"namespace": "ns", "name": "nämé ✓ 😀"},
              "producer": "https://example.com/p", "eventType": "COMPLETE",
              "inputs": [{"namespace": "s3://b", "name": "t", "facets": {"stats": {
                  "_producer": "p", "_schemaURL": "https://example.com/s",
                  "ratio": 0.00001, "big": 1e-07, "huge": 1e+22, "n": 2**70,
                  "ctl": "\x00\x1f\x7f\u2028", "é": 1, "e": 2, "😀": 3}}}]}]
    for name, event in [*corpus_events(), *(("extra", e) for e in extra)]:
        try:
            validated = validator.validate(event)
        except DpgraphError:
            continue  # refused events are never stored
        rec = to_record(validated)
        assert rec.text == canonical_json(rec.payload), name
        assert rec.digest == hashlib.sha256(canonical_json(event).encode()).hexdigest(), name
        assert rec.digest == digest_of(event)
        checked.append(name)
    assert len(checked) > 100 and "extra" in checked


# ---------------------------------------------------------------- real HTTP
def test_the_front_over_real_http(server: Server) -> None:
    a, b, c, d, *_ = small_events()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        def post(path: str, body: Any, **kw: Any) -> httpx.Response:
            return http.post(path, **({"content": body} if isinstance(body, bytes)
                                      else {"json": body}), **kw)

        assert post("/api/v1/lineage", a).status_code == 201
        again = post("/api/v1/lineage", json.dumps(a, indent=1).encode(), headers=JSON)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        r = post("/api/v1/lineage", gzip.compress(json.dumps(b).encode()),
                 headers={**JSON, "Content-Encoding": "gzip", "Authorization": "Bearer x"})
        assert r.status_code == 201
        assert post("/api/v1/lineage", b"", headers=JSON).status_code == 400
        assert post("/api/v1/lineage", b"{}", headers={"Content-Type": "text/xml"}
                    ).status_code == 415
        r = post("/api/v1/lineage", b"{}", headers={**JSON, "Content-Encoding": "zstd"})
        assert r.status_code == 415
        assert r.headers["content-type"] == "application/problem+json"
        del c["run"]["runId"]
        r = post("/api/v1/lineage", c)
        assert r.status_code == 422 and "/run/runId" in [e["field"] for e in r.json()["errors"]]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as it streams
            yield b"[" + b" " * (3 * 1024 * 1024)
            yield b" " * (3 * 1024 * 1024) + b"]"

        r = http.post("/api/v1/lineage/batch", content=chunks(), headers=JSON)
        assert r.status_code == 413 and r.json()["title"] == "Payload too large"
        r = http.post("/api/v1/lineage/batch", content=iter([b"[", json.dumps(d).encode(),
                                                             b", {}]"]), headers=JSON)
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "partial_success" and body["summary"]["successful"] == 1
        assert [f["index"] for f in body["failed_events"]] == [1]
        assert http.put("/api/v1/lineage/batch", content=b"[]").status_code == 405
    stored = server.get("/api/v1/events/lineage").json()
    assert sorted(e["run"]["runId"] for e in stored["events"]) == sorted(
        e["run"]["runId"] for e in (a, b, d))


@pytest.fixture
def one_committer(tmp_path: Path) -> Iterator[Server]:
    """A service acknowledging in one process: one group commit holds every request."""
    srv = Server(tmp_path / "data", tmp_path, env={"DPGRAPH_INGEST_WORKERS": "1"})
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def test_a_failed_commit_over_real_http_fails_every_request_in_it(
        one_committer: Server) -> None:
    server = one_committer
    first, *batch = small_events()[:4]
    doomed = batch[-1]
    path = server.data_dir / "log.sqlite"
    poison(path, doomed["run"]["runId"])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    answers: dict[str, int] = {}

    def send(event: dict[str, Any]) -> None:
        r = httpx.post(server.url + "/api/v1/lineage", json=event, timeout=30)
        answers[event["run"]["runId"]] = r.status_code

    threads = [threading.Thread(target=send, args=(first,))]
    threads[0].start()
    time.sleep(0.5)  # the first request's commit now waits on the write lock
    threads += [threading.Thread(target=send, args=(e,)) for e in batch]
    for t in threads[1:]:
        t.start()
    time.sleep(0.5)  # the others are queued behind it, to be committed together
    blocker.execute("ROLLBACK")
    blocker.close()
    for t in threads:
        t.join()
    assert answers[first["run"]["runId"]] == 201
    assert [answers[e["run"]["runId"]] for e in batch] == [500] * len(batch)
    stored = server.get("/api/v1/events/lineage").json()
    assert [e["run"]["runId"] for e in stored["events"]] == [first["run"]["runId"]]
