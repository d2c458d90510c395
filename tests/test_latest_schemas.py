"""The latest-schema graph: per dataset, the top-level typed fields of its latest schema
report, whatever the arrival order and however often a batch is re-applied."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from test_lineage_summary import event, records

from dpgraph.lineage.iris import dataset_iri
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.schema_signature import signature
from dpgraph.services.latest_schemas import LATEST_SCHEMA_GRAPH, LatestSchemas
from dpgraph.services.representation_links import LINKS_GRAPH
from dpgraph.store.oxigraph_store import OxigraphStore
from dpgraph.vocab import LATEST_SCHEMA_AT, REPRESENTED_BY, SCHEMA_SIGNATURE

SCHEMA_FACET = ("https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
                "#/$defs/SchemaDatasetFacet")


def with_schema(at: str, fields: list[dict]) -> dict:
    e = event(str(uuid.uuid4()), "COMPLETE", at)
    e["outputs"][0]["facets"] = {"schema": {
        "_producer": "https://example.com/producer", "_schemaURL": SCHEMA_FACET,
        "fields": fields}}
    return e


def latest(store: OxigraphStore) -> tuple[str | None, list[tuple[str, str]]]:
    rows = list(store.select(f"""SELECT ?at ?name ?type WHERE {{
        GRAPH <{LATEST_SCHEMA_GRAPH.value}> {{
            ?ds <https://w3id.org/dpgraph/ns#latestSchemaAt> ?at .
            OPTIONAL {{ ?ds <https://w3id.org/dpgraph/ns#hasField> ?f .
                       ?f <https://w3id.org/dpgraph/ns#fieldName> ?name ;
                          <https://w3id.org/dpgraph/ns#fieldType> ?type }} }} }}"""))
    ats = {r["at"].value for r in rows}
    assert len(ats) <= 1  # one dataset in these tests
    return (ats.pop() if ats else None,
            sorted((r["name"].value, r["type"].value) for r in rows if r["name"] is not None))


# By hand: the 11:00 report wins; its nested field and untyped field are not kept; the 10:00
# report's columns are gone; the second 11:00 report adds its column.
EVENTS = [
    with_schema("2025-01-01T10:00:00Z", [{"name": "id", "type": "int"},
                                         {"name": "old", "type": "varchar"}]),
    with_schema("2025-01-01T11:00:00Z", [
        {"name": "id", "type": "bigint"}, {"name": "note"},
        {"name": "address", "type": "struct",
         "fields": [{"name": "city", "type": "varchar"}]}]),
    with_schema("2025-01-01T11:00:00Z", [{"name": "loaded_at", "type": "timestamp"}]),
    with_schema("2025-01-01T09:00:00Z", [{"name": "ancient", "type": "varchar"}]),
]
EXPECTED = ("2025-01-01T11:00:00Z",
            [("address", "struct"), ("id", "bigint"), ("loaded_at", "timestamp")])
EXPECTED_SIGNATURE = signature(EXPECTED[1])


def signatures(store: OxigraphStore) -> list[str]:
    return [r["s"].value for r in store.select(
        f"SELECT ?s WHERE {{ GRAPH <{LATEST_SCHEMA_GRAPH.value}> "
        f"{{ ?ds <{SCHEMA_SIGNATURE.value}> ?s }} }}")]


def restated(store: OxigraphStore) -> list[tuple[str, str | None]]:
    """The latest-schema time and signature the links graph restates for linked datasets."""
    return [(r["at"].value, None if r["sig"] is None else r["sig"].value)
            for r in store.select(f"""SELECT ?at ?sig WHERE {{ GRAPH <{LINKS_GRAPH.value}> {{
                ?ds <{LATEST_SCHEMA_AT.value}> ?at .
                OPTIONAL {{ ?ds <{SCHEMA_SIGNATURE.value}> ?sig }} }} }}""")]


def link(store: OxigraphStore) -> None:
    """The output dataset of these tests is a representation (as the links follower, which
    runs before this one in a batch, would have linked it)."""
    store.update(f"INSERT DATA {{ GRAPH <{LINKS_GRAPH.value}> {{ "
                 f"<{dataset_iri('s3://gold', 'orders')}> <{REPRESENTED_BY.value}> "
                 f"<https://example.com/rep> }} }}")


def test_latest_schema_whatever_the_order_batching_and_re_application(tmp_path: Path) -> None:
    for n, order in enumerate(itertools.permutations(range(len(EVENTS)))):
        recs = records(tmp_path / str(n), [EVENTS[i] for i in order])
        store = OxigraphStore(None)
        if n % 2:
            link(store)  # the links graph restates the linked dataset's time and signature
        follower = LatestSchemas(store)
        for r in recs:  # one record per batch
            follower.apply([r])
        at, fields = latest(store)
        assert (at and at.startswith("2025-01-01T11:00:00"), fields) == (True, EXPECTED[1])
        assert signatures(store) == [EXPECTED_SIGNATURE]  # of the union of the instant
        assert restated(store) == ([(at, EXPECTED_SIGNATURE)] if n % 2 else [])
        follower.apply(recs)  # a batch re-applied after a crash
        assert latest(store) == (at, fields)
        assert signatures(store) == [EXPECTED_SIGNATURE]
        assert restated(store) == ([(at, EXPECTED_SIGNATURE)] if n % 2 else [])
    store = OxigraphStore(None)
    LatestSchemas(store).apply(records(tmp_path / "all", EVENTS))  # one batch
    assert latest(store)[1] == EXPECTED[1]
    assert signatures(store) == [EXPECTED_SIGNATURE]


def test_a_graph_from_before_the_signatures_is_signed_on_start(tmp_path: Path) -> None:
    store = OxigraphStore(None)
    recs = records(tmp_path, EVENTS)
    LatestSchemas(store).apply(recs)
    store.update(f"DELETE WHERE {{ GRAPH <{LATEST_SCHEMA_GRAPH.value}> "
                 f"{{ ?ds <{SCHEMA_SIGNATURE.value}> ?s }} }}")
    assert signatures(store) == []
    link(store)
    LatestSchemas(store).backfill(SqliteLog(tmp_path / "unused.sqlite"))
    assert signatures(store) == [EXPECTED_SIGNATURE]
    assert restated(store) == [(latest(store)[0], EXPECTED_SIGNATURE)]
    # A start stopped after signing and before restating restates on the next one
    store.update(f"DELETE WHERE {{ GRAPH <{LINKS_GRAPH.value}> "
                 f"{{ ?ds <{LATEST_SCHEMA_AT.value}> ?at }} }}")
    store.update(f"DELETE WHERE {{ GRAPH <{LINKS_GRAPH.value}> "
                 f"{{ ?ds <{SCHEMA_SIGNATURE.value}> ?s }} }}")
    assert restated(store) == []
    LatestSchemas(store).backfill(SqliteLog(tmp_path / "unused.sqlite"))
    assert restated(store) == [(latest(store)[0], EXPECTED_SIGNATURE)]


def test_a_schema_that_cannot_be_compared_by_hash_is_not_signed(tmp_path: Path) -> None:
    store = OxigraphStore(None)
    link(store)
    follower = LatestSchemas(store)
    follower.apply(records(tmp_path / "1", [with_schema(
        "2025-01-01T09:00:00Z", [{"name": "id", "type": "int"}])]))
    assert len(restated(store)) == 1 and restated(store)[0][1] is not None
    follower.apply(records(tmp_path / "2", [with_schema(
        "2025-01-01T10:00:00Z", [{"name": "id", "type": "int"}, {"name": "ID", "type": "int"}])]))
    assert latest(store)[1] == [("ID", "int"), ("id", "int")]
    assert signatures(store) == []  # two fields would match one column: compared in full
    # ... and the restated signature of the earlier schema is gone with it
    assert [sig for _, sig in restated(store)] == [None]
