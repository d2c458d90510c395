"""The lineage summary graphs: each structural lineage triple once, each run's latest terminal
events only, whatever the arrival order and however often a batch is re-applied."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from dpgraph.lineage.iris import namespace
from dpgraph.lineage.validation import EventValidator
from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.offline_replay import replay
from dpgraph.runtime import open_runtime
from dpgraph.services.lineage import to_record
from dpgraph.services.lineage_summary import RUN_STATES_GRAPH, SUMMARY_GRAPH, LineageSummary
from dpgraph.settings import Settings
from dpgraph.store.oxigraph_store import OxigraphStore

PRODUCER = "https://example.com/producer"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def event(run: str, kind: str, at: str, job: str = "build.orders") -> dict:
    return {"eventType": kind, "eventTime": at, "producer": PRODUCER, "schemaURL": SCHEMA,
            "run": {"runId": run}, "job": {"namespace": "etl", "name": job},
            "inputs": [{"namespace": "s3://raw", "name": "orders"}],
            "outputs": [{"namespace": "s3://gold", "name": "orders"}]}


def records(tmp: Path, events: list[dict]) -> list[LogRecord]:
    log = SqliteLog(tmp / "log.sqlite")
    validator = EventValidator()
    log.append_all([to_record(validator.validate(e)) for e in events])
    out = list(log.read())
    log.close()
    return out


def state(store: OxigraphStore) -> tuple[set[str], list[tuple[str, str, str]]]:
    structure = {str(t) for t in store.graph_triples(SUMMARY_GRAPH)}
    runs = sorted((r["run"].value, r["type"].value.rsplit("#", 1)[1], r["time"].value)
                  for r in store.select(f"""SELECT ?run ?type ?time WHERE {{
                      GRAPH <{RUN_STATES_GRAPH.value}> {{ ?e <https://w3id.org/dpgraph/ns#aboutRun>
                          ?run ; <https://w3id.org/dpgraph/ns#eventType> ?type ;
                          <https://w3id.org/dpgraph/ns#eventTime> ?time }} }}"""))
    return structure, runs


def test_latest_terminal_events_whatever_the_order_and_re_application(tmp_path: Path) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        event(a, "START", "2025-01-01T10:00:00Z"),
        event(a, "COMPLETE", "2025-01-01T11:00:00Z"),
        event(a, "FAIL", "2025-01-01T12:00:00.5Z"),  # later, with a fraction: FAIL is the state
        event(b, "COMPLETE", "2025-01-01T11:00:00Z"),
        event(b, "ABORT", "2025-01-01T11:00:00Z"),  # the same time: both stay
    ]
    recs = records(tmp_path, events)
    forward, backward = OxigraphStore(None), OxigraphStore(None)
    summary = LineageSummary(forward)
    for r in recs:
        summary.apply([r])
    summary.apply(recs)  # re-applied after a crash before the offset moved
    LineageSummary(forward).apply(recs)  # and by a fresh process, with nothing in memory
    reverse = LineageSummary(backward)
    reverse.apply(list(reversed(recs)))

    structure, runs = state(forward)
    assert (structure, runs) == state(backward)
    assert runs == sorted([
        (f"https://w3id.org/dpgraph/id/ol/run/{a}", "RunFailed", "2025-01-01T12:00:00.5Z"),
        (f"https://w3id.org/dpgraph/id/ol/run/{b}", "RunCompleted", "2025-01-01T11:00:00Z"),
        (f"https://w3id.org/dpgraph/id/ol/run/{b}", "RunAborted", "2025-01-01T11:00:00Z")])
    job = "<https://w3id.org/dpgraph/id/ol/job/etl/build.orders>"
    assert (f"{job} <https://w3id.org/dpgraph/ns#hasInput> "
            "<https://w3id.org/dpgraph/id/ol/dataset/s3%3A%2F%2Fraw/orders>") in structure
    # Each triple once: the summary is a set, whatever the number of events stating it.
    assert len(forward.graph_triples(SUMMARY_GRAPH)) == len(structure)
    # Each namespace named by the events spans from the first to the last of them.
    span = ("2025-01-01T10:00:00Z", "2025-01-01T12:00:00.5Z")  # canonical xsd:dateTime
    assert namespace_spans(forward) == {
        namespace("etl").value: span, namespace("s3://raw").value: span,
        namespace("s3://gold").value: span}


def namespace_spans(store: OxigraphStore) -> dict[str, tuple[str, str]]:
    return {r["n"].value: (r["c"].value, r["m"].value) for r in store.select(f"""
        SELECT ?n ?c ?m WHERE {{ GRAPH <{SUMMARY_GRAPH.value}> {{
            ?n <http://purl.org/dc/terms/created> ?c ;
               <http://purl.org/dc/terms/modified> ?m }} }}""")}


def test_replay_and_backfill_rebuild_the_same_summary(tmp_path: Path) -> None:
    run = str(uuid.uuid4())
    records(tmp_path, [event(run, "START", "2025-01-01T10:00:00Z"),
                       event(run, "COMPLETE", "2025-01-01T11:00:00Z"),
                       event(str(uuid.uuid4()), "COMPLETE", "2025-01-02T11:00:00Z", "other")])
    rt = open_runtime(Settings(data_dir=tmp_path))
    try:
        rt.sync()
        live = state(rt.store)  # type: ignore[arg-type]
        assert live[1] and live[0]
        rt.store.update(f"DROP GRAPH <{SUMMARY_GRAPH.value}> ; "
                        f"DROP GRAPH <{RUN_STATES_GRAPH.value}>")
    finally:
        rt.close()
    rt = open_runtime(Settings(data_dir=tmp_path))  # a store from before the summary
    try:
        rt.sync()
        assert state(rt.store) == live  # type: ignore[arg-type]
        rt.store.update(f"DELETE WHERE {{ GRAPH <{SUMMARY_GRAPH.value}> {{ "
                        "?n <http://purl.org/dc/terms/created> ?c ; "
                        "<http://purl.org/dc/terms/modified> ?m } }")
        assert not namespace_spans(rt.store)  # type: ignore[arg-type]
    finally:
        rt.close()
    rt = open_runtime(Settings(data_dir=tmp_path))  # a summary from before namespace spans
    try:
        rt.sync()
        assert state(rt.store) == live  # type: ignore[arg-type]
        assert namespace_spans(rt.store)[namespace("etl").value] == (  # type: ignore[arg-type]
            "2025-01-01T10:00:00Z", "2025-01-02T11:00:00Z")
    finally:
        rt.close()
    replay(Settings(data_dir=tmp_path))
    rt = open_runtime(Settings(data_dir=tmp_path), catch_up=False)
    try:
        assert state(rt.store) == live  # type: ignore[arg-type]
    finally:
        rt.close()


def last_successes(store: OxigraphStore) -> dict[str, tuple[str, set[str]]]:
    """Each job's last success: (end, {run}) as kept in the run-states graph."""
    out: dict[str, tuple[str, set[str]]] = {}
    for r in store.select(f"""SELECT ?job ?at ?run WHERE {{ GRAPH <{RUN_STATES_GRAPH.value}> {{
            ?job <https://w3id.org/dpgraph/ns#lastSuccessEndedAt> ?at ;
                 <https://w3id.org/dpgraph/ns#lastSuccessfulRun> ?run }} }}"""):
        job = r["job"].value.rsplit("/", 1)[1]
        at, runs = out.setdefault(job, (r["at"].value, set()))
        assert at == r["at"].value, "one end per job"
        runs.add(r["run"].value.rsplit("/", 1)[1])
        assert len(runs) == 1, "one run per job"
    return out


def test_each_jobs_last_successful_run_whatever_the_order(tmp_path: Path) -> None:
    a, b, c, d, e, f, g = (str(uuid.uuid4()) for _ in range(7))
    events = [
        event(a, "COMPLETE", "2025-01-01T11:00:00Z"),
        event(b, "COMPLETE", "2025-01-01T12:00:00Z"),
        event(b, "FAIL", "2025-01-01T13:00:00Z"),  # b's later failure: a is the last success
        event(c, "COMPLETE", "2025-01-01T12:30:00Z"),
        event(c, "ABORT", "2025-01-01T12:30:00Z"),  # at the same time: c did not succeed
        event(d, "START", "2025-01-01T10:00:00Z"),
        event(d, "COMPLETE", "2025-01-01T11:00:00Z"),  # ends with a: the first IRI is kept
        event(e, "FAIL", "2025-01-01T09:00:00Z", job="never.succeeds"),
        event(f, "COMPLETE", "2025-01-01T08:00:00Z", job="ran.twice"),
        event(f, "COMPLETE", "2025-01-01T08:30:00Z", job="ran.twice"),
        event(g, "FAIL", "2025-01-01T07:00:00Z", job="ran.twice"),  # earlier than g's COMPLETE
        event(g, "COMPLETE", "2025-01-01T07:30:00Z", job="ran.twice"),
    ]
    expected = {"build.orders": ("2025-01-01T11:00:00Z", {min(a, d)}),
                "ran.twice": ("2025-01-01T08:30:00Z", {f})}
    recs = records(tmp_path, events)
    orders = [recs, list(reversed(recs))]
    orders += [random.Random(seed).sample(recs, len(recs)) for seed in range(6)]
    for order in orders:
        one_by_one, at_once = OxigraphStore(None), OxigraphStore(None)
        summary = LineageSummary(one_by_one)
        for r in order:
            summary.apply([r])
        summary.apply(order)  # re-applied after a crash
        LineageSummary(at_once).apply(order)
        assert last_successes(one_by_one) == expected
        assert last_successes(at_once) == expected


def test_a_later_failure_of_the_last_successful_run_moves_the_last_success_back(
        tmp_path: Path) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    recs = records(tmp_path, [event(b, "COMPLETE", "2025-01-01T12:00:00Z"),
                              event(a, "COMPLETE", "2025-01-01T11:00:00Z"),  # older, later
                              event(b, "ABORT", "2025-01-01T12:00:00Z"),
                              event(a, "FAIL", "2025-01-01T11:30:00Z")])
    store = OxigraphStore(None)
    summary = LineageSummary(store)
    summary.apply(recs[:1])
    assert last_successes(store) == {"build.orders": ("2025-01-01T12:00:00Z", {b})}
    summary.apply(recs[1:2])
    assert last_successes(store) == {"build.orders": ("2025-01-01T12:00:00Z", {b})}
    summary.apply(recs[2:3])
    assert last_successes(store) == {"build.orders": ("2025-01-01T11:00:00Z", {a})}
    summary.apply(recs[3:])
    assert last_successes(store) == {}


def test_a_run_states_graph_from_before_last_successes_gets_them_on_start(
        tmp_path: Path) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    records(tmp_path, [event(a, "COMPLETE", "2025-01-01T11:00:00Z"),
                       event(b, "COMPLETE", "2025-01-01T12:00:00Z", "other"),
                       event(b, "FAIL", "2025-01-01T12:00:00Z", "other")])
    rt = open_runtime(Settings(data_dir=tmp_path))
    try:
        rt.sync()
        live = state(rt.store)  # type: ignore[arg-type]
        assert last_successes(rt.store) == {  # type: ignore[arg-type]
            "build.orders": ("2025-01-01T11:00:00Z", {a})}
        rt.store.update(f"""DELETE WHERE {{ GRAPH <{RUN_STATES_GRAPH.value}> {{
            ?job <https://w3id.org/dpgraph/ns#lastSuccessEndedAt> ?t ;
                 <https://w3id.org/dpgraph/ns#lastSuccessfulRun> ?run }} }}""")
    finally:
        rt.close()
    rt = open_runtime(Settings(data_dir=tmp_path))
    try:
        rt.sync()
        assert state(rt.store) == live  # type: ignore[arg-type]
        assert last_successes(rt.store) == {  # type: ignore[arg-type]
            "build.orders": ("2025-01-01T11:00:00Z", {a})}
    finally:
        rt.close()
