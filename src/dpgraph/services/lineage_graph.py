"""Lineage graph reads over the per-event named graphs: node ids, aliases, traversal.

Everything here is computed at query time from the event graphs the projection writes
(:mod:`dpgraph.lineage.mapping`), so answers do not depend on the order events arrived in:

- a job's *current version* is the ``dpg:jobVersion`` of its latest terminal event
  (COMPLETE, FAIL, ABORT, or a JobEvent, which states a job's lineage without a run) by
  eventTime, else of its latest event; its *current edges* are the inputs and outputs of the
  events of that version. Each edge carries the first and last eventTime of all the job's
  events that had it (any version). ``as_of`` restricts all of this to events with
  ``eventTime <= as_of``;
- dataset aliases (``dpg:aliasOf`` from the symlinks facet) form components; each component
  answers as one canonical dataset: the dataset the aliases point at (the smallest id if
  several, or if the aliases point at each other);
- :func:`traverse` walks up- and downstream breadth-first, one hop per level, asking an
  :class:`Adjacency` for the neighbours of the whole frontier at once (one SPARQL query per
  level in :class:`SparqlAdjacency`); an adjacency index can replace it behind the same
  protocol. ``depth`` counts edges from the start node.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any, NamedTuple, Protocol
from urllib.parse import unquote

from pyoxigraph import Literal, QuerySolutions

from dpgraph import vocab as v
from dpgraph.errors import InvalidInput
from dpgraph.lineage import iris
from dpgraph.lineage.mapping import utc_datetime

PREFIXES = v.sparql_prefixes()
TERMINAL = {"COMPLETE", "FAIL", "ABORT"}
STATE_OF_IRI = {node.value: name for name, node in v.RUN_STATES.items()}
_TERMINAL = ", ".join(f"<{v.RUN_STATES[s].value}>" for s in sorted(TERMINAL))
_JOB = f"{iris.OL}job/"
_DATASET = f"{iris.OL}dataset/"
_RUN = f"{iris.OL}run/"
# Frontiers larger than this are queried in slices, so that one query stays small.
CHUNK = 500

Select = Callable[[str], QuerySolutions]


# --- terms, ids, times ---------------------------------------------------------------------


def ref(iri: str) -> str:
    return f"<{iri}>"


def values(var: str, iris_: Iterable[str]) -> str:
    return f"VALUES ?{var} {{ {' '.join(ref(i) for i in iris_)} }}"


def chunks(items: Iterable[str], size: int = CHUNK) -> Iterable[list[str]]:
    batch = sorted(set(items))
    for i in range(0, len(batch), size):
        yield batch[i:i + size]


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


@lru_cache(maxsize=1 << 17)  # the same first/last-seen times render in answer after answer
def iso(value: dt.datetime | None) -> str | None:
    """UTC ISO 8601 with ``Z``: seconds, or microseconds when there is a fraction."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def as_of_literal(as_of: str | None) -> str | None:
    """An ``asOf`` query parameter as a SPARQL ``xsd:dateTime`` term (a time without offset
    is UTC, as for eventTime)."""
    if as_of is None:
        return None
    try:
        text = utc_datetime(as_of)
    except ValueError as exc:
        raise InvalidInput(f"asOf {as_of!r} is not an ISO 8601 date-time") from exc
    return str(Literal(text, datatype=v.XSD_DATETIME))


def time_filter(var: str, as_of: str | None) -> str:
    return f"FILTER(?{var} <= {as_of})" if as_of else ""


@lru_cache(maxsize=1 << 17)  # answers decode the same IRIs again and again
def job_of(iri: str) -> tuple[str, str]:
    ns, name = iri[len(_JOB):].split("/", 1)
    return unquote(ns), unquote(name)


@lru_cache(maxsize=1 << 17)  # answers decode the same IRIs again and again
def dataset_of(iri: str) -> tuple[str, str]:
    ns, name = iri[len(_DATASET):].split("/", 1)
    return unquote(ns), unquote(name)


@lru_cache(maxsize=1 << 17)  # answers decode the same IRIs again and again
def field_of(iri: str) -> tuple[str, str, str]:
    """(namespace, dataset name, field path) of a field IRI."""
    ns, name, _, path = iri[len(_DATASET):].split("/", 3)
    return unquote(ns), unquote(name), unquote(path)


def run_id_of(iri: str) -> str:
    return unquote(iri[len(_RUN):])


def job_node_id(iri: str) -> str:
    return "job:{}:{}".format(*job_of(iri))


def dataset_node_id(iri: str) -> str:
    return "dataset:{}:{}".format(*dataset_of(iri))


def field_node_id(iri: str) -> str:
    return "datasetField:{}:{}:{}".format(*field_of(iri))


