"""Each job's last successful run, kept in the run-states graph beside the run states.

For every job with a run whose state is COMPLETE, the run-states graph holds
``?job dpg:lastSuccessEndedAt ?t`` (the latest end of such a run) and
``?job dpg:lastSuccessfulRun ?run``, that run (when several ended at ``?t``, the one whose IRI
sorts first: a producer replaying events can end thousands of runs at one time). The
facts are a function of the run-states graph alone, so they do not depend on the order events
arrive in, and ``stale_products`` reads one triple per job instead of looking up the end of
every successful run of every declared job.

They are kept per batch, after the batch's superseded terminal events are dropped, from the
runs the batch ended:

1. a job whose recorded last successful run is now FAIL or ABORT (a later failure of that run,
   or one at the same time) loses its facts, which are computed again from all its runs: rare,
   and the only case where the last success moves back;
2. every job of the batch's successful runs moves forward to the latest of them (or, at the
   same time, to a run whose IRI sorts first).

A run-states graph is the truth these are derived from: the facts are dropped with it on a
rebuild, and written for a graph from before them by :func:`backfill_update`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode

from dpgraph import vocab as v
from dpgraph.services.lineage_graph import values
from dpgraph.store.base import GraphStore


def _values(var: str, nodes: Iterable[NamedNode]) -> str:
    return values(var, (n.value for n in nodes))


@dataclass(frozen=True, slots=True)
class TerminalEvent:
    """A terminal event of a run, as the run-states graph holds it; ``at`` is ``time``
    parsed."""
    event: NamedNode
    run: NamedNode
    job: NamedNode
    state: NamedNode
    time: Literal
    at: dt.datetime


_FAILURES = frozenset({v.RUN_STATES["FAIL"], v.RUN_STATES["ABORT"]})
_FAILURE = (f"FILTER (?failure IN (<{v.RUN_STATES['FAIL'].value}>, "
            f"<{v.RUN_STATES['ABORT'].value}>))")


def _successful(graph: NamedNode, jobs: Sequence[NamedNode] | None) -> str:
    """The (job, run, ended) of the graph's successful runs, of ``jobs`` or of all. A run is
    successful when none of its kept terminal events is a FAIL or ABORT (they win over a
    COMPLETE at the same time; earlier ones were dropped as superseded). MINUS, evaluated
    once and joined on ?run: oxigraph evaluated FILTER NOT EXISTS here as a scan per row
    (minutes on 250,000 events)."""
    g = graph.value
    if jobs is not None:
        bound = _values("job", jobs)
        failed = (f"{bound} GRAPH <{g}> {{ ?any <{v.ABOUT_JOB.value}> ?job ; "
                  f"<{v.ABOUT_RUN.value}> ?run . ?failed <{v.ABOUT_RUN.value}> ?run ; "
                  f"<{v.EVENT_TYPE.value}> ?failure }} {_FAILURE}")
    else:  # every run: start from the few failures
        bound = ""
        failed = (f"GRAPH <{g}> {{ ?failed <{v.EVENT_TYPE.value}> ?failure ; "
                  f"<{v.ABOUT_RUN.value}> ?run }} VALUES ?failure {{ "
                  f"<{v.RUN_STATES['FAIL'].value}> <{v.RUN_STATES['ABORT'].value}> }}")
    return f"""SELECT ?job ?run ?ended WHERE {{ {bound}
            GRAPH <{g}> {{ ?e <{v.ABOUT_JOB.value}> ?job ; <{v.ABOUT_RUN.value}> ?run ;
                              <{v.EVENT_TIME.value}> ?ended }}
            MINUS {{ {failed} }} }}"""


def keep_last_success(store: GraphStore, graph: NamedNode, kept: Sequence[TerminalEvent],
                      jobs: Iterable[NamedNode]) -> None:
    """Bring the facts of the jobs of a batch up to date. ``kept``: the terminal events
    ``graph`` (the run-states graph) now keeps for the runs the batch ended, superseded ones
    dropped; ``jobs``: the jobs of all those runs' events, superseded ones included.

    One read: the recorded facts of those jobs, and of any job whose recorded run failed in
    the batch. The choice is made here: one DELETE/INSERT … WHERE doing both cost ~5 ms per
    batch of ~150 runs in oxigraph, ten times these reads and data writes."""
    if not kept:
        return
    failed = {e.run for e in kept if e.state in _FAILURES}
    recorded = _recorded(store, graph, jobs, failed)
    dirty = {job for job, success in recorded.items() if success.run in failed}
    if dirty:  # their last success moves back: computed again from all their runs
        store.update(recompute_update(graph, dirty))
    latest: dict[NamedNode, _Success] = {}
    for e in kept:
        if e.run in failed or e.job in dirty:  # a dirty job's facts are whole already
            continue
        success = _Success(e.time, e.run, e.at)
        if e.job not in latest or success.key < latest[e.job].key:
            latest[e.job] = success
    removed: list[str] = []
    added: list[str] = []
    for job, success in latest.items():
        old = recorded.get(job)
        if old is not None and old.key <= success.key:
            continue
        if old is not None:
            removed += old.triples(job)
        added += success.triples(job)
    parts = [f"{op} DATA {{ GRAPH <{graph.value}> {{ {' '.join(triples)} }} }}"
             for op, triples in (("DELETE", removed), ("INSERT", added)) if triples]
    if parts:
        store.update(" ;\n".join(parts))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


class _Success:
    """A job's candidate last success; ``key`` orders them, the better first."""

    __slots__ = ("ended", "key", "run")

    def __init__(self, ended: Literal, run: NamedNode, at: dt.datetime | None = None) -> None:
        """``at``: ``ended`` parsed, when the caller holds it already."""
        self.ended = ended
        self.run = run
        at = dt.datetime.fromisoformat(ended.value) if at is None else at
        # The later end first, then the run whose IRI sorts first (as STR() in SPARQL).
        micros = (at - _EPOCH) // _MICROSECOND
        self.key = (-micros, run.value)

    def triples(self, job: NamedNode) -> list[str]:
        return [f"<{job.value}> <{v.LAST_SUCCESS_ENDED_AT.value}> {self.ended} .",
                f"<{job.value}> <{v.LAST_SUCCESSFUL_RUN.value}> <{self.run.value}> ."]


