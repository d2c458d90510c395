"""The in-memory column-lineage index answers /column-lineage exactly as SPARQL does.

Every comparison runs the same request twice on the same data: once through the index (what
``GET /api/v1/column-lineage`` uses) and once through :class:`SparqlColumns` with SPARQL
aliases, on the corpus, hand-made edge cases and random derivation graphs in shuffled
arrival orders."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from test_lineage_index import PG, PRODUCER, VALID, ds, post, run_event, run_id, symlinks

from dpgraph import vocab as v
from dpgraph.lineage.mapping import event_to_quads
from dpgraph.offline_replay import replay
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.services.column_lineage_index import field_facts
from dpgraph.services.lineage_graph import dataset_node_id, field_node_id
from dpgraph.services.lineage_read import LineageReader
from dpgraph.services.projector import PROJECTION
from dpgraph.settings import Settings

COLUMN_LINEAGE = ("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
                  "#/$defs/ColumnLineageDatasetFacet")
SCHEMA = "https://openlineage.io/spec/facets/1-1-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
QUALITY = ("https://openlineage.io/spec/facets/1-0-2/DataQualityMetricsInputDatasetFacet.json"
           "#/$defs/DataQualityMetricsInputDatasetFacet")
DEPTHS = (0, 1, 2, 20)


def lineage(fields: dict[str, list[tuple[str, str, str]]], **extra: Any) -> dict[str, Any]:
    """A columnLineage facet: output field -> [(dataset, field, transformation)]; a
    transformation "" lists the input without transformations (ColumnLineage 1.0)."""
    out = {}
    for name, inputs in fields.items():
        entries = []
        for dataset, field, how in inputs:
            entry: dict[str, Any] = {"namespace": PG, "name": dataset, "field": field}
            if how:
                kind, _, sub = how.partition("/")
                t: dict[str, Any] = {"type": kind, "subtype": sub, "description": how.lower()}
                if sub.startswith("AGGREGATION"):  # AGGREGATIONN: a masking one
                    t["subtype"], t["masking"] = "AGGREGATION", sub == "AGGREGATIONN"
                entry["transformations"] = [t]
            entries.append(entry)
        out[name] = {"inputFields": entries}
    return {"_producer": PRODUCER, "_schemaURL": COLUMN_LINEAGE, "fields": out, **extra}


def schema(*fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": SCHEMA, "fields": list(fields)}


def hand_made() -> list[dict[str, Any]]:
    """Aliases, nested schema fields, 1.0 field-level types, masking flags, the same input
    with several transformations, dataset-level dependencies, quality metrics, an invalid
    facet's pointer and a deleted facet."""
    t = "2024-05-01T10:0{}:00Z".format
    raw = ds("public.raw")
    raw["facets"] = {"schema": schema({"name": "id", "type": "INT"},
                                      {"name": "addr", "type": "STRUCT", "fields": [
                                          {"name": "city", "type": "TEXT"},
                                          {"name": "zip", "type": "TEXT"}]})}
    stg = ds("public.stg", **symlinks(("s3://lake", "stg.parquet")))
    stg["facets"]["schema"] = schema({"name": "id", "type": "BIGINT"}, {"name": "city"})
    stg["facets"]["columnLineage"] = lineage(
        {"id": [("public.raw", "id", "DIRECT/IDENTITY"), ("public.raw", "id", "INDIRECT/JOIN")],
         "city": [("public.raw", "addr.city", ""), ("public.raw", "addr.zip", "DIRECT/IDENTITY")],
         "n": [("public.raw", "id", "DIRECT/AGGREGATION"), ("public.raw", "id",
                                                            "DIRECT/AGGREGATIONN")]},
        dataset=[{"namespace": PG, "name": "public.raw", "field": "status",
                  "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}])
    stg["facets"]["columnLineage"]["fields"]["n"]["transformationType"] = "IDENTITY"
    stg["facets"]["columnLineage"]["fields"]["n"]["transformationDescription"] = "count"
    lake = ds("stg.parquet", "s3://lake")
    lake["facets"]["columnLineage"] = lineage({"city2": [("public.stg", "city", "DIRECT/"
                                                                               "TRANSFORMATION")]})
    mart = ds("public.mart")
    mart["facets"]["columnLineage"] = lineage({"total": [("public.stg", "n", ""),
                                                         ("public.stg", "city", "")]})
    quality = ds("public.stg")
    quality["inputFacets"] = {"dataQualityMetrics": {
        "_producer": PRODUCER, "_schemaURL": QUALITY, "rowCount": 3,
        "columnMetrics": {"id": {"nullCount": 0}, "extra": {"nullCount": 1}}}}
    hidden = ds("public.hidden")
    hidden["facets"]["columnLineage"] = {**lineage({"x": [("public.raw", "id", "")]}),
                                         "_deleted": True}
    broken = ds("public.broken")
    broken["facets"]["columnLineage"] = lineage({"y": [("public.raw", "id", "")]})
    broken["facets"]["columnLineage"]["fields"]["y"]["inputFields"][0]["transformations"] = "x"
    return [
        run_event("stage", run_id(1), "COMPLETE", t(1), [raw], [stg]),
        run_event("copy", run_id(2), "COMPLETE", t(2), [ds("public.stg")], [lake]),
        run_event("mart", run_id(3), "COMPLETE", t(3), [quality, ds("stg.parquet", "s3://lake")],
                  [mart, hidden, broken]),
        # a later run restating part of it with another transformation: both are kept
        run_event("stage", run_id(4), "COMPLETE", t(4), [raw], [{**stg, "facets": {
            "columnLineage": lineage({"id": [("public.raw", "id", "DIRECT/TRANSFORMATION")]})}}]),
    ]


def random_fields(seed: int, datasets: int = 12, width: int = 6) -> list[dict[str, Any]]:
    """Random derivations between fields of a few datasets (cycles included), some through
    aliases, spread over events in shuffled order."""
    rnd = random.Random(seed)
    hows = ["", "DIRECT/IDENTITY", "DIRECT/AGGREGATION", "DIRECT/AGGREGATIONN", "INDIRECT/JOIN"]
    events = []
    for n in range(40):
        out = rnd.randrange(datasets)
        fields = {f"c{rnd.randrange(width)}": [
            (f"public.t{rnd.randrange(datasets)}", f"c{rnd.randrange(width)}", rnd.choice(hows))
            for _ in range(rnd.randrange(1, 4))] for _ in range(rnd.randrange(1, 4))}
        facets: dict[str, Any] = {"columnLineage": lineage(fields)}
        if rnd.random() < 0.3:
            facets["schema"] = schema(*({"name": f"c{k}", "type": rnd.choice(["INT", "TEXT"])}
                                        for k in range(width)))
        if out % 4 == 0:
            facets.update(symlinks(("s3://lake", f"t{out}")))
        output = ds(f"public.t{out}")
        output["facets"] = facets
        events.append(run_event(f"job{n % 7}", run_id(100 + n), "COMPLETE",
                                f"2024-01-01T00:{n:02d}:00Z", [], [output]))
    rnd.shuffle(events)
    return events


def column_node_ids(rt: Runtime) -> list[str]:
    out = []
    for row in rt.store.select(f"SELECT DISTINCT ?n ?c WHERE {{ ?n a ?c VALUES ?c {{ "
                               f"<{v.FIELD.value}> <{v.LINEAGE_DATASET.value}> }} }}"):
        iri = row["n"].value
        out.append(field_node_id(iri) if row["c"].value == v.FIELD.value
                   else dataset_node_id(iri))
    return sorted(out)


def objects(by: dict[str, set[tuple[str, str]]], pred: Any, s: str) -> str | None:
    found = [o for x, o in by.get(pred.value, ()) if x == s]
    assert len(found) <= 1
    return found[0] if found else None


def assert_same_answers(rt: Runtime, sample: int | None = None, seed: int = 0) -> int:
    sparql = LineageReader(rt.store, rt.projection)  # no index: SPARQL only
    ids = column_node_ids(rt)
    if sample is not None and len(ids) > sample:
        ids = sorted(random.Random(seed).sample(ids, sample))
    compared = 0
    for nid in ids:
        for depth in DEPTHS:
            for down in (False, True):
                a = rt.lineage_read.column_lineage(nid, depth, down)
                assert a == sparql.column_lineage(nid, depth, down), (nid, depth, down)
                compared += bool(a["graph"])
    assert compared, "nothing but empty answers compared"
    return len(ids)


@pytest.fixture
def rt(settings: Settings) -> Any:
    runtime = open_runtime(settings)
    yield runtime
    runtime.close()


def test_field_facts_agree_with_the_mapping() -> None:
    """The index reads the same field facts from an event as its projected graph holds."""
    events = ([json.loads(p.read_text()) for p in VALID] + hand_made() + random_fields(1))
    checked = 0
    for i, event in enumerate(events):
        invalid = frozenset({"/outputs/2/facets/columnLineage"}) if i % 2 else frozenset()
        try:
            quads = event_to_quads(event, event_id=f"{i:064x}",
                                   received_at="2024-01-01T00:00:00Z", invalid_facets=invalid)
        except ValueError:
            with pytest.raises(ValueError):
                field_facts(event, invalid)
            continue
        f = field_facts(event, invalid)
        by: dict[str, set[tuple[str, str]]] = {}
        for q in quads:
            by.setdefault(q.predicate.value, set()).add((q.subject.value, q.object.value))
        assert set(f.fields) == by.get(v.HAS_FIELD.value, set())

        derivations = set()
        for out, d in by.get(v.HAS_DERIVATION.value, ()):
            derivations.add((out, tuple(objects(by, p, d) for p in (
                v.DERIVATION_SOURCE, v.TRANSFORMATION_TYPE, v.TRANSFORMATION_SUBTYPE,
                v.DCT_DESCRIPTION, v.MASKING))))
        assert set(f.derivations) == derivations
        assert {(o, s) for o, (s, *_) in f.derivations} == by.get(
            v.DERIVED_FROM_FIELD.value, set())
        info = {(s, key, o) for key, pred in (("type", v.FIELD_TYPE),
                                              ("kind", v.FIELD_TRANSFORMATION_TYPE),
                                              ("desc", v.FIELD_TRANSFORMATION_DESCRIPTION))
                for s, o in by.get(pred.value, ())}
        assert set(f.info) == info
        checked += bool(f.derivations)
    assert checked > 20


def test_hand_made_cases_answer_alike(rt: Runtime) -> None:
    events = hand_made()
    for k in range(len(events)):  # answers stay equal while events arrive
        post(rt, events[k])
        assert_same_answers(rt)
    stg = rt.lineage_read.column_lineage(f"datasetField:{PG}:public.stg:n", 1)["graph"]
    n = next(node for node in stg if node["id"].endswith(":n"))
    assert [i.get("masking") for i in n["data"]["inputFields"]] == [False, True]
    assert n["data"]["transformationType"] == "IDENTITY"
    lake = rt.lineage_read.column_lineage("datasetField:s3://lake:stg.parquet:city2", 2)
    assert f"datasetField:{PG}:public.stg:city2" in {x["id"] for x in lake["graph"]}


def test_corpus_events_answer_alike(rt: Runtime) -> None:
    for path in VALID:
        rt.lineage.receive(path.read_bytes())
    rt.sync()
    assert assert_same_answers(rt, sample=80) > 40


@pytest.mark.parametrize("seed", [1, 2])
def test_random_derivations_answer_alike_in_any_order(settings: Settings, seed: int) -> None:
    events = random_fields(seed)
    answers = []
    for order in range(2):
        rnd = random.Random(order)
        shuffled = rnd.sample(events, len(events))
        rt = open_runtime(settings.model_copy(update={"data_dir": settings.data_dir / str(order)}))
        try:
            post(rt, *shuffled)
            assert_same_answers(rt, sample=30, seed=seed)
            answers.append({nid: rt.lineage_read.column_lineage(nid, 20, True)
                            for nid in column_node_ids(rt)})
        finally:
            rt.close()
    assert answers[0] == answers[1]


def test_the_index_survives_a_restart_and_a_replay(settings: Settings) -> None:
    rt = open_runtime(settings)
    post(rt, *hand_made(), *random_fields(3))
    ids = column_node_ids(rt)
    before = {nid: rt.lineage_read.column_lineage(nid, 20, True) for nid in ids}
    rt.close()
    rt = open_runtime(settings)  # built from the log
    try:
        assert {nid: rt.lineage_read.column_lineage(nid, 20, True) for nid in ids} == before
        # the graph's projection behind the log: its catch-up feeds the index again
        rt.log.set_projected(PROJECTION, rt.log.head() // 2)
    finally:
        rt.close()
    rt = open_runtime(settings)
    try:
        assert {nid: rt.lineage_read.column_lineage(nid, 20, True) for nid in ids} == before
    finally:
        rt.close()
    replay(settings)
    rt = open_runtime(settings)
    try:
        assert {nid: rt.lineage_read.column_lineage(nid, 20, True) for nid in ids} == before
        assert_same_answers(rt, sample=20)
    finally:
        rt.close()
