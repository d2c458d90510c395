"""The in-memory lineage index answers /lineage exactly as the SPARQL adjacency does.

Every comparison runs the same request twice on the same data: once through the index (what
``GET /api/v1/lineage`` uses without ``asOf``) and once through :class:`SparqlAdjacency`."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from dpgraph import vocab as v
from dpgraph.lineage.mapping import event_to_quads
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.services.lineage_graph import (
    TERMINAL,
    Aliases,
    SparqlAdjacency,
    dataset_node_id,
    job_node_id,
    parse_time,
    traverse,
)
from dpgraph.services.lineage_index import IndexAdjacency, event_facts
from dpgraph.services.lineage_read import LineageReader
from dpgraph.services.projector import PROJECTION
from dpgraph.settings import Settings

SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR",
                             Path(__file__).resolve().parents[2] / "shared"))
VALID = sorted((SHARED / "corpus" / "openlineage" / "valid").rglob("*.json"))
PRODUCER = "https://github.com/example/dpgraph-tests"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"
SYMLINKS = ("https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json"
            "#/$defs/SymlinksDatasetFacet")
PG = "postgres://db:5432"
WH = "warehouse"
DEPTHS = (0, 1, 2, 3, 5, 20)


# ---------------------------------------------------------------- events
def symlinks(*targets: tuple[str, str]) -> dict[str, Any]:
    return {"symlinks": {"_producer": PRODUCER, "_schemaURL": SYMLINKS, "identifiers": [
        {"namespace": ns, "name": name, "type": "TABLE"} for ns, name in targets]}}


def ds(name: str, ns: str = PG, **facets: Any) -> dict[str, Any]:
    return {"namespace": ns, "name": name, "facets": facets}


def run_event(job: str, run: str, kind: str, time: str, inputs: list[Any] = (),  # type: ignore[assignment]
              outputs: list[Any] = (), ns: str = WH) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "eventType": kind, "eventTime": time, "producer": PRODUCER,
        "schemaURL": SPEC + "RunEvent", "run": {"runId": run, "facets": {}},
        "job": {"namespace": ns, "name": job, "facets": {}},
        "inputs": [ds(x) if isinstance(x, str) else x for x in inputs],
        "outputs": [ds(x) if isinstance(x, str) else x for x in outputs],
    }


def job_event(job: str, time: str, inputs: list[Any], outputs: list[Any]) -> dict[str, Any]:
    e = run_event(job, "x", "COMPLETE", time, inputs, outputs)
    del e["run"], e["eventType"]
    e["schemaURL"] = SPEC + "JobEvent"
    return e


def dataset_event(name: str, time: str, **facets: Any) -> dict[str, Any]:
    return {"eventTime": time, "producer": PRODUCER, "schemaURL": SPEC + "DatasetEvent",
            "dataset": ds(name, **facets)}


def run_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def post(rt: Runtime, *events: dict[str, Any]) -> None:
    for e in events:
        rt.lineage.receive(json.dumps(e).encode())
    rt.sync()


def hand_made() -> list[dict[str, Any]]:
    """The shapes of test_lineage_read: a chain, symlinks, versions, late STARTs."""
    t = "2024-05-01T10:0{}:00Z".format
    return [
        # chain d1 -> load -> d2 -> transform -> d3, with a START arriving after its COMPLETE
        run_event("load", run_id(1), "COMPLETE", t(1), ["public.d1"], ["public.d2"]),
        run_event("load", run_id(1), "START", t(0), ["public.d1"]),
        run_event("transform", run_id(2), "START", t(2), ["public.d2"]),
        run_event("transform", run_id(2), "COMPLETE", t(3), ["public.d2"], ["public.d3"]),
        # a newer version of transform that also reads d4, then a failed older-looking run
        run_event("transform", run_id(3), "COMPLETE", t(5), ["public.d2", "public.d4"],
                  ["public.d3"]),
        run_event("transform", run_id(4), "FAIL", "2024-05-01T10:05:00+00:00", ["public.d2"],
                  ["public.d3"]),
        run_event("transform", run_id(5), "START", t(9), ["public.d9"]),
        # aliases: a warehouse table and its file, one pointing at the other
        run_event("export", run_id(6), "COMPLETE", t(6),
                  [ds("public.d3", **symlinks(("s3://bucket", "d3.parquet")))],
                  [ds("d3.csv", "s3://bucket")]),
        dataset_event("d3.parquet", t(7), **symlinks((PG, "public.d3"))),
        run_event("read_file", run_id(7), "COMPLETE", t(8), [ds("d3.parquet", "s3://bucket")],
                  ["public.d5"]),
        job_event("static", t(4), ["public.d5"], ["public.d6"]),
    ]


def random_dag(seed: int, layers: int = 7, width: int = 7) -> list[dict[str, Any]]:
    """A layered DAG: several runs and versions per job, START/RUNNING/COMPLETE/FAIL/ABORT,
    coarse times (ties), aliases (chains and cycles) in input facets and DatasetEvents, all
    in shuffled arrival order."""
    rnd = random.Random(seed)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    events: list[dict[str, Any]] = []

    def name(layer: int, i: int) -> str:
        return f"l{layer}.t{i}"

    def when() -> str:
        t = base + dt.timedelta(minutes=rnd.randrange(40))
        form = rnd.randrange(3)
        if form == 0:
            return t.isoformat().replace("+00:00", "Z")
        if form == 1:
            return t.replace(tzinfo=None).isoformat()
        return t.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()

    # some datasets have a copy in the lake, linked either way (so either is canonical)
    copies = {(layer, i): rnd.choice(["to-lake", "from-lake"])
              for layer in range(layers) for i in range(width) if rnd.random() < 0.3}

    def dataset(layer: int, i: int) -> dict[str, Any]:
        way = copies.get((layer, i))
        if way == "to-lake" and rnd.random() < 0.5:
            return ds(name(layer, i), **symlinks(("s3://lake", name(layer, i))))
        if way == "from-lake" and rnd.random() < 0.5:
            return ds(name(layer, i), "s3://lake", **symlinks((PG, name(layer, i))))
        return ds(name(layer, i))

    n = 0
    for layer in range(1, layers):
        for i in range(width):
            job = f"job{layer}.{i}"
            for _ in range(rnd.randrange(1, 4)):
                ins = [dataset(rnd.randrange(layer), rnd.randrange(width))
                       for _ in range(rnd.randrange(1, 4))]
                outs = [dataset(layer, i)] + ([dataset(layer, rnd.randrange(width))]
                                              if rnd.random() < 0.3 else [])
                for _ in range(rnd.randrange(1, 3)):
                    n += 1
                    kinds = ["START", rnd.choice(["COMPLETE", "COMPLETE", "FAIL", "ABORT",
                                                   "RUNNING"])]
                    for kind in kinds:
                        partial = kind == "START" and rnd.random() < 0.5
                        events.append(run_event(job, run_id(n), kind, when(), ins,
                                                [] if partial else outs))
            if rnd.random() < 0.1:
                events.append(job_event(job, when(), [dataset(layer - 1, i)],
                                        [dataset(layer, i)]))
    for k in range(4):  # a few links between tables (one a cycle), in DatasetEvents
        a, b = (rnd.randrange(layers), rnd.randrange(width)), (rnd.randrange(layers),
                                                               rnd.randrange(width))
        events.append(dataset_event(name(*a), when(), **symlinks((PG, name(*b)))))
        if k == 0:
            events.append(dataset_event(name(*b), when(), **symlinks((PG, name(*a)))))
    rnd.shuffle(events)
    return events


# ---------------------------------------------------------------- comparisons
def node_ids(rt: Runtime) -> list[str]:
    out = []
    for row in rt.store.select(f"SELECT DISTINCT ?n ?c WHERE {{ ?n a ?c "
                               f"VALUES ?c {{ <{v.JOB.value}> <{v.LINEAGE_DATASET.value}> }} }}"):
        iri = row["n"].value
        out.append(job_node_id(iri) if row["c"].value == v.JOB.value else dataset_node_id(iri))
    return sorted(out)


def assert_same_answers(rt: Runtime, sample: int | None = None, seed: int = 0) -> int:
    assert rt.lineage_index is not None
    sparql = LineageReader(rt.store, rt.projection)  # no index: SPARQL only
    indexed = rt.lineage_read
    ids = node_ids(rt)
    if sample is not None and len(ids) > sample:
        ids = sorted(random.Random(seed).sample(ids, sample))
    for nid in ids:
        for depth in DEPTHS:
            assert indexed.lineage(nid, depth) == sparql.lineage(nid, depth), (nid, depth)
    # the adjacency itself: every job's version, edges (first/last seen) and reported datasets
    select = rt.store.select
    jobs = [row["j"].value for row in select(f"SELECT ?j WHERE {{ ?j a <{v.JOB.value}> }}")]
    index_adj = IndexAdjacency(rt.lineage_index)
    sparql_adj = SparqlAdjacency(select, Aliases(select), None)
    assert index_adj.lineage_of(jobs) == sparql_adj.lineage_of(jobs)
    for job in jobs[:10]:
        for depth in (1, 4, 20):
            a = traverse(job, "JOB", depth, IndexAdjacency(rt.lineage_index))
            b = traverse(job, "JOB", depth, SparqlAdjacency(select, Aliases(select), None))
            assert a.nodes == b.nodes and a.edges == b.edges
    return len(ids)


@pytest.fixture
def rt(settings: Settings) -> Any:
    runtime = open_runtime(settings)
    yield runtime
    runtime.close()


# ---------------------------------------------------------------- tests
def test_event_facts_agree_with_the_mapping() -> None:
    """The index reads the same facts from an event as its projected graph holds."""
    events = [json.loads(p.read_text()) for p in VALID] + hand_made() + random_dag(3)
    assert len(events) > 100
    for i, event in enumerate(events):
        try:
            quads = event_to_quads(event, event_id=f"{i:064x}", received_at="2024-01-01T00:00:00Z")
        except ValueError:
            with pytest.raises(ValueError):
                event_facts(event)
            continue
        f = event_facts(event)
        by = {}
        for q in quads:
            by.setdefault(q.predicate.value, set()).add((q.subject.value, q.object.value))
        about = {o for _, o in by.get(v.ABOUT_JOB.value, ())}
        assert about == ({f.job} if f.job else set())
        assert {parse_time(o) for _, o in by[v.EVENT_TIME.value]} == {f.time}
        assert {o for _, o in by.get(v.JOB_VERSION.value, ())} == (
            {f.version} if f.version else set())
        if f.job is not None:
            types = {o for _, o in by.get(v.EVENT_TYPE.value, ())}
            terminal = (v.ABOUT_RUN.value not in by
                        or bool(types & {v.RUN_STATES[s].value for s in TERMINAL}))
            assert f.terminal == terminal
        edges = {("in", o) for s, o in by.get(v.HAS_INPUT.value, ()) if s == f.job} | {
            ("out", o) for s, o in by.get(v.HAS_OUTPUT.value, ()) if s == f.job}
        assert set(f.edges) == edges and len(f.edges) == len(edges)
        assert set(f.aliases) == by.get(v.ALIAS_OF.value, set())


def test_hand_made_scenarios_answer_alike(rt: Runtime) -> None:
    events = hand_made()
    for k in range(0, len(events), 3):  # answers stay equal while events arrive
        post(rt, *events[k:k + 3])
        assert_same_answers(rt)
    lin = rt.lineage_read.lineage("dataset:s3://bucket:d3.parquet", 2)
    assert any(n["data"].get("symlinks") for n in lin["graph"] if n["type"] == "DATASET")


def test_corpus_events_answer_alike(rt: Runtime) -> None:
    for path in VALID:
        rt.lineage.receive(path.read_bytes())
    rt.sync()
    assert assert_same_answers(rt, sample=60) > 10


@pytest.mark.parametrize("seed", [1, 2])
def test_a_random_dag_answers_alike(rt: Runtime, seed: int) -> None:
    events = random_dag(seed)
    assert len(events) > 150
    post(rt, *events)
    assert assert_same_answers(rt, sample=40, seed=seed) == 40


def test_the_index_survives_a_restart_and_a_replay(settings: Settings) -> None:
    from dpgraph.cli import main

    rt = open_runtime(settings)
    post(rt, *hand_made(), *random_dag(7, layers=4, width=4))
    ids = node_ids(rt)
    before = {nid: rt.lineage_read.lineage(nid, 20) for nid in ids}
    rt.close()

    rt = open_runtime(settings)  # built from the log
    try:
        assert {nid: rt.lineage_read.lineage(nid, 20) for nid in ids} == before
        assert_same_answers(rt, sample=15)
        # the graph's projection behind the log: its catch-up feeds the index again what
        # loading it from the log added
        rt.log.set_projected(PROJECTION, rt.log.head() // 2)
    finally:
        rt.close()
    rt = open_runtime(settings)
    try:
        assert {nid: rt.lineage_read.lineage(nid, 20) for nid in ids} == before
    finally:
        rt.close()

    assert main(["replay", "--data-dir", str(settings.data_dir)]) == 0
    rt = open_runtime(settings)
    try:
        assert {nid: rt.lineage_read.lineage(nid, 20) for nid in ids} == before
        post(rt, run_event("late", run_id(999), "COMPLETE", "2030-01-01T00:00:00Z",
                           ["public.d1"], ["public.late"]))
        assert_same_answers(rt, sample=15)
    finally:
        rt.close()
