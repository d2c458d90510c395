"""Marquez-shaped reads over the projected lineage: lineage and column-lineage graphs,
namespaces, jobs, datasets and their versions, runs.

The projection keeps one named graph per event and no derived state; everything that depends
on several events is aggregated here at query time, scoped to the nodes asked about (VALUES
blocks, per-graph patterns):

- runs, facets and schema fields: :mod:`dpgraph.services.lineage_entities`;
- column lineage: :mod:`dpgraph.services.lineage_columns`;
- a job's inputs and outputs are those of its current version (see
  :mod:`dpgraph.services.lineage_graph`);
- the runtime serves current lineage, column lineage and job resources from in-memory
  projections of the log (:mod:`~dpgraph.services.lineage_index`,
  :mod:`~dpgraph.services.column_lineage_index`, :mod:`~dpgraph.services.job_catalog` with
  the runs per job), tested to answer as the SPARQL paths here, which a reader built without
  them uses;
- a dataset answers as its alias component (symlinks), named by the canonical dataset.

Every read first waits until the projection has reached the log head, so it sees every
acknowledged event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from operator import itemgetter
from typing import Any, Protocol

from pyoxigraph import Literal, NamedNode, QuerySolutions

from dpgraph import vocab as v
from dpgraph.errors import InvalidInput, NotFound
from dpgraph.lineage import iris
from dpgraph.services.column_lineage_index import ColumnLineageIndex
from dpgraph.services.job_catalog import JobCatalog, raw_facets
from dpgraph.services.lineage_columns import ColumnAliases, ColumnGraph, ColumnSource, SparqlColumns
from dpgraph.services.lineage_entities import (
    DATASET_FACET_TERMS,
    JOB_FACET_TERMS,
    VERSION_FACET_TERMS,
    EntityReads,
    Props,
    py,
)
from dpgraph.services.lineage_graph import (
    PREFIXES,
    Adjacency,
    Aliases,
    JobLineage,
    NodeRef,
    SparqlAdjacency,
    as_of_literal,
    chunks,
    dataset_node_id,
    dataset_of,
    edge_dict,
    ids,
    iso,
    job_lineage,
    job_node_id,
    job_of,
    node_iri,
    parse_node_id,
    parse_time,
    ref,
    traverse,
    values,
)
from dpgraph.services.lineage_index import IndexAdjacency, IndexAliases, LineageIndex
from dpgraph.services.lineage_summary import SUMMARY_GRAPH
from dpgraph.services.projection_worker import ProjectionWorker
from dpgraph.store.base import GraphStore

_NODE_CLASS = {"job": v.JOB, "dataset": v.LINEAGE_DATASET, "datasetField": v.FIELD}


def _page(items: list[Any], limit: int, offset: int) -> list[Any]:
    return items[offset:offset + limit]


_edge_key = itemgetter("origin", "destination")


class JobRuns(Protocol):
    """The runs of each job, kept in memory (see ProductLineageIndex)."""

    def runs_of(self, job: str) -> list[str]: ...

    def latest_runs(self, jobs: Iterable[str]) -> dict[str, str]: ...


# A job resource's inputs: current lineage, facet terms, raw facets, first and last event
# times, latest run.
JobResourceInputs = tuple[dict[str, JobLineage], dict[str, Props],
                          dict[str, dict[str, tuple[dt.datetime, Any]]],
                          dict[str, tuple[str | None, str | None]], dict[str, str]]


class LineageReader:
    def __init__(self, store: GraphStore, projection: ProjectionWorker,
                 index: LineageIndex | None = None,
                 columns: ColumnLineageIndex | None = None,
                 catalog: JobCatalog | None = None, runs: JobRuns | None = None) -> None:
        self._store = store
        self._projection = projection
        # The current adjacency in memory (same answers as SparqlAdjacency without asOf).
        self._index = index
        # The field derivations in memory (same answers as SparqlColumns); needs the index's
        # alias components.
        self._columns = columns if index is not None else None
        # Job resources in memory (same answers as the SPARQL aggregation over every event
        # of the job); needs the index for the current version and edges.
        self._catalog = catalog if index is not None and runs is not None else None
        self._runs = runs
        self._e = EntityReads(self._select)

    # ------------------------------------------------------------------ plumbing
    def _sync(self) -> None:
        self._projection.wait_for_log()

    def _in_namespace(self, ns_iri: str, kind: str) -> list[str]:
        """Jobs (``kind`` "job/") or datasets ("dataset/") of a namespace, from the lineage
        summary (each ``inNamespace`` once, where every event restates it); the kind is in
        the IRI."""
        prefix = Literal(f"{iris.OL}{kind}")
        return [row["x"].value for row in self._select(
            f"{PREFIXES} SELECT ?x WHERE {{ GRAPH <{SUMMARY_GRAPH.value}> {{ "
            f"?x dpg:inNamespace {ref(ns_iri)} }} FILTER (STRSTARTS(STR(?x), {prefix})) }}")]

    def _select(self, sparql: str) -> QuerySolutions:
        return self._store.select(sparql)

    def _existing(self, cls: NamedNode, candidates: Iterable[str]) -> set[str]:
        candidates = list(dict.fromkeys(candidates))
        if not candidates:
            return set()
        return {row["x"].value for row in self._select(
            f"SELECT DISTINCT ?x WHERE {{ {values('x', candidates)} ?x a {ref(cls.value)} }}")}

    def _resolve(self, node: NodeRef) -> str:
        candidates = [node_iri(node.kind, r) for r in node.readings]
        found = self._existing(_NODE_CLASS[node.kind], candidates)
        for c in candidates:
            if c in found:
                return c
        raise NotFound(f"no {node.kind} {':'.join(node.readings[0])!r} in the lineage graph")

    def _dataset(self, ns: str, name: str, aliases: Aliases) -> str:
        iri = iris.dataset_iri(ns, name)
        if not self._existing(v.LINEAGE_DATASET, [iri]):
            raise NotFound(f"no dataset {name!r} in namespace {ns!r}")
        return aliases.canonical(iri)

    def _job(self, ns: str, name: str) -> str:
        iri = iris.job_iri(ns, name)
        if not self._existing(v.JOB, [iri]):
            raise NotFound(f"no job {name!r} in namespace {ns!r}")
        return iri

    def _namespace(self, ns: str) -> str:
        iri = iris.namespace_iri(ns)
        if not self._existing(v.LINEAGE_NAMESPACE, [iri]):
            raise NotFound(f"no lineage namespace {ns!r}")
        return iri

    # ------------------------------------------------------------------ lineage graphs
    def lineage(self, node_id: str, depth: int = 20, as_of: str | None = None
                ) -> dict[str, Any]:
        """Marquez's ``GET /lineage``: jobs and datasets up- and downstream of a node."""
        node = parse_node_id(node_id)
        as_of_term = as_of_literal(as_of)
        self._sync()
        aliases: Aliases | IndexAliases
        adj: Adjacency
        if as_of_term is None and self._index is not None:
            adj = IndexAdjacency(self._index)
            aliases = adj.aliases
        else:
            aliases = Aliases(self._select)
            adj = SparqlAdjacency(self._select, aliases, as_of_term)
        if node.kind == "datasetField":
            node = NodeRef("dataset", tuple(r[:2] for r in node.readings))
        start = self._resolve(node)
        kind = "JOB" if node.kind == "job" else "DATASET"
        if kind == "DATASET":
            start = aliases.canonical(start)
        sub = traverse(start, kind, depth, adj)
        node_ids = {n: job_node_id(n) if k == "JOB" else dataset_node_id(n)
                    for n, k in sub.nodes.items()}
        ins: dict[str, list[dict[str, Any]]] = {n: [] for n in sub.nodes}
        outs: dict[str, list[dict[str, Any]]] = {n: [] for n in sub.nodes}
        for e in sub.edges:
            ds, job = node_ids[e.dataset], node_ids[e.job]
            if e.direction == "in":
                edge = edge_dict(ds, job, e)
                outs[e.dataset].append(edge)
                ins[e.job].append(edge)
            else:
                edge = edge_dict(job, ds, e)
                outs[e.job].append(edge)
                ins[e.dataset].append(edge)
        graph = []
        jobs = adj.lineage_of([n for n, k in sub.nodes.items() if k == "JOB"])
        for n, k in sub.nodes.items():
            if k == "JOB":
                data = self._lineage_job_data(n, jobs[n])
            else:
                ns, name = dataset_of(n)
                data = {"id": ids(ns, name), "namespace": ns, "name": name,
                        "symlinks": [ids(*dataset_of(m)) for m in
                                     sorted(aliases.members(n) - {n})]}
            graph.append({"id": node_ids[n], "type": k, "data": data,
                          "inEdges": sorted(ins[n], key=_edge_key),
                          "outEdges": sorted(outs[n], key=_edge_key)})
        return {"graph": sorted(graph, key=itemgetter("id"))}

    @staticmethod
    def _lineage_job_data(job: str, lin: JobLineage) -> dict[str, Any]:
        ns, name = job_of(job)
        sides: dict[str, list[dict[str, Any]]] = {"in": [], "out": []}
        for e in lin.edges:
            ds_ns, ds_name = dataset_of(e.dataset)
            sides[e.direction].append({"namespace": ds_ns, "name": ds_name,
                                       "firstSeen": iso(e.first_seen),
                                       "lastSeen": iso(e.last_seen)})
        return {"id": ids(ns, name), "namespace": ns, "name": name,
                "currentVersion": lin.version, "inputs": sides["in"], "outputs": sides["out"]}

    def column_lineage(self, node_id: str, depth: int = 20, with_downstream: bool = False
                       ) -> dict[str, Any]:
        """Marquez's ``GET /column-lineage``: field derivations upstream of a dataset's fields
        or of one field, and downstream too when asked."""
        node = parse_node_id(node_id)
        if node.kind == "job":
            raise InvalidInput("column lineage starts at a dataset or a datasetField node")
        self._sync()
        aliases: ColumnAliases
        source: ColumnSource
        if self._columns is not None and self._index is not None:
            aliases, source = IndexAliases(self._index), self._columns
        else:
            aliases, source = Aliases(self._select), SparqlColumns(self._select)
        start = self._resolve(node)
        if node.kind == "dataset":
            members = aliases.members(aliases.canonical(start))
            starts = self._fields_of(members)
        else:
            starts = {start}
        return {"graph": ColumnGraph(source, aliases).build(starts, depth, with_downstream)}

    def _fields_of(self, datasets: Iterable[str]) -> set[str]:
        if self._columns is not None:
            return self._columns.fields_of(datasets)
        return {row["f"].value for row in self._select(
            f"{PREFIXES} SELECT DISTINCT ?f WHERE {{ {values('ds', datasets)} "
            f"?ds dpg:hasField ?f }}")}

    # ------------------------------------------------------------------ namespaces
    def namespaces(self) -> dict[str, Any]:
        self._sync()
        return {"namespaces": self._namespace_rows(None)}

    def namespace(self, ns: str) -> dict[str, Any]:
        self._sync()
        self._namespace(ns)
        return self._namespace_rows(iris.namespace_iri(ns))[0]

    def _namespace_rows(self, only: str | None) -> list[dict[str, Any]]:
        scope = values("n", [only]) if only else ""
        rows = []
        # The summary keeps each namespace's first and last event time (LineageSummary).
        for row in self._select(f"""{PREFIXES}
            SELECT ?id ?created ?updated WHERE {{ {scope}
                GRAPH <{SUMMARY_GRAPH.value}> {{ ?n dct:identifier ?id ;
                    dct:created ?created ; dct:modified ?updated }} }} ORDER BY ?id"""):
            rows.append({"name": row["id"].value,
                         "createdAt": iso(parse_time(row["created"].value)),
                         "updatedAt": iso(parse_time(row["updated"].value)),
                         "ownerName": None, "description": None, "isHidden": False})
        return rows

    # ------------------------------------------------------------------ jobs
    def jobs(self, ns: str, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        self._sync()
        ns_iri = self._namespace(ns)
        found = sorted(self._in_namespace(ns_iri, "job/"), key=job_of)
        page = _page(found, limit, offset)
        details = self._jobs(page)
        return {"totalCount": len(found), "jobs": [details[j] for j in page]}

    def job(self, ns: str, name: str) -> dict[str, Any]:
        self._sync()
        job = self._job(ns, name)
        return self._jobs([job])[job]

    def job_runs(self, ns: str, name: str, limit: int = 100, offset: int = 0
                 ) -> dict[str, Any]:
        self._sync()
        job = self._job(ns, name)
        if self._catalog is not None:
            assert self._runs is not None  # set together
            runs = self._runs.runs_of(job)
        else:
            runs = self._runs_of([job]).get(job, [])
        page = _page(runs, limit, offset)
        details = self._e.runs(page)
        return {"totalCount": len(runs), "runs": [details[r] for r in page]}

    def _runs_of(self, jobs: list[str]) -> dict[str, list[str]]:
        """Runs of each job, the most recently created (earliest event) first."""
        found: dict[str, list[tuple[dt.datetime, str]]] = {}
        for batch in chunks(jobs):
            for row in self._select(f"""{PREFIXES}
                SELECT ?job ?run (MIN(?t) AS ?created) WHERE {{ {values("job", batch)}
                    ?e dpg:aboutJob ?job ; dpg:aboutRun ?run ; dpg:eventTime ?t .
                }} GROUP BY ?job ?run"""):
                found.setdefault(row["job"].value, []).append(
                    (parse_time(row["created"].value), row["run"].value))
        return {j: [r for _, r in sorted(rs, reverse=True)] for j, rs in found.items()}

    def _jobs(self, jobs: list[str]) -> dict[str, dict[str, Any]]:
        if not jobs:
            return {}
        if self._catalog is not None:
            lineage, props, raw, times, latest = self._job_facts_in_memory(jobs)
        else:
            lineage, props, raw, times, latest = self._job_facts(jobs)
        runs = self._e.runs(list(latest.values()))
        out = {}
        for job in jobs:
            ns, name = job_of(job)
            p = props.get(job, {})
            facets = self._e.facets(p, JOB_FACET_TERMS, raw.get(job, {}))
            owners = self._e.owners(p.get(v.HAS_OWNERSHIP.value, (None, []))[1])
            if owners and "ownership" not in raw.get(job, {}):
                facets["ownership"] = {"owners": owners}
            parent = sorted(o.value for o in p.get(v.PARENT_JOB.value, (None, []))[1])
            parent_id = ids(*job_of(parent[0])) if parent else None
            simple = name
            if parent_id and name.startswith(parent_id["name"] + "."):
                simple = name[len(parent_id["name"]) + 1:]
            location = facets.get("sourceCodeLocation", {}).get("url")
            processing = facets.get("jobType", {}).get("processingType")
            lin = lineage[job]
            out[job] = {
                "id": ids(ns, name), "type": "STREAM" if processing == "STREAMING" else "BATCH",
                "name": name, "simpleName": simple, "namespace": ns,
                "parentJobName": parent_id["name"] if parent_id else None,
                "parentJob": parent_id,
                "createdAt": times.get(job, (None, None))[0],
                "updatedAt": times.get(job, (None, None))[1],
                "inputs": [ids(*dataset_of(d)) for s, d in lin.reported if s == "in"],
                "outputs": [ids(*dataset_of(d)) for s, d in lin.reported if s == "out"],
                "location": location if isinstance(location, str) else None,
                "description": facets.get("documentation", {}).get("description"),
                "currentVersion": {**ids(ns, name), "version": lin.version}
                if lin.version else None,
                "latestRun": runs[latest[job]] if job in latest else None,
                "facets": facets,
            }
        return out

    def _job_facts(self, jobs: list[str]) -> JobResourceInputs:
        """What a job resource aggregates over the job's events, by SPARQL over them all."""
        lineage = job_lineage(self._select, Aliases(self._select), jobs, None)
        props = self._e.props(jobs, [*JOB_FACET_TERMS, v.HAS_OWNERSHIP, v.PARENT_JOB])
        raw = self._e.raw_facets(jobs)
        times: dict[str, tuple[str | None, str | None]] = {}
        for batch in chunks(jobs):
            for row in self._select(f"""{PREFIXES}
                SELECT ?job (MIN(?t) AS ?c) (MAX(?t) AS ?u) WHERE {{ {values("job", batch)}
                    GRAPH ?g {{ ?job a dpg:Job . ?e dpg:eventTime ?t }} }} GROUP BY ?job"""):
                times[row["job"].value] = (iso(parse_time(row["c"].value)),
                                           iso(parse_time(row["u"].value)))
        latest = {j: rs[0] for j, rs in self._runs_of(jobs).items() if rs}
        return lineage, props, raw, times, latest

    def _job_facts_in_memory(self, jobs: list[str]) -> JobResourceInputs:
        """The same facts from the in-memory index, job catalog and runs."""
        assert self._index is not None and self._catalog is not None and self._runs is not None
        known = self._catalog.facts(jobs)
        return (self._index.lineage_of(jobs),
                {j: f.props for j, f in known.items() if f.props},
                {j: raw_facets(f) for j, f in known.items() if f.raw},
                {j: (iso(f.first), iso(f.last)) for j, f in known.items()},
                self._runs.latest_runs(jobs))

    # ------------------------------------------------------------------ runs
    def run(self, run_id: str) -> dict[str, Any]:
        self._sync()
        run = iris.run_iri(run_id)
        if not self._existing(v.RUN, [run]):
            raise NotFound(f"no run {run_id!r} in the lineage graph")
        return self._e.runs([run])[run]

    # ------------------------------------------------------------------ datasets
    def datasets(self, ns: str, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        self._sync()
        ns_iri = self._namespace(ns)
        aliases = Aliases(self._select)
        members = self._in_namespace(ns_iri, "dataset/")
        aliases.resolve(members)
        found = sorted({aliases.canonical(d) for d in members}, key=dataset_of)
        page = _page(found, limit, offset)
        details = self._datasets(page, aliases)
        return {"totalCount": len(found), "datasets": [details[d] for d in page]}

    def dataset(self, ns: str, name: str) -> dict[str, Any]:
        self._sync()
        aliases = Aliases(self._select)
        ds = self._dataset(ns, name, aliases)
        return self._datasets([ds], aliases)[ds]

    def _datasets(self, datasets: list[str], aliases: Aliases) -> dict[str, dict[str, Any]]:
        """Dataset objects of canonical datasets, each with its whole alias component."""
        if not datasets:
            return {}
        members = {d: sorted(aliases.members(d)) for d in datasets}
        owner = {m: d for d, ms in members.items() for m in ms}
        everyone = list(owner)
        props = self._e.props(everyone, [*DATASET_FACET_TERMS, v.HAS_OWNERSHIP,
                                       v.SYMLINK_TYPE])
        raw = self._e.raw_facets(everyone)
        times: dict[str, list[dt.datetime]] = {}
        modified: dict[str, dt.datetime] = {}
        for batch in chunks(everyone):
            for row in self._select(f"""{PREFIXES}
                SELECT ?ds (MIN(?t) AS ?c) (MAX(?t) AS ?u) WHERE {{ {values("ds", batch)}
                    GRAPH ?g {{ ?ds a dpg:LineageDataset . ?e dpg:eventTime ?t }} }}
                GROUP BY ?ds"""):
                span = times.setdefault(owner[row["ds"].value], [])
                span += [parse_time(row["c"].value), parse_time(row["u"].value)]
            for row in self._select(f"""{PREFIXES}
                SELECT ?ds (MAX(?t) AS ?m) WHERE {{ {values("ds", batch)}
                    GRAPH ?g {{ ?run dpg:writes ?ds .
                               ?e dpg:eventType dpg:RunCompleted ; dpg:eventTime ?t }} }}
                GROUP BY ?ds"""):
                d, t = owner[row["ds"].value], parse_time(row["m"].value)
                modified[d] = max(t, modified.get(d, t))
        fields = self._e.latest_fields(members)
        out = {}
        for d in datasets:
            ns, name = dataset_of(d)
            merged: Props = {}
            merged_raw: dict[str, tuple[dt.datetime, Any]] = {}
            for m in members[d]:  # the component's facets: the latest statement wins
                for p, (t, objs) in props.get(m, {}).items():
                    if p not in merged or t > merged[p][0]:
                        merged[p] = (t, objs)
                for n, (t, body) in raw.get(m, {}).items():
                    if n not in merged_raw or t > merged_raw[n][0]:
                        merged_raw[n] = (t, body)
            facets = self._e.facets(merged, DATASET_FACET_TERMS, merged_raw)
            owners = self._e.owners(merged.get(v.HAS_OWNERSHIP.value, (None, []))[1])
            if owners and "ownership" not in merged_raw:
                facets["ownership"] = {"owners": owners}
            symlinks = [ids(*dataset_of(m)) for m in members[d] if m != d]
            if symlinks and "symlinks" not in merged_raw:
                identifiers = []
                for m in members[d]:
                    kinds = sorted(props.get(m, {}).get(v.SYMLINK_TYPE.value, (None, []))[1],
                                   key=str)
                    if m != d:
                        identifiers.append({**ids(*dataset_of(m)),
                                            **({"type": py(kinds[0])} if kinds else {})})
                facets["symlinks"] = {"identifiers": identifiers}
            span = times.get(d)
            out[d] = {
                "id": ids(ns, name), "type": "DB_TABLE", "name": name, "physicalName": name,
                "namespace": ns,
                "sourceName": facets.get("dataSource", {}).get("name", ns),
                "createdAt": iso(min(span)) if span else None,
                "updatedAt": iso(max(span)) if span else None,
                "fields": fields.get(d, []), "tags": [],
                "lastModifiedAt": iso(modified.get(d)),
                "description": facets.get("documentation", {}).get("description"),
                "symlinks": symlinks, "facets": facets, "deleted": False,
            }
        return out


    def dataset_versions(self, ns: str, name: str, limit: int = 100, offset: int = 0
                         ) -> dict[str, Any]:
        """One version per run that wrote the dataset (or an alias of it), newest first."""
        self._sync()
        aliases = Aliases(self._select)
        ds = self._dataset(ns, name, aliases)
        found: list[tuple[dt.datetime, str, str, str]] = []
        for row in self._select(f"""{PREFIXES}
            SELECT ?ver ?run ?ds (MIN(?t) AS ?created) WHERE {{
                {values("ds", aliases.members(ds))}
                GRAPH ?g {{ ?run dpg:writesVersion ?ver . ?ver dpg:versionOf ?ds .
                           ?e dpg:eventTime ?t }} }} GROUP BY ?ver ?run ?ds"""):
            found.append((parse_time(row["created"].value), row["ver"].value,
                          row["run"].value, row["ds"].value))
        found.sort(reverse=True)
        page = _page(found, limit, offset)
        versions = [p[1] for p in page]
        runs = self._e.runs([p[2] for p in page])
        fields = self._e.version_fields(versions)
        props = self._e.props(versions, VERSION_FACET_TERMS)
        raw = self._e.raw_facets(versions)
        out = []
        for created, ver, run, member in page:
            mns, mname = dataset_of(member)
            facets = self._e.facets(props.get(ver, {}), VERSION_FACET_TERMS, raw.get(ver, {}))
            stats = facets.pop("statistics", None)
            if stats is not None:
                facets.setdefault("outputStatistics", stats)
            version = facets.get("version", {}).get("datasetVersion") or runs[run]["id"]
            out.append({
                "id": {**ids(mns, mname), "version": version}, "type": "DB_TABLE",
                "name": mname, "physicalName": mname, "namespace": mns, "version": version,
                "createdAt": iso(created), "runId": runs[run]["id"],
                "createdByRun": runs[run], "fields": fields.get(ver, []), "tags": [],
                "lifecycleState": facets.get("lifecycleStateChange", {})
                .get("lifecycleStateChange"),
                "facets": facets,
            })
        return {"totalCount": len(found), "versions": out}