def _recorded(store: GraphStore, graph: NamedNode, jobs: Iterable[NamedNode],
              runs: Iterable[NamedNode]) -> dict[NamedNode, _Success]:
    """The stored last success of each of ``jobs``, and of each job whose recorded last
    successful run is one of ``runs``, that has one."""
    g = graph.value
    facts = (f"<{v.LAST_SUCCESS_ENDED_AT.value}> ?ended ; "
             f"<{v.LAST_SUCCESSFUL_RUN.value}> ?run")
    by_job = f"{{ {_values('job', jobs)} GRAPH <{g}> {{ ?job {facts} }} }}"
    runs = list(runs)
    by_run = (f"UNION {{ {_values('byRun', runs)} GRAPH <{g}> {{ "
              f"?job <{v.LAST_SUCCESSFUL_RUN.value}> ?byRun ; {facts} }} }}" if runs else "")
    return {row["job"]: _Success(row["ended"], row["run"])  # type: ignore[arg-type,misc]
            for row in store.select(f"SELECT ?job ?ended ?run WHERE {{ {by_job} {by_run} }}")}


def recompute_update(graph: NamedNode, jobs: Iterable[NamedNode] | None) -> str:
    """Drop and compute again, from all their runs, the facts of ``jobs`` (every job when
    None)."""
    listed = None if jobs is None else list(jobs)
    bound = "" if listed is None else _values("job", listed)
    g = graph.value
    return f"""
        DELETE {{ GRAPH <{g}> {{ ?job <{v.LAST_SUCCESS_ENDED_AT.value}> ?old ;
                                     <{v.LAST_SUCCESSFUL_RUN.value}> ?oldRun }} }}
        WHERE {{ {bound}
                 GRAPH <{g}> {{ ?job <{v.LAST_SUCCESS_ENDED_AT.value}> ?old ;
                                    <{v.LAST_SUCCESSFUL_RUN.value}> ?oldRun }} }} ;
        INSERT {{ GRAPH <{g}> {{ ?job <{v.LAST_SUCCESS_ENDED_AT.value}> ?last ;
                                     <{v.LAST_SUCCESSFUL_RUN.value}> ?run }} }}
        WHERE {{
            {{ SELECT ?job ?last (MIN(STR(?endedRun)) AS ?runIri) WHERE {{
                {{ SELECT ?job (MAX(?ended) AS ?last) WHERE {{ {_successful(graph, listed)} }}
                  GROUP BY ?job }}
                {{ SELECT ?job (?run AS ?endedRun) (?ended AS ?last) WHERE {{
                    {_successful(graph, listed)} }} }}
            }} GROUP BY ?job ?last }}
            BIND (IRI(?runIri) AS ?run)
        }}"""


def backfill_update(graph: NamedNode) -> str:
    """The facts of every job, for a run-states graph from before them."""
    return recompute_update(graph, None)
