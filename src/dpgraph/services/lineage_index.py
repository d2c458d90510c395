"""An in-memory adjacency index of the current lineage (no ``asOf``), behind :class:`Adjacency`.

It gives exactly the answers :class:`~dpgraph.services.lineage_graph.SparqlAdjacency` computes
from the event graphs when ``as_of`` is None, without a query per traversal level:

- per job: the key ``(terminal, eventTime, jobVersion)`` of its best event (the largest, as
  :func:`~dpgraph.services.lineage_graph.current_versions` picks it), the inputs and outputs
  of that event (every event of one version has the same ones, the version being their
  digest), and per (direction, dataset as reported) the first and last eventTime over all the
  job's events;
- per dataset: the jobs that read or wrote it in any event;
- the ``aliasOf`` links of symlinks facets, grouped in components whose canonical dataset is
  chosen as :class:`~dpgraph.services.lineage_graph.Aliases` chooses it.

It is fed with the raw log records (``lineage.event``), extracting only what the mapping
(:mod:`dpgraph.lineage.mapping`) would write as ``aboutJob``, ``aboutRun``, ``eventTime``,
``eventType``, ``jobVersion``, ``hasInput``/``hasOutput`` and ``aliasOf``, with the mapping's
own normalisations. Built at start-up from the log, updated by the projector after each batch
is stored, cleared on a rebuild. One lock guards the state; readers get copies.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dpgraph.lineage import iris
from dpgraph.lineage.mapping import _pointer, event_kind_and_time, job_version, utc_datetime
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.services.lineage_graph import (
    TERMINAL,
    Edge,
    JobLineage,
    dataset_of,
    edges_to,
    parse_time,
)
from dpgraph.services.log_follower import EventFactsFollower

# --- extraction of the lineage facts of one event -------------------------------------------


@dataclass(frozen=True)
class EventFacts:
    """What one event contributes to the adjacency (the event graph's relevant triples)."""

    job: str | None  # dpg:aboutJob (None for a DatasetEvent)
    time: dt.datetime  # dpg:eventTime
    terminal: bool  # no run, or a terminal eventType
    version: str | None  # dpg:jobVersion
    edges: tuple[tuple[str, str], ...]  # (direction "in"/"out", dataset IRI)
    aliases: tuple[tuple[str, str], ...]  # (alias IRI, dataset IRI): alias dpg:aliasOf dataset


def _dataset_ref(ref: Any) -> tuple[str, str] | None:
    if not isinstance(ref, dict):
        return None
    ns, name = ref.get("namespace"), ref.get("name")
    if not (isinstance(ns, str) and isinstance(name, str) and ns and name):
        return None
    return ns, name


def _symlinks(ds: str, facets: Any, pointer: str, invalid: frozenset[str],
              out: list[tuple[str, str]]) -> None:
    """The aliasOf links the mapping's symlinks handler writes for one dataset's facets."""
    if not isinstance(facets, dict) or "symlinks" not in facets:
        return
    facet = facets["symlinks"]
    if (_pointer(pointer, "symlinks") in invalid or not isinstance(facet, dict)
            or facet.get("_deleted") is True):
        return  # kept raw, not projected
    identifiers = facet.get("identifiers")
    for ident in identifiers if isinstance(identifiers, list) else ():
        ref = _dataset_ref(ident)
        if ref is None:
            continue
        alias = iris.dataset_iri(*ref)
        if alias != ds:
            out.append((alias, ds))


def event_facts(event: dict[str, Any], invalid_facets: frozenset[str] = frozenset()
                ) -> EventFacts:
    """The lineage facts of one event; raises ValueError where the mapping does."""
    kind, event_time = event_kind_and_time(event)
    time = parse_time(utc_datetime(event_time))
    aliases: list[tuple[str, str]] = []
    if kind == "dataset":
        dataset = event["dataset"]
        ref = _dataset_ref(dataset)
        if ref is None:
            raise ValueError("dataset.namespace and dataset.name are required")
        _symlinks(iris.dataset_iri(*ref), dataset.get("facets"), "/dataset/facets",
                  invalid_facets, aliases)
        return EventFacts(None, time, False, None, (), tuple(aliases))
    job_obj = event["job"]
    ns, name = job_obj.get("namespace"), job_obj.get("name")
    if not (isinstance(ns, str) and isinstance(name, str)):
        raise ValueError("job.namespace and job.name are required")
    terminal = True
    if kind == "run":
        run_id = event["run"].get("runId")
        if not isinstance(run_id, str) or not run_id:
            raise ValueError("run.runId is required")
        event_type = event.get("eventType")
        terminal = isinstance(event_type, str) and event_type.upper() in TERMINAL
    seen: dict[str, list[tuple[str, str]]] = {"inputs": [], "outputs": []}
    edges: list[tuple[str, str]] = []
    for side in ("inputs", "outputs"):
        entries = event.get(side)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            ref = _dataset_ref(entry)
            if ref is None:
                continue
            seen[side].append(ref)
            ds = sys.intern(iris.dataset_iri(*ref))  # one string per dataset across events
            edges.append(("in" if side == "inputs" else "out", ds))
            _symlinks(ds, entry.get("facets"), f"/{side}/{i}/facets", invalid_facets, aliases)
    job_facets = job_obj.get("facets")
    location = None
    if isinstance(job_facets, dict) and isinstance(job_facets.get("sourceCodeLocation"), dict):
        url = job_facets["sourceCodeLocation"].get("url")
        location = url if isinstance(url, str) else None
    version = job_version(ns, name, seen["inputs"], seen["outputs"], location)
    return EventFacts(sys.intern(iris.job_iri(ns, name)), time, terminal, version,
                      tuple(dict.fromkeys(edges)), tuple(aliases))


def record_facts(record: LogRecord) -> EventFacts:
    p = record.payload
    return event_facts(p["event"], frozenset(p.get("invalidFacets", ())))


# --- the index ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Job:
    best: tuple[bool, dt.datetime, str]
    current: tuple[tuple[str, str], ...]
    # (direction, dataset as reported) -> (first, last) eventTime
    spans: dict[tuple[str, str], tuple[dt.datetime, dt.datetime]] = field(default_factory=dict)


# A job's current lineage as cached: (version, edges, reported) in plain tuples, which the
# garbage collector stops tracking (it never untracks a NamedTuple such as Edge): the cache
# holds hundreds of thousands of edges, and tracked ones made every full collection walk
# them, 40-75 ms pauses in the middle of /lineage reads. Readers get Edge objects.
_EdgeRow = tuple[str, str, str, dt.datetime, dt.datetime]
_Cached = tuple[str | None, tuple[_EdgeRow, ...], tuple[tuple[str, str], ...]]
_NO_LINEAGE: _Cached = (None, (), ())


def _edges(cached: _Cached) -> list[Edge]:
    return [Edge._make(row) for row in cached[1]]


class LineageIndex(EventFactsFollower[EventFacts]):
    def _reset(self) -> None:
        super()._reset()
        self._jobs: dict[str, _Job] = {}
        # per direction ("in": read, "out": written), the jobs of each dataset
        self._ds_jobs: dict[str, dict[str, set[str]]] = {"in": {}, "out": {}}
        self._links: set[tuple[str, str]] = set()
        self._neighbours: dict[str, set[str]] = {}
        self._canonical: dict[str, str] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._dirty: set[str] = set()
        self._cache: dict[str, _Cached] = {}

    # ---------------------------------------------------------------- feeding
    def add(self, records: Iterable[LogRecord]) -> None:
        """Add lineage event records (others are ignored), fed in log order; adding one
        twice changes nothing."""
        self._feed(records)

    def _facts_of(self, record: LogRecord) -> EventFacts:
        return record_facts(record)

    def _add(self, f: EventFacts) -> None:
        for a, b in f.aliases:
            if (a, b) not in self._links:
                self._links.add((a, b))
                self._neighbours.setdefault(a, set()).add(b)
                self._neighbours.setdefault(b, set()).add(a)
                self._dirty.update((a, b))
                self._cache.clear()
        if f.job is None or f.version is None:
            return
        job = f.job
        key = (f.terminal, f.time, f.version)
        state = self._jobs.get(job)
        if state is None:
            state = self._jobs[job] = _Job(key, f.edges)
        elif key > state.best:
            state.best, state.current = key, f.edges
        spans, t = state.spans, f.time
        for edge in f.edges:
            span = spans.get(edge)
            if span is None:
                spans[edge] = (t, t)
                self._ds_jobs[edge[0]].setdefault(edge[1], set()).add(job)
            elif t < span[0] or t > span[1]:
                spans[edge] = (min(span[0], t), max(span[1], t))
        # Kept ready, so that the first read after a start or a change finds it; with alias
        # links to settle first, it is made when read.
        if self._dirty:
            self._cache.pop(job, None)
        else:
            self._cache[job] = self._current(job, state)

    # ---------------------------------------------------------------- aliases (lock held)
    def _settle(self) -> None:
        while self._dirty:
            start = self._dirty.pop()
            group = {start}
            frontier = [start]
            while frontier:
                d = frontier.pop()
                for n in self._neighbours.get(d, ()):
                    if n not in group:
                        group.add(n)
                        frontier.append(n)
            self._dirty -= group
            sinks = [d for d in group if not any((d, n) in self._links
                                                 for n in self._neighbours.get(d, ()))]
            chosen = min(sinks or group, key=dataset_of)
            for d in group:
                old = self._canonical.get(d)
                if old is not None:
                    self._members.pop(old, None)
                self._canonical[d] = chosen
            self._members[chosen] = frozenset(group)

    def _canon(self, dataset: str) -> str:
        return self._canonical.get(dataset, dataset)

    def _members_of(self, canonical: str) -> frozenset[str]:
        return self._members.get(canonical, frozenset({canonical}))

    def canonical(self, dataset: str) -> str:
        with self._lock:
            self._settle()
            return self._canon(dataset)

    def members(self, canonical: str) -> frozenset[str]:
        with self._lock:
            self._settle()
            return self._members_of(canonical)

    # ---------------------------------------------------------------- jobs (lock held)
    def _lineage(self, job: str) -> _Cached:
        cached = self._cache.get(job)
        if cached is not None:
            return cached
        state = self._jobs.get(job)
        if state is None:
            return _NO_LINEAGE
        out = self._cache[job] = self._current(job, state)
        return out

    def _current(self, job: str, state: _Job) -> _Cached:
        """The job's current version and edges (datasets canonical, first and last seen
        merged over aliases) and its datasets as reported."""
        reported = tuple(sorted(set(state.current)))
        canonical = self._canonical
        spans: dict[tuple[str, str], tuple[dt.datetime, dt.datetime]] = state.spans
        if any(ds in canonical for _, ds in spans):  # aliases: merge their spans
            spans = {}
            for (direction, ds), (first, last) in state.spans.items():
                key = (direction, canonical.get(ds, ds))
                span = spans.get(key)
                spans[key] = (first, last) if span is None else (
                    min(span[0], first), max(span[1], last))
            current = sorted({(d, canonical.get(ds, ds)) for d, ds in reported})
        else:
            current = list(reported)
        return (state.best[2], tuple((job, d, ds, *spans[(d, ds)]) for d, ds in current),
                reported)

    @staticmethod
    def _copy(lin: _Cached) -> JobLineage:
        return JobLineage(lin[0], _edges(lin), list(lin[2]))

    def lineage_of(self, jobs: Iterable[str]) -> dict[str, JobLineage]:
        with self._lock:
            self._settle()
            return {j: self._copy(self._lineage(j)) for j in jobs}

    def jobs_of(self, datasets: Iterable[str], direction: str) -> set[str]:
        """The jobs reading (``direction == "in"``) or writing (``"out"``) any alias of the
        given canonical datasets."""
        jobs: set[str] = set()
        with self._lock:
            self._settle()
            by_dataset = self._ds_jobs[direction]
            for d in datasets:
                for m in self._members_of(d):
                    jobs.update(by_dataset.get(m, ()))
        return jobs


class IndexAliases:
    """The index's alias components, with the part of :class:`Aliases` that reads use."""

    def __init__(self, index: LineageIndex) -> None:
        self._index = index

    def canonical(self, dataset: str) -> str:
        return self._index.canonical(dataset)

    def members(self, canonical: str) -> frozenset[str]:
        return self._index.members(canonical)

    def resolve(self, datasets: Iterable[str]) -> None:
        return None


class IndexAdjacency:
    """:class:`Adjacency` over a :class:`LineageIndex`: the current view (no ``asOf``).

    Made for one read: a traversal asks for the same jobs level after level, so each job's
    lineage is taken from the index once and kept here."""

    def __init__(self, index: LineageIndex) -> None:
        self._index = index
        self.aliases = IndexAliases(index)
        self._known: dict[str, JobLineage] = {}

    def lineage_of(self, jobs: Iterable[str]) -> dict[str, JobLineage]:
        jobs = list(jobs)
        missing = [j for j in jobs if j not in self._known]
        if missing:
            self._known.update(self._index.lineage_of(missing))
        return {j: self._known[j] for j in jobs}

    def job_edges(self, jobs: Iterable[str]) -> dict[str, list[Edge]]:
        return {j: lin.edges for j, lin in self.lineage_of(jobs).items()}

    def dataset_edges(self, datasets: Iterable[str], direction: str) -> dict[str, list[Edge]]:
        datasets = set(datasets)
        jobs = self._index.jobs_of(datasets, direction)
        return edges_to(datasets, direction, self.job_edges(jobs).values())
