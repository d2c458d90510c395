"""The Cypher view under a small page cache of the embedded engine (the real one).

The relink step's memory follows the batch, not the graph: in a graph of 300,000 fields,
wide datasets represented by wide tables are linked field to column.

Bound with ``UNWIND``, Kùzu planned the relink queries as hash joins over every field of the
graph, and matched names over every field × column pair of a dataset; 50 such datasets in a
graph of 1,000 exhausted a 64 MiB page cache (the 10,000-product bench failed the same way
with the default 1 GiB, and the view stopped there).

A page of records too large for the cache in one transaction is written in smaller ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dpgraph.cypher.embedded import EmbeddedCypher
from dpgraph.cypher.errors import ViewCommitFailed, ViewOutOfMemory
from dpgraph.cypher.mapping import bootstrap_changes, record_changes
from dpgraph.cypher.model import Change, NodeUpsert, RelUpsert
from dpgraph.cypher.projection import CypherView, forget_too_large_record
from dpgraph.cypher.relink import relink
from dpgraph.log.sqlite_log import NewRecord, SqliteLog
from dpgraph.services.lineage_summary import LINEAGE_EVENT

DATASETS, REPRESENTED, WIDTH = 1000, 50, 300


def wide_mesh() -> list[NodeUpsert | RelUpsert]:
    changes: list[NodeUpsert | RelUpsert] = []
    for i in range(DATASETS):
        location = f"s3://lake/t{i}"
        ds, rep = f"s3://lake:t{i}", f"p{i}/rep"
        changes.append(NodeUpsert("Dataset", ds, {"normalizedLocation": location}))
        for j in range(WIDTH):
            field = f"{ds}:c{j}"
            changes += [NodeUpsert("Field", field, {"name": f"c{j}"}),
                        RelUpsert("HAS_FIELD", "Dataset", ds, "Field", field)]
        if i >= REPRESENTED:
            continue
        changes.append(NodeUpsert("Representation", rep, {
            "product": f"p{i}", "normalizedLocation": location, "owner": f"p{i}"}))
        for j in range(WIDTH):
            column = f"{rep}/c{j}"
            changes += [NodeUpsert("Column", column, {"name": f"C{j}", "owner": f"p{i}"}),
                        RelUpsert("HAS_COLUMN", "Representation", rep, "Column", column)]
        # a field with no column of its name, and a column with no field of its name
        changes += [NodeUpsert("Field", f"{ds}:extra", {"name": "extra"}),
                    RelUpsert("HAS_FIELD", "Dataset", ds, "Field", f"{ds}:extra"),
                    NodeUpsert("Column", f"{rep}/other", {"name": "other", "owner": f"p{i}"}),
                    RelUpsert("HAS_COLUMN", "Representation", rep, "Column", f"{rep}/other")]
    return changes


def count(engine: EmbeddedCypher, cypher: str) -> int:
    return int(engine.query(cypher, timeout=60)[0]["n"])


def database_bytes(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.glob("graph.kuzu*"))


def test_wide_datasets_link_under_a_small_page_cache(tmp_path: Path) -> None:
    engine = EmbeddedCypher(tmp_path / "cypher", buffer_pool_bytes=64 * 2**20)
    try:
        engine.apply(wide_mesh())
        datasets = [f"s3://lake:t{i}" for i in range(REPRESENTED)]
        engine.link(relink(datasets, []))
        assert count(engine, "MATCH (:Dataset)-[r:REPRESENTS]->() RETURN count(r) AS n") == \
            REPRESENTED
        assert count(engine, "MATCH (:Field)-[r:REALISES]->() RETURN count(r) AS n") == \
            REPRESENTED * WIDTH
        assert engine.query(
            "MATCH (f:Field)-[:REALISES]->(c:`Column`) WHERE f.id = 's3://lake:t7:c12' "
            "RETURN c.id AS c", timeout=60) == [{"c": "p7/rep/c12"}]
        assert count(engine, "MATCH (f:Field)-[r:REALISES]->() WHERE f.name = 'extra' "
                             "RETURN count(r) AS n") == 0
        # every dataset of the graph in one batch: only the represented ones are bound
        everything = relink([f"s3://lake:t{i}" for i in range(DATASETS)], [])
        kept = [link.narrowed(engine._rows) for link in everything if link.params]
        assert [None if k is None else len(k.params["datasets"]) for k in kept] == \
            [REPRESENTED, DATASETS, REPRESENTED]
        engine.link(everything)
        assert count(engine, "MATCH (:Field)-[r:REALISES]->() RETURN count(r) AS n") == \
            REPRESENTED * WIDTH
        # drawing again from the products' side adds nothing
        engine.link(relink([], [f"p{i}" for i in range(REPRESENTED)]))
        assert count(engine, "MATCH (:Field)-[r:REALISES]->() RETURN count(r) AS n") == \
            REPRESENTED * WIDTH
    finally:
        engine.close()


def wide_event(i: int, width: int) -> NewRecord:
    producer = "https://example.com/producer"
    return NewRecord(LINEAGE_EVENT, f"run-{i}", {"event": {
        "eventType": "COMPLETE", "eventTime": "2026-03-01T10:00:00Z", "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"0190a5a2-3c4e-7b4f-9a51-{i:012d}"},
        "job": {"namespace": "wide", "name": f"job{i}"},
        "outputs": [{"namespace": "s3://wide", "name": f"t{i}", "facets": {"schema": {
            "_producer": producer, "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/"
            "SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
            "fields": [{"name": f"{'column_' * 12}{j}", "type": "string"}
                       for j in range(width)]}}}]}})


def test_a_page_too_large_for_the_cache_is_cut_to_the_change_budget(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # 80 events of 3,000 fields under 80 MiB: out of cache in the statements of one
    # transaction (40 events ran out there, and once only in COMMIT, which stops the view);
    # cut to the budget of 80 MiB (40,960 changes: 6 events each), every page commits.
    events, width = 80, 3000
    log = SqliteLog(tmp_path / "log.sqlite")
    log.append([wide_event(i, width) for i in range(events)])
    records = list(log.read())
    small = EmbeddedCypher(tmp_path / "cypher", buffer_pool_bytes=80 * 2**20)
    assert small.changes_per_transaction == 80 * 2**20 // 2048
    view = CypherView(small, log)
    try:
        view.bootstrap()
        with pytest.raises(ViewOutOfMemory, match="DPGRAPH_CYPHER_BUFFER_POOL_MB"):
            view.project(records)  # all 240,000 fields in one transaction: rolled back
        assert count(small, "MATCH (f:Field) RETURN count(f) AS n") == 0
        with pytest.raises(ViewCommitFailed, match="to be rebuilt"):
            view.project(records[:1])  # the database is not written after that
        small.clear()  # as the view does (see the next test)
        assert view.catch_up() == events
        assert view.offset == log.head() == events
        assert count(small, "MATCH (f:Field) RETURN count(f) AS n") == events * width
        assert count(small, "MATCH (:Dataset)-[h:HAS_FIELD]->() RETURN count(h) AS n") == \
            events * width
        assert "records per transaction" not in caplog.text  # no page was halved
        # Written after the failed transaction without clear(), Kùzu 0.11's file grew past
        # 8 GB (and filled a CI machine's disk); these writes alone make ~130 MB.
        assert database_bytes(tmp_path / "cypher") < 512 * 2**20
    finally:
        view.close()
        log.close()


class CacheOfChanges:
    """The real engine, with a page cache that holds exactly ``limit`` changes a
    transaction and no budget: what a wrong budget would leave to the halving."""

    def __init__(self, engine: EmbeddedCypher, limit: int) -> None:
        self.engine, self.limit, self.sizes = engine, limit, []
        self.changes_per_transaction = None
        self.cleared = 0

    def clear(self) -> None:
        self.cleared += 1
        self.engine.clear()

    def apply(self, changes: list[Change]) -> None:
        self.sizes.append(len(changes))
        if len(changes) > self.limit:
            raise ViewOutOfMemory("out of page cache (DPGRAPH_CYPHER_BUFFER_POOL_MB)")
        self.engine.apply(changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def view_with_cache(tmp_path: Path, log: SqliteLog,
                    limit: int) -> tuple[EmbeddedCypher, CacheOfChanges, CypherView]:
    """A view on the real engine in ``tmp_path``, whose page cache holds ``limit`` changes."""
    engine = EmbeddedCypher(tmp_path / "cypher")
    backend = CacheOfChanges(engine, limit=limit)
    return engine, backend, CypherView(backend, log)  # type: ignore[arg-type]


def test_a_transaction_out_of_cache_in_its_statements_is_halved(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    events, width = 12, 10
    log = SqliteLog(tmp_path / "log.sqlite")
    log.append([wide_event(i, width) for i in range(events)])
    per_event = len(record_changes(next(log.read())))
    engine, backend, view = view_with_cache(tmp_path, log, limit=3 * per_event)
    try:
        view.bootstrap()
        backend.sizes.clear()
        assert view.catch_up() == events
        assert count(engine, "MATCH (f:Field) RETURN count(f) AS n") == events * width
        # 12 events; the view starts over (an empty database, bootstrapped) in pages of 6;
        # again in pages of 3, which are written
        boot = len(bootstrap_changes())
        assert backend.sizes == [12 * per_event, boot, 6 * per_event, boot] + \
            [3 * per_event] * 4
        assert backend.cleared == 2
        assert view.offset == events
        assert "writing at most 3 records per transaction" in caplog.text
    finally:
        view.close()
        log.close()


def test_a_record_alone_too_large_for_the_cache_stalls_the_view_before_it(
        tmp_path: Path) -> None:
    """Rebuilt once up to the record before it, then stalled there: not the whole log
    rebuilt again on every retry, when no retry can fit that record."""
    log = SqliteLog(tmp_path / "log.sqlite")
    log.append([wide_event(i, 50 if i == 3 else 2) for i in range(6)])  # offsets 1..6
    narrow = len(record_changes(next(log.read())))
    engine, backend, view = view_with_cache(tmp_path, log, limit=4 * narrow)
    try:
        view.bootstrap()
        with pytest.raises(ViewOutOfMemory, match="log record 4 alone does not fit"):
            view.catch_up()
        assert view.offset == 0  # the database was wrong after the failure: started over
        with pytest.raises(ViewOutOfMemory, match="log record 4 alone"):
            view.catch_up()
        assert view.offset == 3
        assert count(engine, "MATCH (f:Field) RETURN count(f) AS n") == 3 * 2
        writes, cleared = len(backend.sizes), backend.cleared
        with pytest.raises(ViewOutOfMemory, match="raise DPGRAPH_CYPHER_BUFFER_POOL_MB"):
            view.catch_up()
        assert (len(backend.sizes), backend.cleared, view.offset) == (writes, cleared, 3)
        # The view's process started again (memory bound): it stops there too, from the log.
        view.close()
        engine, backend, view = view_with_cache(tmp_path, log, limit=4 * narrow)
        with pytest.raises(ViewOutOfMemory, match="log record 4 alone"):
            view.catch_up()
        assert (backend.sizes, view.offset) == ([], 3)
        # A service start forgets it: with a cache that holds it, the view goes on.
        view.close()
        forget_too_large_record(log)
        engine, _, view = view_with_cache(tmp_path, log, limit=100 * narrow)
        assert view.catch_up() == 3
        assert count(engine, "MATCH (f:Field) RETURN count(f) AS n") == 5 * 2 + 50
    finally:
        view.close()
        log.close()


def test_updates_to_nodes_and_relationships_seen_before_follow_the_batch(
        tmp_path: Path) -> None:
    """Lookups of existing nodes and relationships go by primary key: bound with ``UNWIND``
    Kùzu hash-joined them over every node of the label and every relationship of the type,
    at 300,000 fields more than a 64 MiB page cache holds."""
    engine = EmbeddedCypher(tmp_path / "cypher", buffer_pool_bytes=64 * 2**20)
    try:
        engine.apply(wide_mesh())
        again: list[NodeUpsert | RelUpsert] = []
        updated = range(0, DATASETS, DATASETS // 20)
        for i in updated:
            ds = f"s3://lake:t{i}"
            for j in range(WIDTH):
                field = f"{ds}:c{j}"
                again += [NodeUpsert("Field", field, {"name": f"c{j}", "type": "string"}),
                          RelUpsert("HAS_FIELD", "Dataset", ds, "Field", field),
                          RelUpsert("DERIVED_FROM", "Field", field, "Field", f"{ds}:c0",
                                    {"transformationType": "DIRECT"})]
        engine.apply(again)
        engine.apply(again)  # a second time: found, nothing to change
        assert count(engine, "MATCH (:Dataset)-[h:HAS_FIELD]->() RETURN count(h) AS n") == \
            DATASETS * WIDTH + REPRESENTED
        assert count(engine, "MATCH (f:Field) WHERE f.type = 'string' RETURN count(f) AS n") \
            == len(updated) * WIDTH
        assert count(engine, "MATCH ()-[d:DERIVED_FROM]->() WHERE d.transformationType = "
                             "'DIRECT' RETURN count(d) AS n") == len(updated) * WIDTH
    finally:
        engine.close()


# Catches the view up with the log under a 64 MiB cache, where a commit runs out of it, then
# tries again and reads; prints what it saw as JSON. In a child process: after a failed
# commit Kùzu 0.11.3 may abort the process when the database is closed. Without the change
# budget (which cuts these pages to 6 events, and they commit): a budget set too high.
STOPPING_CHILD = """
import json, sys
from pathlib import Path
from dpgraph.cypher.embedded import EmbeddedCypher
from dpgraph.cypher.errors import ViewCommitFailed
from dpgraph.cypher.projection import CypherView, forget_too_large_record
from dpgraph.log.sqlite_log import SqliteLog

