"""The embedded backend's merge policies (dpgraph.cypher.model) on the real engine.

The backend reads the stored properties of the nodes and relationships a batch touches and
writes only what the policies change, so the policies live in its Python (``_delta``).
Each test runs with both ways of looking the stored properties up: one statement scanning
the label (small tables, large batches) and key by key (large tables)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dpgraph.cypher import embedded
from dpgraph.cypher.embedded import EmbeddedCypher
from dpgraph.cypher.model import Change, NodeUpsert, Ranked, RelUpsert


@pytest.fixture(params=["scan", "by-key"])
def engine(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedCypher]:
    if request.param == "by-key":
        monkeypatch.setattr(embedded, "SCAN_CACHE_BYTES_PER_ROW", 2**62)
    else:
        monkeypatch.setattr(embedded, "SCAN_ROWS_PER_LOOKUP", 10**9)
    backend = EmbeddedCypher(tmp_path / "cypher")
    yield backend
    backend.close()


def node(engine: EmbeddedCypher, label: str, node_id: str) -> dict[str, Any] | None:
    found = engine.query(f"MATCH (n:{label}) WHERE n.id = $id RETURN n", {"id": node_id},
                         timeout=10)
    assert len(found) <= 1, found
    if not found:
        return None
    return {k: v for k, v in found[0]["n"].items() if v is not None and not k.startswith("_")}


def dump(engine: EmbeddedCypher) -> tuple[list[str], list[str]]:
    nodes = engine.query("MATCH (n) RETURN label(n) AS l, n AS n", timeout=10)
    rels = engine.query("MATCH (a)-[r]->(b) RETURN label(r) AS t, a.id AS a, b.id AS b, "
                        "r AS r", timeout=10)
    for row in rels:
        row["r"] = {k: v for k, v in row["r"].items() if not k.startswith("_")}
    return (sorted(json.dumps(row, sort_keys=True) for row in nodes),
            sorted(json.dumps(row, sort_keys=True) for row in rels))


def run_event(state: str, rank: int, at: str) -> list[Change]:
    ranked: dict[str, str] = {"state": state}
    if rank > 1:
        ranked["endedAt"] = at
    return [
        NodeUpsert("Run", "r1", set={"job": "ns:job"},
                   earliest={"startedAt": at} if state == "START" else {},
                   latest={"lastEventTime": at},
                   ranked=Ranked("stateRank", rank, "stateAt", at, ranked)),
        RelUpsert("OF_JOB", "Run", "r1", "Job", "ns:job"),
        RelUpsert("READS", "Job", "ns:job", "Dataset", "ns:in",
                  earliest={"firstSeen": at}, latest={"lastSeen": at}),
    ]


RUN_EVENTS = [
    run_event("START", 1, "2026-01-01T10:00:00.000000Z"),
    run_event("RUNNING", 1, "2026-01-01T10:05:00.000000Z"),
    run_event("COMPLETE", 2, "2026-01-01T10:09:00.000000Z"),
    run_event("START", 1, "2026-01-01T09:59:00.000000Z"),  # a late, earlier START
]


def test_set_overwrites_keeps_what_it_does_not_name_and_none_removes(
        engine: EmbeddedCypher) -> None:
    engine.apply([NodeUpsert("Owner", "team-a", set={"name": "Team A", "active": True}),
                  NodeUpsert("Owner", "team-a", set={"email": "a@example.org"})])
    assert node(engine, "Owner", "team-a") == {
        "id": "team-a", "name": "Team A", "active": True, "email": "a@example.org"}
    engine.apply([NodeUpsert("Owner", "team-a", set={"name": "Team A2", "email": None,
                                                     "active": False})])
    assert node(engine, "Owner", "team-a") == {"id": "team-a", "name": "Team A2",
                                               "active": False}


def test_earliest_latest_and_ranked_do_not_depend_on_arrival_order(
        engine: EmbeddedCypher) -> None:
    for event in RUN_EVENTS:
        engine.apply(event)
    expected = dump(engine)
    assert node(engine, "Run", "r1") == {
        "id": "r1", "job": "ns:job", "state": "COMPLETE", "stateRank": 2,
        "stateAt": "2026-01-01T10:09:00.000000Z", "endedAt": "2026-01-01T10:09:00.000000Z",
        "startedAt": "2026-01-01T09:59:00.000000Z",
        "lastEventTime": "2026-01-01T10:09:00.000000Z"}
    reads = engine.query("MATCH (:Job)-[e:READS]->(:Dataset) RETURN e.firstSeen AS f, "
                         "e.lastSeen AS l", timeout=10)
    assert reads == [{"f": "2026-01-01T09:59:00.000000Z", "l": "2026-01-01T10:09:00.000000Z"}]
    for order in itertools.permutations(RUN_EVENTS):
        engine.clear()
        for event in order:  # one batch per event
            engine.apply(event)
        assert dump(engine) == expected, order
        engine.clear()
        engine.apply([c for event in order for c in event])  # all in one batch
        assert dump(engine) == expected, order


def test_among_equal_ranks_the_later_tiebreak_wins_in_any_order(
        engine: EmbeddedCypher) -> None:
    unfinished = [RUN_EVENTS[0], RUN_EVENTS[1], RUN_EVENTS[3]]  # START, RUNNING, late START
    for order in itertools.permutations(unfinished):
        engine.clear()
        for event in order:
            engine.apply(event)
        run = node(engine, "Run", "r1")
        assert run is not None
        assert (run["state"], run["stateAt"], run["startedAt"]) == (
            "RUNNING", "2026-01-01T10:05:00.000000Z", "2026-01-01T09:59:00.000000Z"), order
        assert "endedAt" not in run


def test_a_relationship_seen_again_is_updated_not_duplicated(engine: EmbeddedCypher) -> None:
    engine.apply([RelUpsert("DERIVED_FROM", "Field", "d:out:a", "Field", "d:in:b",
                            set={"transformationType": "INDIRECT", "masking": True})])
    engine.apply([RelUpsert("DERIVED_FROM", "Field", "d:out:a", "Field", "d:in:b",
                            set={"transformationSubtype": "FILTER"})])
    engine.apply([RelUpsert("DERIVED_FROM", "Field", "d:out:a", "Field", "d:in:b",
                            set={"transformationSubtype": "FILTER"})])
    assert engine.query(
        "MATCH (a:Field)-[e:DERIVED_FROM]->(b:Field) RETURN a.id AS a, b.id AS b, "
        "e.transformationType AS t, e.transformationSubtype AS s, e.masking AS m",
        timeout=10) == [{"a": "d:out:a", "b": "d:in:b", "t": "INDIRECT", "s": "FILTER",
                         "m": True}]


def test_empty_strings_are_stored_as_empty_strings(engine: EmbeddedCypher) -> None:
    # A bulk load reads an empty CSV field as NULL: these go through statements.
    engine.apply([NodeUpsert("Field", "d:x", set={"name": "", "type": "string"}),
                  RelUpsert("DERIVED_FROM", "Field", "d:x", "Field", "d:y",
                            set={"transformationType": "DIRECT", "transformationSubtype": ""})])
    engine.apply([NodeUpsert("Field", "d:y", set={"type": ""})])
    assert node(engine, "Field", "d:x") == {"id": "d:x", "name": "", "type": "string"}
    assert node(engine, "Field", "d:y") == {"id": "d:y", "type": ""}
    assert engine.query("MATCH ()-[e:DERIVED_FROM]->() RETURN e.transformationSubtype AS s",
                        timeout=10) == [{"s": ""}]


def test_batches_larger_than_a_lookup_statement(engine: EmbeddedCypher) -> None:
    n = embedded.LOOKUP_CHUNK * 3 + 5
    engine.apply([NodeUpsert("Dataset", f"ns:t{i}", set={"name": f"t{i}"}) for i in range(n)])
    engine.apply([c for i in range(n) for c in (
        NodeUpsert("Dataset", f"ns:t{i}", set={"name": f"T{i}"}),
        RelUpsert("IN_NAMESPACE", "Dataset", f"ns:t{i}", "Namespace", "ns"))])
    engine.apply([RelUpsert("IN_NAMESPACE", "Dataset", f"ns:t{i}", "Namespace", "ns")
                  for i in range(n)])
    found = engine.query("MATCH (d:Dataset)-[:IN_NAMESPACE]->(:Namespace) RETURN d.name AS n",
                         timeout=10)
    assert sorted(r["n"] for r in found) == sorted(f"T{i}" for i in range(n))
