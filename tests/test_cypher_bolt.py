"""The Bolt backend against a real FalkorDB server started on 127.0.0.1 by the tests."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import neo4j
import pytest
from falkordb_server import QUERY_TIMEOUT_MS, FalkorDB

from dpgraph.cypher.bolt import BoltBackend
from dpgraph.cypher.bolt_statements import plan
from dpgraph.cypher.errors import CypherQueryError, CypherTimeout
from dpgraph.cypher.literals import literal, with_inline_parameters
from dpgraph.cypher.model import Change, DeleteOwned, NodeUpsert, Ranked, RelUpsert
from dpgraph.cypher.relink import FLOWS_TO
from dpgraph.errors import DpgraphError, StoreUnavailable
from dpgraph.settings import Settings

RUNAWAY = ("UNWIND range(1, 5000) AS a UNWIND range(1, 5000) AS b UNWIND range(1, 5000) AS c "
           "RETURN count(*) AS n")  # 1.25e11 rows: hours, unless something stops it


@pytest.fixture(scope="session")
def falkordb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FalkorDB]:
    server = FalkorDB(tmp_path_factory.mktemp("falkordb"))
    yield server
    server.stop()


def open_backend(server: FalkorDB, **kw: Any) -> BoltBackend:
    return BoltBackend(server.uri, server.user, server.password, server="falkordb",
                       connect_timeout=1.0, **kw)


@pytest.fixture(scope="session")
def session_backend(falkordb: FalkorDB) -> Iterator[BoltBackend]:
    backend = open_backend(falkordb)
    yield backend
    backend.close()


@pytest.fixture
def backend(session_backend: BoltBackend) -> BoltBackend:
    session_backend.clear()
    return session_backend


def dump(backend: BoltBackend) -> tuple[list[str], list[str]]:
    """Every node and relationship, canonical and sorted: equal dumps, equal graphs."""
    nodes = backend.query("MATCH (n) RETURN n", timeout=10)
    rels = backend.query("MATCH (a)-[e]->(b) RETURN a.id AS a, labels(a) AS al, e, "
                         "b.id AS b, labels(b) AS bl", timeout=10)
    return (sorted(json.dumps(row, sort_keys=True) for row in nodes),
            sorted(json.dumps(row, sort_keys=True) for row in rels))


def node(backend: BoltBackend, label: str, node_id: str) -> dict[str, Any] | None:
    rows = backend.query(f"MATCH (n:{label} {{id: $id}}) RETURN n", {"id": node_id}, timeout=10)
    assert len(rows) <= 1, rows
    return rows[0]["n"] if rows else None


def product_changes(pid: str, version: str) -> list[Change]:
    owner = f"product:{pid}"
    return [
        DeleteOwned(owner),
        NodeUpsert("Product", pid, set={"name": pid.title(), "version": version, "owner": owner}),
        NodeUpsert("DataElement", f"{pid}/id", set={"product": pid, "name": "id",
                                                   "owner": owner}),
        RelUpsert("HAS_ELEMENT", "Product", pid, "DataElement", f"{pid}/id"),
        RelUpsert("IN_DOMAIN", "Product", pid, "Domain", "sales"),
        RelUpsert("MEANS", "DataElement", f"{pid}/id", "BusinessTerm", "order-identifier"),
    ]


def run_event(run_id: str, state: str, rank: int, time_: str) -> list[Change]:
    """The changes one OpenLineage run event makes: order-independent by construction."""
    ranked_props: dict[str, str] = {"state": state}
    if rank > 1:
        ranked_props["endedAt"] = time_
    return [
        NodeUpsert("Run", run_id, set={"job": "ns:job"},
                   earliest={"startedAt": time_} if state == "START" else {},
                   latest={"lastEventTime": time_},
                   ranked=Ranked("stateRank", rank, "stateTime", time_, ranked_props)),
        RelUpsert("OF_JOB", "Run", run_id, "Job", "ns:job"),
        RelUpsert("READS", "Job", "ns:job", "Dataset", "ns:in",
                  earliest={"firstSeen": time_}, latest={"lastSeen": time_}),
    ]


RUN_EVENTS = [
    run_event("r1", "START", 1, "2026-01-01T10:00:00.000000Z"),
    run_event("r1", "RUNNING", 1, "2026-01-01T10:05:00.000000Z"),
    run_event("r1", "COMPLETE", 2, "2026-01-01T10:09:00.000000Z"),
    run_event("r1", "START", 1, "2026-01-01T09:59:00.000000Z"),  # a late, earlier START
]


def lineage_batch() -> list[Change]:
    changes: list[Change] = []
    for event in RUN_EVENTS:
        changes += event
    changes += product_changes("orders", "1.0.0")
    changes += [RelUpsert("DERIVED_FROM", "Field", "ns:out:total", "Field", "ns:in:amount",
                          set={"transformationType": "DIRECT", "masking": False})]
    changes += product_changes("orders", "1.1.0")
    return changes


# -- apply ------------------------------------------------------------------------------------

def test_upsert_sets_properties_and_later_values_win(backend: BoltBackend) -> None:
    backend.apply([NodeUpsert("Owner", "team-a", set={"name": "Team A", "active": True}),
                   NodeUpsert("Owner", "team-a", set={"email": "a@example.org"})])
    backend.apply([NodeUpsert("Owner", "team-a", set={"name": "Team A2", "rank": 3,
                                                      "score": 0.25})])
    assert node(backend, "Owner", "team-a") == {
        "id": "team-a", "name": "Team A2", "active": True, "email": "a@example.org",
        "rank": 3, "score": 0.25, "_labels": ["Owner"]}


def test_relationship_with_properties_creates_missing_end_points(backend: BoltBackend) -> None:
    backend.apply([RelUpsert("DERIVED_FROM", "Field", "d:out:a", "Field", "d:in:b",
                             set={"transformationType": "INDIRECT", "masking": True})])
    backend.apply([RelUpsert("DERIVED_FROM", "Field", "d:out:a", "Field", "d:in:b",
                             set={"transformationSubtype": "FILTER"})])
    rows = backend.query("MATCH (a:Field)-[e:DERIVED_FROM]->(b:Field) RETURN a.id, e, b.id",
                         timeout=10)
    assert rows == [{"a.id": "d:out:a", "b.id": "d:in:b",
                     "e": {"transformationType": "INDIRECT", "masking": True,
                           "transformationSubtype": "FILTER", "_type": "DERIVED_FROM"}}]


def test_applying_a_batch_twice_equals_applying_it_once(backend: BoltBackend) -> None:
    batch = lineage_batch()
    backend.apply(batch)
    once = dump(backend)
    backend.apply(batch)
    assert dump(backend) == once
    assert len(once[0]) == 9 and len(once[1]) == 6  # the batch did write something


def test_earliest_latest_and_ranked_do_not_depend_on_arrival_order(
        backend: BoltBackend) -> None:
    for event in RUN_EVENTS:
        backend.apply(event)
    expected = dump(backend)
    assert node(backend, "Run", "r1") == {
        "id": "r1", "job": "ns:job", "state": "COMPLETE", "stateRank": 2,
        "stateTime": "2026-01-01T10:09:00.000000Z", "endedAt": "2026-01-01T10:09:00.000000Z",
        "startedAt": "2026-01-01T09:59:00.000000Z",
        "lastEventTime": "2026-01-01T10:09:00.000000Z", "_labels": ["Run"]}
    reads = backend.query("MATCH (:Job)-[e:READS]->(:Dataset) RETURN e", timeout=10)
    assert reads == [{"e": {"firstSeen": "2026-01-01T09:59:00.000000Z",
                            "lastSeen": "2026-01-01T10:09:00.000000Z", "_type": "READS"}}]
    for order in itertools.permutations(RUN_EVENTS):
        backend.clear()
        for event in order:  # one batch per event
            backend.apply(event)
        assert dump(backend) == expected, order
        backend.clear()
        backend.apply([c for event in order for c in event])  # all in one batch
        assert dump(backend) == expected, order


def test_among_equal_ranks_the_later_tiebreak_wins_in_any_order(backend: BoltBackend) -> None:
    unfinished = [RUN_EVENTS[0], RUN_EVENTS[1], RUN_EVENTS[3]]  # START, RUNNING, late START
    for order in itertools.permutations(unfinished):
        backend.clear()
        for event in order:
            backend.apply(event)
        run = node(backend, "Run", "r1")
        assert run is not None
        assert (run["state"], run["stateTime"], run["startedAt"]) == (
            "RUNNING", "2026-01-01T10:05:00.000000Z", "2026-01-01T09:59:00.000000Z"), order
        assert "endedAt" not in run


def test_delete_owned_removes_the_products_nodes_and_relationships_only(
        backend: BoltBackend) -> None:
    backend.apply(product_changes("orders", "1.0.0") + product_changes("customers", "2.0.0"))
    backend.apply([DeleteOwned("product:orders")])
    assert node(backend, "Product", "orders") is None
    assert node(backend, "DataElement", "orders/id") is None
    assert node(backend, "Product", "customers") is not None
    assert node(backend, "Domain", "sales") is not None  # shared, not owned
    rels = backend.query("MATCH (a)-[e]->(b) RETURN a.id AS a, type(e) AS t, b.id AS b "
                         "ORDER BY a, t", timeout=10)
    assert rels == [{"a": "customers", "t": "HAS_ELEMENT", "b": "customers/id"},
                    {"a": "customers", "t": "IN_DOMAIN", "b": "sales"},
                    {"a": "customers/id", "t": "MEANS", "b": "order-identifier"}]


def test_a_delete_sees_the_upserts_before_it_and_none_after_it(backend: BoltBackend) -> None:
    backend.apply([
        NodeUpsert("Product", "p", set={"owner": "product:p", "version": "1"}),
        NodeUpsert("Column", "p/t/old", set={"owner": "product:p"}),
        DeleteOwned("product:p"),
        NodeUpsert("Product", "p", set={"owner": "product:p", "version": "2"}),
    ])
    assert node(backend, "Product", "p") == {"id": "p", "owner": "product:p", "version": "2",
                                             "_labels": ["Product"]}
    assert node(backend, "Column", "p/t/old") is None


def test_a_batch_interrupted_half_way_then_applied_whole_equals_it_once(
        falkordb: FalkorDB, backend: BoltBackend) -> None:
    batch = lineage_batch()
    backend.apply(batch)
    whole = dump(backend)
    # Cut the list of changes in the middle …
    for cut in (len(batch) // 2, len(batch) // 3, 7):
        backend.clear()
        backend.apply(batch[:cut])
        backend.apply(batch)
        assert dump(backend) == whole, cut
    # … and the statements the backend sends (a crash between two round trips).
    small = open_backend(falkordb, max_rows=2)
    try:
        statements = plan(batch, [], max_rows=2)
        assert len(statements) > 10
        for sent in (1, len(statements) // 2, len(statements) - 1):
            small.clear()
            for statement in statements[:sent]:
                small._write(statement.cypher, statement.params)
            small.apply(batch)
            assert dump(small) == whole, sent
    finally:
        small.close()


def test_a_batch_is_a_few_statements(backend: BoltBackend) -> None:
    changes = [c for i in range(200) for c in run_event(f"run-{i}", "COMPLETE", 2,
                                                        f"2026-01-01T10:{i % 60:02d}:00Z")]
    changes += [c for i in range(50) for c in product_changes(f"p{i}", "1.0.0")]
    assert len(changes) == 900
    before = backend.statements_sent
    backend.apply(changes)
    assert backend.statements_sent - before <= 3
    assert backend.query("MATCH (r:Run) RETURN count(r) AS n", timeout=10) == [{"n": 200}]
    assert backend.query("MATCH (:Product)-[:HAS_ELEMENT]->(e) RETURN count(e) AS n",
                         timeout=10) == [{"n": 50}]


def test_indexes_on_id_and_owner_exist_for_every_label(falkordb: FalkorDB,
                                                       backend: BoltBackend) -> None:
    backend.apply(product_changes("orders", "1.0.0"))
    rows = backend.query("CALL db.indexes() YIELD label, properties "
                         "RETURN label, properties", timeout=10)
    indexed = {row["label"]: set(row["properties"]) for row in rows}
    for label in ("Product", "DataElement", "Domain", "BusinessTerm"):
        assert {"id", "owner"} <= indexed[label], indexed
    # Sessions stay on the default graph: FalkorDB would name a graph after a session's mode,
    # database or transaction timeout.
    graphs = falkordb.redis("GRAPH.LIST")
    for stray in (b"mode", b"db", b"tx_timeout"):
        assert b"\r\n" + stray + b"\r\n" not in graphs, graphs


# -- query ------------------------------------------------------------------------------------

def test_var_length_match_follows_derived_from(backend: BoltBackend) -> None:
    chain = ["d:out:total", "d:mid:sum", "d:in:amount", "d:raw:amount_cents"]
    backend.apply([RelUpsert("DERIVED_FROM", "Field", a, "Field", b)
                   for a, b in itertools.pairwise(chain)]
                  + [RelUpsert("DERIVED_FROM", "Field", "other:x", "Field", "other:y")])
    rows = backend.query("MATCH (f:Field {id: $id})-[:DERIVED_FROM*1..10]->(up:Field) "
                         "RETURN up.id AS id ORDER BY id", {"id": chain[0]}, timeout=10)
    assert [r["id"] for r in rows] == sorted(chain[1:])


def test_flows_to_links_the_whole_closure_of_a_long_chain(backend: BoltBackend) -> None:
    # 50 derivations: more than one round of the two FLOWS_TO links reaches (relink.WALK)
    fields = [f"d{i}:t:c" for i in range(51)]
    backend.apply([NodeUpsert("DataElement", "p/e", set={"product": "p", "name": "e"}),
                   RelUpsert("HOLDS", "Column", "p/rep/c", "DataElement", "p/e"),
                   RelUpsert("REALISES", "Field", fields[0], "Column", "p/rep/c")]
                  + [NodeUpsert("Field", f, set={"dataset": f[:-2], "name": "c"})
                     for f in fields]
                  + [RelUpsert("DERIVED_FROM", "Field", b, "Field", a)
                     for a, b in itertools.pairwise(fields)])
    backend.link(FLOWS_TO)
    flows = ("MATCH (:DataElement)-[r:FLOWS_TO]->(f:Field) RETURN f.id AS f, r.dataset AS d, "
             "r.field AS n ORDER BY f")
    assert [(r["f"], r["d"], r["n"]) for r in backend.query(flows, timeout=10)] == \
        sorted((f, f[:-2], "c") for f in fields[1:])
    backend.link(FLOWS_TO)  # drawing again adds nothing
    assert len(backend.query(flows, timeout=10)) == 50


def test_query_parameters_are_values_never_query_text(backend: BoltBackend) -> None:
    backend.apply([NodeUpsert("Domain", "sales", set={"name": "Sales"})])
    tricky = "x'}) DETACH DELETE n RETURN 1 AS x //\\"
    rows = backend.query("RETURN $s AS s, $l AS l, $m AS m, $n AS n",
                         {"s": tricky, "l": [1, 2.5, None, True, "é☃\n"],
                          "m": {"a b": {"c": [1]}}, "n": None}, timeout=10)
    assert rows == [{"s": tricky, "l": [1, 2.5, None, True, "é☃\n"], "m": {"a b": {"c": [1]}},
                     "n": None}]
    big = [f"id-{i}" for i in range(5000)]  # far over FalkorDB's 4 KiB parameter buffer
    assert backend.query("RETURN size($big) AS n", {"big": big}, timeout=10) == [{"n": 5000}]
    assert node(backend, "Domain", "sales") is not None


def test_nodes_relationships_and_paths_come_back_as_json_ready_values(
        backend: BoltBackend) -> None:
    backend.apply(product_changes("orders", "1.0.0"))
    rows = backend.query("MATCH p = (d:Product {id: 'orders'})-[e:HAS_ELEMENT]->(x) "
                         "RETURN d, e, p, [d.id, x.id] AS ids", timeout=10)
    product = {"id": "orders", "name": "Orders", "version": "1.0.0",
               "owner": "product:orders", "_labels": ["Product"]}
    element = {"id": "orders/id", "product": "orders", "name": "id",
               "owner": "product:orders", "_labels": ["DataElement"]}
    assert rows == [{"d": product, "e": {"_type": "HAS_ELEMENT"},
                     "p": {"nodes": [product, element],
                           "relationships": [{"_type": "HAS_ELEMENT"}]},
                     "ids": ["orders", "orders/id"]}]
    json.dumps(rows)


def test_a_refused_query_says_so_and_changes_nothing(backend: BoltBackend) -> None:
    backend.apply([NodeUpsert("Domain", "sales")])
    with pytest.raises(CypherQueryError):
        backend.query("MATCH (n RETURN n", timeout=10)
    with pytest.raises(CypherQueryError, match="parameter"):
        backend.query("RETURN $x AS x", {"x": float("nan")}, timeout=10)
    assert backend.query("MATCH (n) RETURN count(n) AS n", timeout=10) == [{"n": 1}]


def test_a_runaway_query_is_stopped(falkordb: FalkorDB, backend: BoltBackend) -> None:
    started = time.monotonic()
    with pytest.raises(CypherTimeout):
        backend.query(RUNAWAY, timeout=0.5)
    assert time.monotonic() - started < 2.0
    # The server is still usable at once, and writes are not held up for long.
    backend.apply([NodeUpsert("Domain", "sales")])
    assert node(backend, "Domain", "sales") == {"id": "sales", "_labels": ["Domain"]}


def test_what_stops_a_runaway_query_on_falkordb_is_its_timeout_default(
        falkordb: FalkorDB) -> None:
    """A transaction timeout sent over Bolt is ignored (and would move the query to a graph
    named tx_timeout); the server's TIMEOUT_DEFAULT ends the query with an error."""
    with neo4j.GraphDatabase.driver(falkordb.uri, auth=(falkordb.user, falkordb.password),
                                    connection_timeout=1.0) as driver:
        outcome: dict[str, Any] = {}

        def runaway() -> None:
            started = time.monotonic()
            for _ in range(3):  # the first connection after a GOODBYE may not be answered
                try:
                    with driver.session() as session:
                        list(session.run(RUNAWAY))
                    break
                except neo4j.exceptions.ServiceUnavailable:
                    continue
                except neo4j.exceptions.Neo4jError as e:
                    outcome["error"] = e
                    break
            outcome["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=runaway)
        thread.start()
        thread.join(timeout=QUERY_TIMEOUT_MS / 1000 + 15)
        assert not thread.is_alive(), "the runaway query was not stopped"
    assert "error" in outcome
    assert QUERY_TIMEOUT_MS / 1000 * 0.9 <= outcome["seconds"] < QUERY_TIMEOUT_MS / 1000 + 8


# -- connections ------------------------------------------------------------------------------

def test_a_new_backend_connects_after_another_said_goodbye(falkordb: FalkorDB) -> None:
    for _ in range(2):
        started = time.monotonic()
        backend = open_backend(falkordb)
        try:
            assert backend.query("RETURN 1 AS one", timeout=10) == [{"one": 1}]
        finally:
            backend.close()
        assert time.monotonic() - started < 5


def test_wrong_password_is_refused(falkordb: FalkorDB) -> None:
    with pytest.raises(StoreUnavailable, match="refused the login"):
        BoltBackend(falkordb.uri, falkordb.user, "wrong", server="falkordb",
                    connect_timeout=1.0)


def test_the_backend_opens_from_dpgraph_bolt_settings(falkordb: FalkorDB,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"URI": falkordb.uri, "USER": falkordb.user,
                       "PASSWORD": falkordb.password, "SERVER": "falkordb",
                       "CONNECT_TIMEOUT": "1"}.items():
        monkeypatch.setenv(f"DPGRAPH_BOLT_{key}", value)
    backend = BoltBackend.from_settings(Settings())
    try:
        assert backend.kind == "bolt"
        assert backend.query("RETURN 1 AS one", timeout=10) == [{"one": 1}]
    finally:
        backend.close()
    monkeypatch.setenv("DPGRAPH_BOLT_DATABASE", "dpgraph")
    with pytest.raises(DpgraphError, match="database"):
        BoltBackend.from_settings(Settings())


def test_clear_removes_everything(backend: BoltBackend) -> None:
    backend.apply(lineage_batch())
    backend.clear()
    assert dump(backend) == ([], [])


# -- pure parts -------------------------------------------------------------------------------

def test_literals_escape_quotes_and_backslashes() -> None:
    assert literal("it's \\ fine") == "'it\\'s \\\\ fine'"
    assert literal({"a b": [1, 2.5, None, True]}) == "{`a b`: [1, 2.5, null, true]}"
    assert with_inline_parameters("RETURN $x", {"x": 1}) == "CYPHER x=1 RETURN $x"
    for bad in (float("inf"), 2**64, "nul\x00", object()):
        with pytest.raises(ValueError):
            literal(bad)
    with pytest.raises(ValueError):
        with_inline_parameters("RETURN 1", {"x y": 1})


def test_folding_a_segment_equals_applying_its_changes_one_by_one() -> None:
    shuffled: Sequence[Change] = [c for event in RUN_EVENTS for c in event]
    rng = random.Random(7)
    for _ in range(5):
        order = list(shuffled)
        rng.shuffle(order)
        [statement] = plan(order, [])
        rows = {r["id"]: r for p in statement.params.values() for r in p if "id" in r}
        assert rows["r1"]["e"] == {"startedAt": "2026-01-01T09:59:00.000000Z"}
        assert rows["r1"]["l"] == {"lastEventTime": "2026-01-01T10:09:00.000000Z"}
        assert rows["r1"]["k"]["props"]["state"] == "COMPLETE"


def test_a_delete_splits_the_batch_into_ordered_parts() -> None:
    [statement] = plan([NodeUpsert("Product", "p", set={"owner": "o"}), DeleteOwned("o"),
                        NodeUpsert("Product", "p", set={"owner": "o"})], ["Column"])
    parts = statement.cypher.split("WITH count(*) AS _")
    assert [("MERGE" in p, "DELETE" in p) for p in parts] == [
        (True, False), (False, True), (False, True), (True, False)]

