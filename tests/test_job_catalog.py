"""Job resources from memory answer exactly as the SPARQL aggregation over every event does.

The runtime serves ``/namespaces/{ns}/jobs[/{job}[/runs]]`` from the job catalog, the lineage
index and the runs per job; a reader built without them aggregates the event graphs with
SPARQL. Every comparison asks both, on the same data."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from dpgraph import vocab as v
from dpgraph.lineage.mapping import event_to_quads, job_quads
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.services.job_catalog import JOB_PROPS
from dpgraph.services.lineage_graph import job_of
from dpgraph.services.lineage_read import LineageReader
from dpgraph.settings import Settings
from tests.test_lineage_index import PRODUCER, SPEC, VALID, hand_made, random_dag, run_id

WH = "warehouse"
FACET = "https://openlineage.io/spec/facets/1-0-0/Facet.json"


def facet(**body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET, **body}


def event(job: str, run: int, kind: str, time: str, job_facets: dict[str, Any] | None = None,
          run_facets: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"eventType": kind, "eventTime": time, "producer": PRODUCER,
            "schemaURL": SPEC + "RunEvent",
            "run": {"runId": run_id(run), "facets": run_facets or {}},
            "job": {"namespace": WH, "name": job, "facets": job_facets or {}},
            "inputs": [], "outputs": [{"namespace": WH, "name": f"out.{job}"}]}


def parent(job: str, run: int, **job_facets: Any) -> dict[str, Any]:
    return {"parent": facet(run={"runId": run_id(run)},
                            job={"namespace": WH, "name": job,
                                 **({"facets": job_facets} if job_facets else {})})}


def facet_history() -> list[dict[str, Any]]:
    """One job's facets changing over runs (a later event without a key the earlier had,
    equal eventTimes stating different values, a deleted facet, a facet only some events
    carry, an unknown facet kept raw), and tasks whose parent facet names a DAG job and
    forwards its facets."""
    t = "2024-06-01T0{}:00:00Z".format
    sql = {"sql": facet(query="select 1", dialect="duckdb")}
    return [
        event("model", 1, "START", t(1), {**sql, "documentation": facet(
            description="first", contentType="text/markdown"),
            "ownership": facet(owners=[{"name": "team:a", "type": "MAINTAINER"}])}),
        event("model", 1, "COMPLETE", t(2), {**sql, "documentation": facet(
            description="second")}),
        event("model", 2, "START", t(3), {"sql": facet(query="select 2")}),
        event("model", 3, "START", t(3), {"sql": facet(query="select 3"),
                                          "custom": facet(anything=[1, 2])}),
        event("model", 3, "COMPLETE", t(4), {"documentation": {"_deleted": True},
                                             "jobType": facet(processingType="BATCH",
                                                              integration="DBT",
                                                              jobType="MODEL")}),
        event("model", 4, "FAIL", t(5), {"custom": facet(anything=[3])}),
        event("dag.task_a", 10, "START", t(1), run_facets=parent("dag", 9, documentation=facet(
            description="the DAG"))),
        event("dag.task_a", 10, "COMPLETE", t(2), run_facets=parent("dag", 9)),
        event("dag.task_b", 11, "COMPLETE", t(6), run_facets={
            "parentRun": facet(run={"runId": run_id(9)}, job={"namespace": WH, "name": "dag"})}),
        event("dag", 9, "COMPLETE", t(7), {"ownership": facet(owners=[{"name": "team:b"}])}),
    ]


def all_jobs(rt: Runtime) -> list[str]:
    return sorted(row["j"].value for row in rt.store.select(
        f"SELECT ?j WHERE {{ ?j a <{v.JOB.value}> }}"))


def assert_same_job_answers(rt: Runtime) -> int:
    sparql = LineageReader(rt.store, rt.projection)  # no in-memory facts: SPARQL only
    memory = rt.lineage_read
    jobs = all_jobs(rt)
    for job in jobs:
        ns, name = job_of(job)
        assert memory.job(ns, name) == sparql.job(ns, name), job
        for offset in (0, 1):
            assert (memory.job_runs(ns, name, limit=2, offset=offset)
                    == sparql.job_runs(ns, name, limit=2, offset=offset)), job
    for ns in {job_of(j)[0] for j in jobs}:
        assert memory.jobs(ns, limit=1000) == sparql.jobs(ns, limit=1000)
    return len(jobs)


def post(rt: Runtime, *events: dict[str, Any]) -> None:
    for e in events:
        rt.lineage.receive(json.dumps(e).encode())
    rt.sync()


def test_job_quads_are_what_the_mapping_says_about_jobs() -> None:
    events = [json.loads(p.read_text()) for p in VALID] + facet_history() + hand_made()
    for i, e in enumerate(events):
        eid = f"{i:064x}"
        try:
            full = event_to_quads(e, event_id=eid, received_at="2024-01-01T00:00:00Z")
        except ValueError:
            with pytest.raises(ValueError):
                job_quads(e, event_id=eid)
            continue
        part = job_quads(e, event_id=eid)
        assert set(part) <= set(full)
        jobs = {q.subject for q in full if q.predicate == v.RDF_TYPE and q.object == v.JOB}
        read = {q for q in full if q.subject in jobs and (
            q.predicate.value in JOB_PROPS or q.predicate in (v.RDF_TYPE, v.HAS_FACET))}
        assert read <= set(part), e.get("job")
        facets = {q.object for q in read if q.predicate == v.HAS_FACET}
        assert {q for q in full if q.subject in facets} <= set(part)


def test_a_job_with_changing_facets_and_a_parent_dag_answers_alike(runtime: Runtime) -> None:
    events = facet_history()
    for k in range(0, len(events), 4):  # alike while events arrive
        post(runtime, *events[k:k + 4])
        assert_same_job_answers(runtime)
    job = runtime.lineage_read.job(WH, "model")
    # each term from the latest event stating it; two events at one time state two queries
    assert job["facets"]["sql"]["query"] in ("select 2", "select 3")
    assert job["facets"]["sql"]["dialect"] == "duckdb"
    assert "documentation" not in job["facets"]  # deleted by the latest event carrying it
    assert job["facets"]["custom"]["anything"] == [3]
    assert job["latestRun"]["id"] == run_id(4) and job["latestRun"]["state"] == "FAILED"
    assert (job["createdAt"], job["updatedAt"]) == ("2024-06-01T01:00:00Z",
                                                    "2024-06-01T05:00:00Z")
    dag = runtime.lineage_read.job(WH, "dag")
    assert dag["facets"]["documentation"] == {"description": "the DAG"}
    assert dag["createdAt"] == "2024-06-01T01:00:00Z"  # named as a parent before its own run
    task = runtime.lineage_read.job(WH, "dag.task_a")
    assert task["parentJobName"] == "dag" and task["simpleName"] == "task_a"


def test_corpus_and_random_events_answer_alike_in_any_order(runtime: Runtime) -> None:
    events = ([json.loads(p.read_text()) for p in VALID] + facet_history()
              + random_dag(5, layers=4, width=4))
    random.Random(11).shuffle(events)
    for e in events:
        runtime.lineage.receive(json.dumps(e).encode())
    runtime.sync()
    assert assert_same_job_answers(runtime) > 30


def test_the_catalog_is_rebuilt_from_the_log_on_start(settings: Settings) -> None:
    rt = open_runtime(settings)
    post(rt, *facet_history())
    before = {j: rt.lineage_read.job(*job_of(j)) for j in all_jobs(rt)}
    rt.close()
    rt = open_runtime(settings)
    try:
        assert {j: rt.lineage_read.job(*job_of(j)) for j in all_jobs(rt)} == before
        assert_same_job_answers(rt)
    finally:
        rt.close()