def ids(ns: str, name: str) -> dict[str, str]:
    return {"namespace": ns, "name": name}


# --- node ids (Marquez's forms) --------------------------------------------------------------


@dataclass(frozen=True)
class NodeRef:
    """A parsed node id: its kind and every (namespace, name[, field]) reading of it.

    Namespaces hold colons (``postgres://host:5432``), so ``dataset:A:B:C`` has several
    readings; the one naming a node that exists wins (Marquez's split first, then the others)."""

    kind: str  # "dataset" | "job" | "datasetField"
    readings: tuple[tuple[str, ...], ...]


def parse_node_id(node_id: str) -> NodeRef:
    kind, sep, rest = node_id.partition(":")
    parts = {"dataset": 2, "job": 2, "datasetField": 3}.get(kind)
    if not sep or parts is None:
        raise InvalidInput(f"nodeId {node_id!r} must be dataset:NAMESPACE:NAME, "
                           "job:NAMESPACE:NAME or datasetField:NAMESPACE:NAME:FIELD")
    colons = [i for i, c in enumerate(rest) if c == ":"]
    readings: list[tuple[str, ...]] = []
    preferred = [i for i in colons if not rest.startswith("//", i + 1)
                 and not rest[i + 1:i + 2].isdigit()]
    if parts == 2:
        cuts = [(i,) for i in preferred[:1] + colons]
    else:
        cuts = [(i, j) for i in preferred[:1] + colons for j in reversed(colons) if j > i]
    for cut in cuts:
        bounds = [-1, *cut, len(rest)]
        reading = tuple(rest[a + 1:b] for a, b in pairwise(bounds))
        if all(reading) and reading not in readings:
            readings.append(reading)
    if not readings:
        raise InvalidInput(f"nodeId {node_id!r} has an empty namespace, name or field")
    return NodeRef(kind, tuple(readings))


def node_iri(kind: str, reading: tuple[str, ...]) -> str:
    if kind == "job":
        return iris.job_iri(*reading)
    if kind == "dataset":
        return iris.dataset_iri(*reading)
    return iris.field_iri(iris.dataset_iri(reading[0], reading[1]), reading[2])


# --- aliases ------------------------------------------------------------------------------


class Aliases:
    """Alias components of datasets, discovered lazily and cached for one request."""

    def __init__(self, select: Select) -> None:
        self._select = select
        self._canonical: dict[str, str] = {}
        self._members: dict[str, frozenset[str]] = {}

    def canonical(self, dataset: str) -> str:
        if dataset not in self._canonical:
            self.resolve([dataset])
        return self._canonical[dataset]

    def members(self, canonical: str) -> frozenset[str]:
        return self._members.get(canonical, frozenset({canonical}))

    def resolve(self, datasets: Iterable[str]) -> None:
        todo = {d for d in datasets if d not in self._canonical}
        if not todo:
            return
        seen, links = set(todo), set()
        frontier = set(todo)
        while frontier:
            found: set[str] = set()
            for batch in chunks(frontier):
                for row in self._select(f"""{PREFIXES}
                    SELECT DISTINCT ?a ?b WHERE {{ {values("d", batch)}
                        {{ ?d dpg:aliasOf ?b BIND(?d AS ?a) }}
                        UNION {{ ?a dpg:aliasOf ?d BIND(?d AS ?b) }} }}"""):
                    a, b = row["a"].value, row["b"].value
                    links.add((a, b))
                    found.update((a, b))
            frontier = found - seen
            seen |= found
        parent = {d: d for d in seen}

        def root(d: str) -> str:
            while parent[d] != d:
                parent[d] = parent[parent[d]]
                d = parent[d]
            return d

        for a, b in links:
            parent[root(a)] = root(b)
        groups: dict[str, set[str]] = {}
        for d in seen:
            groups.setdefault(root(d), set()).add(d)
        sources = {a for a, _ in links}
        for group in groups.values():
            sinks = [d for d in group if d not in sources]
            chosen = min(sinks or group, key=dataset_of)
            members = frozenset(group)
            for d in group:
                self._canonical[d] = chosen
            self._members[chosen] = members


# --- job versions and edges ------------------------------------------------------------------


class Edge(NamedTuple):
    """A current input (``direction == "in"``) or output of a job, to a canonical dataset.

    A tuple, so that the lineage index can cache its fields as a plain tuple (see there)."""

    job: str
    direction: str
    dataset: str
    first_seen: dt.datetime
    last_seen: dt.datetime


@dataclass
class JobLineage:
    version: str | None
    edges: list[Edge] = field(default_factory=list)
    # the datasets as the events name them (before alias resolution): (direction, iri)
    reported: list[tuple[str, str]] = field(default_factory=list)