data = Path(sys.argv[1])
event_log = SqliteLog(data / "log.sqlite")
engine = EmbeddedCypher(data / "cypher", buffer_pool_bytes=64 * 2**20)
engine.changes_per_transaction = None
view = CypherView(engine, event_log)
view.bootstrap()
seen = {}
for attempt in ("first", "again"):
    try:
        view.catch_up()
        seen[attempt] = "caught up"
    except ViewCommitFailed as exc:
        seen[attempt] = str(exc)
seen["offset"] = view.offset
seen["read"] = view.backend.query("MATCH (d:Dataset) RETURN count(d) AS n", timeout=60)
print(json.dumps(seen), flush=True)
"""


def test_a_commit_out_of_cache_stops_the_view_and_the_next_start_rebuilds_it(
        tmp_path: Path) -> None:
    """Out of page cache in COMMIT, Kùzu 0.11.3 kept the failed commit's rows, and its
    10,000-product database was corrupt after two such failures: the view writes nothing
    more, and the next start discards the database and rebuilds the view from the log."""
    events, width = 40, 2500
    event_log = SqliteLog(tmp_path / "log.sqlite")
    event_log.append([wide_event(i, width) for i in range(events)])
    event_log.close()
    child = subprocess.run([sys.executable, "-c", STOPPING_CHILD, str(tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert child.stdout, child.stderr
    seen = json.loads(child.stdout.splitlines()[0])
    assert "in its commit" in seen["first"] and "restart the service" in seen["first"]
    assert "DPGRAPH_CYPHER_BUFFER_POOL_MB" in seen["first"]
    assert seen["again"] == seen["first"]  # refused before writing anything
    assert seen["offset"] < events
    assert seen["read"][0]["n"] >= 0  # reads go on
    assert (tmp_path / "cypher" / "distrusted").exists()

    log = SqliteLog(tmp_path / "log.sqlite")
    larger = EmbeddedCypher(tmp_path / "cypher", buffer_pool_bytes=256 * 2**20)
    assert larger.fresh
    assert not (tmp_path / "cypher" / "distrusted").exists()
    view = CypherView(larger, log)
    try:
        assert view.offset == 0
        view.bootstrap()
        assert view.catch_up() == events
        assert count(larger, "MATCH (f:Field) RETURN count(f) AS n") == events * width
    finally:
        view.close()
        log.close()
