"""Background compaction of the embedded graph store: when it is due, that it runs on the real
store after the start-up catch-up and during ingest, that it changes no answer, that a
rebuilt graph is compacted anew."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from dpgraph.lineage.validation import EventValidator
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.offline_replay import replay
from dpgraph.runtime import open_runtime
from dpgraph.services.lineage import to_record
from dpgraph.services.projector import PROJECTION, STORE_COMPACTED
from dpgraph.services.store_compaction import StoreCompaction
from dpgraph.settings import Settings
from dpgraph.store.base import UserQuery
from dpgraph.store.oxigraph_store import OxigraphStore

PRODUCER = "https://example.com/producer"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
COUNT_RUNS = "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a <https://w3id.org/dpgraph/ns#Run> }"


def event(job: str) -> dict:
    return {"eventType": "COMPLETE", "eventTime": "2025-01-01T10:00:00Z",
            "producer": PRODUCER, "schemaURL": SCHEMA, "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": "etl", "name": job},
            "inputs": [{"namespace": "s3://raw", "name": f"{job}_in"}],
            "outputs": [{"namespace": "s3://gold", "name": f"{job}_out"}]}


def append_events(data: Path, n: int) -> None:
    log = SqliteLog(data / "log.sqlite")
    validator = EventValidator()
    log.append_all([to_record(validator.validate(event(f"job{i}"))) for i in range(n)])
    log.close()


def runs(store: object) -> int:
    assert isinstance(store, OxigraphStore)
    return int(next(iter(store.select(COUNT_RUNS)))["n"].value)


def test_due_after_the_threshold_then_after_doubling(tmp_path: Path) -> None:
    log = SqliteLog(tmp_path / "log.sqlite")
    store = OxigraphStore(tmp_path / "graph")
    try:
        compaction = StoreCompaction(store, log, after_records=10)
        assert not compaction.due(9)
        assert compaction.due(10)
        log.set_projected(STORE_COMPACTED, 10)
        assert not compaction.due(19)  # 9 since: below the threshold
        assert compaction.due(20)
        log.set_projected(STORE_COMPACTED, 100)
        assert not compaction.due(150)  # 50 since, fewer than the 100 compacted
        assert compaction.due(200)
        assert not StoreCompaction(store, log, after_records=0).due(10**9)  # 0: never
    finally:
        store.close()
        log.close()


def test_compacts_after_the_catch_up_and_during_ingest_without_changing_answers(
        tmp_path: Path) -> None:
    append_events(tmp_path, 30)
    settings = Settings(data_dir=tmp_path, store_compact_after=20)
    rt = open_runtime(settings)
    try:
        assert rt.compaction is not None
        rt.compaction.wait()
        assert rt.log.projected(STORE_COMPACTED) == rt.log.projected(PROJECTION) == 30
        assert runs(rt.store) == 30
        answer = rt.store.answer_query(UserQuery(COUNT_RUNS, timeout=30))
        assert b'"30"' in answer.body  # a user query's snapshot sees the compacted store
        for i in range(29):  # 29 more: fewer than the 30 compacted, not due yet
            rt.lineage.receive(json.dumps(event(f"later{i}")).encode())
        rt.sync()
        rt.compaction.wait()
        assert rt.log.projected(STORE_COMPACTED) == 30
        # One more: 60 projected, 30 since, as many as compacted: due, and started by
        # the projection as it applies the record.
        rt.lineage.receive(json.dumps(event("last")).encode())
        rt.sync()
        rt.compaction.wait()
        assert rt.log.projected(STORE_COMPACTED) == 60
        assert runs(rt.store) == 60
        answer = rt.store.answer_query(UserQuery(COUNT_RUNS, timeout=30))
        assert b'"60"' in answer.body
    finally:
        rt.close()


def compacted_after_start(data: Path, after_records: int) -> tuple[int, int]:
    """Start the service, let a compaction due after the catch-up end, stop it: the offset
    the last compaction covered, and the runs the graph holds."""
    rt = open_runtime(Settings(data_dir=data, store_compact_after=after_records))
    try:
        assert rt.compaction is not None
        rt.compaction.wait()
        return rt.log.projected(STORE_COMPACTED), runs(rt.store)
    finally:
        rt.close()


def test_below_the_threshold_nothing_runs_and_a_replay_starts_over(tmp_path: Path) -> None:
    append_events(tmp_path, 10)
    assert compacted_after_start(tmp_path, 20) == (0, 10)
    assert compacted_after_start(tmp_path, 5) == (10, 10)
    replay(Settings(data_dir=tmp_path))  # the rebuilt store is not compacted
    log = SqliteLog(tmp_path / "log.sqlite")
    try:
        assert log.projected(STORE_COMPACTED) == 0
    finally:
        log.close()
    assert compacted_after_start(tmp_path, 5) == (10, 10)