def current_versions(select: Select, jobs: Iterable[str], as_of: str | None
                     ) -> dict[str, tuple[str, str] | None]:
    """The current version of each job and the event graph stating it: the latest terminal
    event (ties: the larger version digest, so the answer is stable), else the latest event."""
    best: dict[str, tuple[tuple[bool, dt.datetime, str], str]] = {}
    for batch in chunks(jobs):
        for row in select(f"""{PREFIXES}
            SELECT ?job ?ver ?terminal (MAX(?t) AS ?last) (SAMPLE(?g) AS ?graph) WHERE {{
                {values("job", batch)}
                GRAPH ?g {{ ?e dpg:aboutJob ?job ; dpg:eventTime ?t ; dpg:jobVersion ?ver .
                           OPTIONAL {{ ?e dpg:eventType ?type FILTER(?type IN ({_TERMINAL})) }}
                           OPTIONAL {{ ?e dpg:aboutRun ?run }} }}
                {time_filter("t", as_of)}
                BIND(!BOUND(?run) || BOUND(?type) AS ?terminal)
            }} GROUP BY ?job ?ver ?terminal"""):
            key = (row["terminal"].value == "true", parse_time(row["last"].value),
                   row["ver"].value)
            job = row["job"].value
            if job not in best or key > best[job][0]:
                best[job] = (key, row["graph"].value)
    return {job: (best[job][0][2], best[job][1]) if job in best else None for job in jobs}


def job_lineage(select: Select, aliases: Aliases, jobs: Iterable[str], as_of: str | None
                ) -> dict[str, JobLineage]:
    """Current version and current edges of each job (three scoped queries per slice):
    the edges of the event stating the current version (every event of one version has the
    same inputs and outputs, the version being their digest), with first and last times over
    all the job's events."""
    jobs = set(jobs)
    versions = current_versions(select, jobs, as_of)
    spans: dict[tuple[str, str, str], list[dt.datetime]] = {}
    for batch in chunks(jobs):
        for row in select(f"""{PREFIXES}
            SELECT ?job ?dir ?ds (MIN(?t) AS ?first) (MAX(?t) AS ?last) WHERE {{
                {values("job", batch)}
                GRAPH ?g {{ {{ ?job dpg:hasInput ?ds BIND("in" AS ?dir) }}
                           UNION {{ ?job dpg:hasOutput ?ds BIND("out" AS ?dir) }}
                           ?e dpg:eventTime ?t . }}
                {time_filter("t", as_of)}
            }} GROUP BY ?job ?dir ?ds"""):
            spans[(row["job"].value, row["dir"].value, row["ds"].value)] = [
                parse_time(row["first"].value), parse_time(row["last"].value)]
    pairs = sorted((job, cur[1]) for job, cur in versions.items() if cur is not None)
    current: list[tuple[str, str, str]] = []
    for i in range(0, len(pairs), CHUNK):
        rows = " ".join(f"({ref(j)} {ref(g)})" for j, g in pairs[i:i + CHUNK])
        for row in select(f"""{PREFIXES}
            SELECT ?job ?dir ?ds WHERE {{ VALUES (?job ?g) {{ {rows} }}
                GRAPH ?g {{ {{ ?job dpg:hasInput ?ds BIND("in" AS ?dir) }}
                           UNION {{ ?job dpg:hasOutput ?ds BIND("out" AS ?dir) }} }} }}"""):
            current.append((row["job"].value, row["dir"].value, row["ds"].value))
    aliases.resolve(key[2] for key in spans)
    merged: dict[tuple[str, str, str], list[dt.datetime]] = {}
    for (job, direction, ds), (first, last) in spans.items():
        span = merged.setdefault((job, direction, aliases.canonical(ds)), [first, last])
        span[0], span[1] = min(span[0], first), max(span[1], last)
    out = {job: JobLineage(versions[job][0] if versions[job] else None) for job in jobs}
    edges: set[tuple[str, str, str]] = set()
    for job, direction, ds in sorted(current):
        out[job].reported.append((direction, ds))
        edges.add((job, direction, aliases.canonical(ds)))
    for key in sorted(edges):
        out[key[0]].edges.append(Edge(*key, *merged[key]))
    return out


# --- traversal ----------------------------------------------------------------------------


class Adjacency(Protocol):
    """What :func:`traverse` needs from the graph; swap in an index behind it."""

    def job_edges(self, jobs: Iterable[str]) -> dict[str, list[Edge]]:
        """The current edges of each job, datasets canonical."""
        ...

    def dataset_edges(self, datasets: Iterable[str], direction: str) -> dict[str, list[Edge]]:
        """The current edges of the jobs reading (``direction == "in"``) or writing
        (``"out"``) each canonical dataset, to that dataset."""
        ...

    def lineage_of(self, jobs: Iterable[str]) -> dict[str, JobLineage]:
        """Current version and edges of each job (node data of the answer)."""
        ...


class SparqlAdjacency:
    """Adjacency read from the event graphs with a few scoped queries per frontier."""

    def __init__(self, select: Select, aliases: Aliases, as_of: str | None) -> None:
        self._select = select
        self.aliases = aliases
        self._as_of = as_of
        self.jobs: dict[str, JobLineage] = {}

    def lineage_of(self, jobs: Iterable[str]) -> dict[str, JobLineage]:
        missing = {j for j in jobs if j not in self.jobs}
        if missing:
            self.jobs.update(job_lineage(self._select, self.aliases, missing, self._as_of))
        return {j: self.jobs[j] for j in jobs}

    def job_edges(self, jobs: Iterable[str]) -> dict[str, list[Edge]]:
        return {j: lin.edges for j, lin in self.lineage_of(jobs).items()}

    def dataset_edges(self, datasets: Iterable[str], direction: str) -> dict[str, list[Edge]]:
        datasets = set(datasets)
        members = {m: d for d in datasets for m in self.aliases.members(d)}
        link = "dpg:hasInput" if direction == "in" else "dpg:hasOutput"
        candidates: set[str] = set()
        for batch in chunks(members):
            when = (f"?e dpg:eventTime ?t }} {time_filter('t', self._as_of)}"
                    if self._as_of else "}")
            for row in self._select(f"""{PREFIXES}
                SELECT DISTINCT ?job WHERE {{ {values("ds", batch)}
                    GRAPH ?g {{ ?job {link} ?ds {when} }}"""):
                candidates.add(row["job"].value)
        return edges_to(datasets, direction, self.job_edges(candidates).values())


def edges_to(datasets: set[str], direction: str, edges_of_jobs: Iterable[list[Edge]]
             ) -> dict[str, list[Edge]]:
    """Of the given jobs' edges, those in ``direction`` to each of ``datasets``."""
    out: dict[str, list[Edge]] = {d: [] for d in datasets}
    for edges in edges_of_jobs:
        for e in edges:
            if e.direction == direction and e.dataset in out:
                out[e.dataset].append(e)
    return out


@dataclass
class Subgraph:
    nodes: dict[str, str]  # iri -> "JOB" | "DATASET"
    edges: list[Edge]


def traverse(start: str, kind: str, depth: int, adj: Adjacency) -> Subgraph:
    """Nodes within ``depth`` edges up- and downstream of ``start``, and the edges among
    them. Upstream follows edges backwards (dataset ← writing job ← its inputs …),
    downstream forwards; one adjacency call per level and direction group."""
    nodes = {start: kind}
    seen = {"up": {start}, "down": {start}}
    frontier = {"up": {start}, "down": {start}}
    for _ in range(depth):
        jobs = {n for d in frontier for n in frontier[d] if nodes[n] == "JOB"}
        by_job = adj.job_edges(jobs) if jobs else {}
        # upstream of a dataset: the jobs writing it; downstream: the jobs reading it
        by_dataset = {d: adj.dataset_edges(datasets, "out" if d == "up" else "in")
                      for d in frontier
                      if (datasets := {n for n in frontier[d] if nodes[n] == "DATASET"})}
        nxt: dict[str, set[str]] = {"up": set(), "down": set()}
        for direction, members in frontier.items():
            for n in members:
                for e in (by_job.get(n, []) if nodes[n] == "JOB"
                          else by_dataset[direction].get(n, [])):
                    # upstream of a job: its inputs; of a dataset: the jobs writing it
                    if nodes[n] == "JOB" and (e.direction == "in") == (direction == "up"):
                        other, other_kind = e.dataset, "DATASET"
                    elif nodes[n] == "DATASET" and (e.direction == "out") == (direction == "up"):
                        other, other_kind = e.job, "JOB"
                    else:
                        continue
                    if other not in seen[direction]:
                        seen[direction].add(other)
                        nodes.setdefault(other, other_kind)
                        nxt[direction].add(other)
        frontier = nxt
        if not any(frontier.values()):
            break
    # Edges among the nodes found (every edge has a job end): the jobs at the border bring
    # edges to nodes beyond it.
    jobs = [n for n, k in nodes.items() if k == "JOB"]
    edges = {(e.job, e.direction, e.dataset): e for edges_of_job in adj.job_edges(jobs).values()
             for e in edges_of_job if e.dataset in nodes}
    return Subgraph(nodes, [edges[key] for key in sorted(edges)])


def edge_dict(origin: str, destination: str, e: Edge | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"origin": origin, "destination": destination}
    if e is not None:
        out["firstSeen"], out["lastSeen"] = iso(e.first_seen), iso(e.last_seen)
    return out
