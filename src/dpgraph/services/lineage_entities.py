"""Entity reads shared by the lineage read API: latest facet values, runs and their states,
schema fields. Every query is scoped to the nodes asked about and aggregates over the event
graphs (one per stored event), so answers do not depend on the order events arrived in.

- a run's state comes from all its events: a terminal event (COMPLETE, FAIL, ABORT) wins over
  START, RUNNING and OTHER whatever their order; of several terminal events the latest by
  eventTime. ``startedAt`` is the earliest START (else the earliest event), ``endedAt`` the
  terminal event's time. States are Marquez's: RUNNING, COMPLETED, FAILED, ABORTED, NEW;
- a facet is rebuilt from its projected terms, or taken whole when it was kept raw, from the
  latest event that carried it;
- a dataset's fields are those of the latest event that reported a schema for it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from pyoxigraph import Literal, NamedNode

from dpgraph import vocab as v
from dpgraph.services.lineage_graph import (
    PREFIXES,
    STATE_OF_IRI,
    TERMINAL,
    Select,
    chunks,
    dataset_of,
    field_of,
    ids,
    iso,
    job_of,
    parse_time,
    ref,
    run_id_of,
    values,
)

MARQUEZ_STATE = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
_RANK = {"COMPLETE": 0, "ABORT": 1, "FAIL": 2}  # same eventTime: the worse outcome wins

# Projected facet terms: predicate -> (facet name, key).
JOB_FACET_TERMS = {
    v.SQL_QUERY: ("sql", "query"), v.SQL_DIALECT: ("sql", "dialect"),
    v.PROCESSING_TYPE: ("jobType", "processingType"), v.INTEGRATION: ("jobType", "integration"),
    v.JOB_TYPE: ("jobType", "jobType"),
    v.DCT_DESCRIPTION: ("documentation", "description"),
    v.DESCRIPTION_MEDIA_TYPE: ("documentation", "contentType"),
}
RUN_FACET_TERMS = {
    v.ERROR_MESSAGE: ("errorMessage", "message"),
    v.PROGRAMMING_LANGUAGE: ("errorMessage", "programmingLanguage"),
    v.STACK_TRACE: ("errorMessage", "stackTrace"),
    v.PROCESSING_ENGINE_NAME: ("processing_engine", "name"),
    v.PROCESSING_ENGINE_VERSION: ("processing_engine", "version"),
    v.OPENLINEAGE_ADAPTER_VERSION: ("processing_engine", "openlineageAdapterVersion"),
}
DATASET_FACET_TERMS = {
    v.DATA_SOURCE_NAME: ("dataSource", "name"), v.DATA_SOURCE_URI: ("dataSource", "uri"),
    v.DCT_DESCRIPTION: ("documentation", "description"),
    v.DESCRIPTION_MEDIA_TYPE: ("documentation", "contentType"),
    v.TABLE_FORMAT: ("storage", "storageLayer"), v.FILE_FORMAT: ("storage", "fileFormat"),
}
VERSION_FACET_TERMS = {
    v.DATASET_VERSION_OF: ("version", "datasetVersion"),
    v.LIFECYCLE_STATE_CHANGE: ("lifecycleStateChange", "lifecycleStateChange"),
    v.ROW_COUNT: ("statistics", "rowCount"), v.BYTE_SIZE: ("statistics", "size"),
    v.FILE_COUNT: ("statistics", "fileCount"),
}

Props = dict[str, tuple[dt.datetime, list[Any]]]  # predicate -> (latest time, objects then)


def py(term: Any) -> Any:
    """A literal as JSON (numbers and booleans typed), an IRI as its string."""
    if isinstance(term, Literal):
        dtype = term.datatype.value
        if dtype == v.XSD_INTEGER.value:
            return int(term.value)
        if dtype == v.XSD_BOOLEAN.value:
            return term.value == "true"
        if dtype == v.XSD_NS + "double":
            return float(term.value)
        return term.value
    return term.value


class EntityReads:
    """Batched reads of facets, runs and fields for a set of nodes."""

    def __init__(self, select: Select) -> None:
        self._select = select

    def props(self, nodes: Iterable[str], preds: Iterable[NamedNode]) -> dict[str, Props]:
        """Per node and predicate, the objects stated by the latest event stating any."""
        out: dict[str, Props] = {}
        # One branch per predicate: a bound predicate keeps each lookup on an index.
        wanted = " UNION ".join(f"{{ ?s {ref(p.value)} ?o BIND({ref(p.value)} AS ?p) }}"
                                for p in preds)
        for batch in chunks(nodes):
            for row in self._select(f"""{PREFIXES}
                SELECT ?s ?p ?o (MAX(?t) AS ?last) WHERE {{ {values("s", batch)}
                    GRAPH ?g {{ {wanted} ?e dpg:eventTime ?t }} }} GROUP BY ?s ?p ?o"""):
                t = parse_time(row["last"].value)
                slot = out.setdefault(row["s"].value, {})
                p = row["p"].value
                if p not in slot or t > slot[p][0]:
                    slot[p] = (t, [row["o"]])
                elif t == slot[p][0]:
                    slot[p][1].append(row["o"])
        return out

    def raw_facets(self, nodes: Iterable[str]) -> dict[str, dict[str, tuple[dt.datetime, Any]]]:
        """Per node, each facet kept raw (JSON) as the latest event stating it had it."""
        latest: dict[str, dict[str, tuple[dt.datetime, str]]] = {}
        for batch in chunks(nodes):
            for row in self._select(f"""{PREFIXES}
                SELECT ?s ?name ?json (MAX(?t) AS ?last) WHERE {{ {values("s", batch)}
                    GRAPH ?g {{ ?s dpg:hasFacet ?f . ?f dpg:facetName ?name ; dpg:facet ?json .
                               ?e dpg:eventTime ?t }} }} GROUP BY ?s ?name ?json"""):
                key = (parse_time(row["last"].value), row["json"].value)
                slot = latest.setdefault(row["s"].value, {})
                name = row["name"].value
                if name not in slot or key > slot[name]:
                    slot[name] = key
        return {s: {n: (t, json.loads(text)) for n, (t, text) in facets.items()}
                for s, facets in latest.items()}

    @staticmethod
    def facets(props: Props, terms: dict[NamedNode, tuple[str, str]],
               raw: dict[str, tuple[dt.datetime, Any]]) -> dict[str, Any]:
        """Facets rebuilt from projected terms, replaced by a later raw copy when there is
        one (a raw copy holds the whole facet; ``_deleted`` removes it)."""
        built: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
        for pred, (facet, key) in terms.items():
            if pred.value in props:
                t, objs = props[pred.value]
                when, body = built.setdefault(facet, (t, {}))
                body[key] = py(sorted(objs, key=str)[0])
                built[facet] = (max(when, t), body)
        for name, (t, body) in raw.items():
            if name not in built or t >= built[name][0]:
                built[name] = (t, body)
        return {name: body for name, (_, body) in sorted(built.items())
                if not (isinstance(body, dict) and body.get("_deleted") is True)}

    def owners(self, ownerships: list[Any]) -> list[dict[str, Any]]:
        if not ownerships:
            return []
        owners: dict[str, dict[str, Any]] = {}
        for row in self._select(f"""{PREFIXES}
            SELECT DISTINCT ?o ?name ?type WHERE {{
                {values("o", [o.value for o in ownerships])}
                ?o dpg:ownerName ?name . OPTIONAL {{ ?o dpg:ownershipType ?type }}
            }} ORDER BY ?o ?name ?type"""):
            owner = owners.setdefault(row["o"].value, {"name": row["name"].value})
            if row["type"] is not None:
                owner["type"] = row["type"].value
        return [owners[k] for k in sorted(owners)]

    def runs(self, runs: list[str]) -> dict[str, dict[str, Any]]:
        """Marquez's Run objects, states and times aggregated over each run's events."""
        if not runs:
            return {}
        events = self.run_events(runs)
        props = self.props(runs, [*RUN_FACET_TERMS, v.PARENT_RUN, v.ROOT_RUN,
                                   v.DCT_IDENTIFIER])
        raw = self.raw_facets(runs)
        parents = {o.value for p in props.values() for key in (v.PARENT_RUN, v.ROOT_RUN)
                   for o in p.get(key.value, (None, []))[1]}
        parent_jobs = self.parent_jobs(runs) if parents else {}
        datasets = self.run_datasets(runs)
        out = {}
        for run in runs:
            p = props.get(run, {})
            ident = p.get(v.DCT_IDENTIFIER.value)
            run_id = ident[1][0].value if ident else run_id_of(run)
            summary = run_summary(events.get(run, []))
            facets = self.facets(p, RUN_FACET_TERMS, raw.get(run, {}))
            parent_run = None
            for key, slot in ((v.PARENT_RUN, None), (v.ROOT_RUN, "root")):
                linked = sorted(o.value for o in p.get(key.value, (None, []))[1])
                if not linked:
                    continue
                rid = run_id_of(linked[0])
                job = parent_jobs.get(linked[0])
                body = {"run": {"runId": rid}, **({"job": ids(*job_of(job))} if job else {})}
                if slot is None:
                    parent_run = {"id": rid, "job": body.get("job")}
                    if "parent" not in raw.get(run, {}):
                        facets.setdefault("parent", {}).update(body)
                elif "parent" not in raw.get(run, {}):
                    facets.setdefault("parent", {})["root"] = body
            nominal = facets.get("nominalTime", {})
            job = summary.pop("job")
            version = summary.pop("version")
            ins, outs = datasets.get(run, ([], []))
            out[run] = {
                "id": run_id, **summary,
                "nominalStartTime": nominal.get("nominalStartTime"),
                "nominalEndTime": nominal.get("nominalEndTime"),
                "args": {},
                "job": ids(*job_of(job)) if job else None,
                "jobVersion": {**ids(*job_of(job)), "version": version}
                if job and version else None,
                "parentRun": parent_run,
                "inputDatasetVersions": ins, "outputDatasetVersions": outs,
                "context": {}, "facets": facets,
            }
        return out

    def run_events(self, runs: list[str]) -> dict[str, list[tuple[dt.datetime, str | None,
                                                                  str | None, str | None]]]:
        events: dict[str, list[tuple[dt.datetime, str | None, str | None, str | None]]] = {}
        for batch in chunks(runs):
            for row in self._select(f"""{PREFIXES}
                SELECT ?run ?t ?type ?ver ?job WHERE {{ {values("run", batch)}
                    ?e dpg:aboutRun ?run ; dpg:eventTime ?t .
                    OPTIONAL {{ ?e dpg:eventType ?type }} OPTIONAL {{ ?e dpg:jobVersion ?ver }}
                    OPTIONAL {{ ?e dpg:aboutJob ?job }} }}"""):
                kind = STATE_OF_IRI.get(row["type"].value) if row["type"] else None
                events.setdefault(row["run"].value, []).append((
                    parse_time(row["t"].value), kind,
                    row["ver"].value if row["ver"] else None,
                    row["job"].value if row["job"] else None))
        return events

    def parent_jobs(self, runs: list[str]) -> dict[str, str]:
        """The job of each parent and root run of ``runs``, as the events of ``runs`` name
        it (a parent facet names the parent's job). Not looked up over every event graph:
        each child event restates its parent's job, so that would read as many statements as
        the parent has children (all million events of the ingest bench share one parent)."""
        jobs: dict[str, str] = {}
        for batch in chunks(runs):
            for row in self._select(f"""{PREFIXES}
                SELECT ?parent (MIN(STR(?job)) AS ?j) WHERE {{ {values("run", batch)}
                    GRAPH ?g {{ ?run dpg:parentRun|dpg:rootRun ?parent .
                                ?parent dpg:ofJob ?job }} }} GROUP BY ?parent"""):
                jobs[row["parent"].value] = row["j"].value
        return jobs

    def run_datasets(self, runs: list[str]) -> dict[str, tuple[list[Any], list[Any]]]:
        """The dataset versions each run read and wrote, with their per-run facets."""
        rows = []
        for batch in chunks(runs):
            for row in self._select(f"""{PREFIXES}
                SELECT DISTINCT ?run ?reads ?ver ?ds WHERE {{ {values("run", batch)}
                    {{ ?run dpg:readsVersion ?ver BIND(true AS ?reads) }}
                    UNION {{ ?run dpg:writesVersion ?ver BIND(false AS ?reads) }}
                    ?ver dpg:versionOf ?ds }}"""):
                rows.append((row["run"].value, row["reads"].value == "true",
                             row["ver"].value, row["ds"].value))
        versions = [r[2] for r in rows]
        props = self.props(versions, VERSION_FACET_TERMS)
        raw = self.raw_facets(versions)
        fields = self.version_fields(versions)
        out: dict[str, tuple[list[Any], list[Any]]] = {}
        for run, reads, ver, ds in sorted(rows, key=lambda r: (r[0], dataset_of(r[3]))):
            facets = self.facets(props.get(ver, {}), VERSION_FACET_TERMS, raw.get(ver, {}))
            stats = facets.pop("statistics", None)
            if stats is not None:
                facets.setdefault("inputStatistics" if reads else "outputStatistics", stats)
            version = facets.get("version", {}).get("datasetVersion") or run_id_of(run)
            entry = {"datasetVersionId": {**ids(*dataset_of(ds)), "version": version},
                     "fields": fields.get(ver, []), "facets": facets}
            out.setdefault(run, ([], []))[0 if reads else 1].append(entry)
        return out

    def latest_fields(self, members: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
        """Fields of the latest event that reported a schema for each dataset component."""
        latest: dict[str, tuple[dt.datetime, str]] = {}
        owner = {m: d for d, ms in members.items() for m in ms}
        for batch in chunks(owner):
            for row in self._select(f"""{PREFIXES}
                SELECT ?ds ?g (MAX(?t) AS ?last) WHERE {{ {values("ds", batch)} GRAPH ?g {{
                    {{ ?ver dpg:versionOf ?ds . FILTER EXISTS {{ ?ver dpg:hasSchemaField ?f }} }}
                    UNION {{ ?ds dpg:hasSchemaField ?f }}
                    ?e dpg:eventTime ?t }} }} GROUP BY ?ds ?g"""):
                d, t, g = owner[row["ds"].value], parse_time(row["last"].value), row["g"].value
                if d not in latest or (t, g) > latest[d]:
                    latest[d] = (t, g)
        out: dict[str, list[dict[str, Any]]] = {}
        for d, (_, g) in latest.items():
            out[d] = self.schema_in_graph(g, members[d])
        return out

    def schema_in_graph(self, graph: str, datasets: list[str]) -> list[dict[str, Any]]:
        """The schema fields one event graph states for the datasets (through their version
        nodes, or on the datasets themselves for events without a run)."""
        rows = self._select(f"""{PREFIXES}
            SELECT DISTINCT ?f ?type ?desc ?pos ?idx WHERE {{ GRAPH {ref(graph)} {{
                ?e a dpg:LineageEvent . {values("ds", datasets)}
                {{ ?h dpg:versionOf ?ds ; dpg:hasSchemaField ?f }}
                UNION {{ ?ds dpg:hasSchemaField ?f }}
                OPTIONAL {{ ?f dpg:fieldType ?type }} OPTIONAL {{ ?f dct:description ?desc }}
                OPTIONAL {{ ?f dpg:ordinalPosition ?pos }}
                OPTIONAL {{ ?f dpg:fieldIndex ?idx }} }} }}""")
        return fields_of(rows)

    def version_fields(self, versions: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Schema fields each version (run) saw, over all that run's events; per field, the
        type and description of the latest event stating them."""
        rows: dict[str, list[Any]] = {}
        for batch in chunks(versions):
            for row in self._select(f"""{PREFIXES}
                SELECT ?ver ?f ?type ?desc ?pos ?idx ?t WHERE {{ {values("ver", batch)}
                    GRAPH ?g {{ ?ver dpg:hasSchemaField ?f . ?e dpg:eventTime ?t .
                        OPTIONAL {{ ?f dpg:fieldType ?type }}
                        OPTIONAL {{ ?f dct:description ?desc }}
                        OPTIONAL {{ ?f dpg:ordinalPosition ?pos }}
                        OPTIONAL {{ ?f dpg:fieldIndex ?idx }} }} }}
                ORDER BY ?t"""):
                rows.setdefault(row["ver"].value, []).append(row)
        return {ver: fields_of(rs) for ver, rs in rows.items()}


def fields_of(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Marquez's Field objects (nested fields by dotted path), in schema order: the
    producer's ordinal positions when given, else the order of the schema facet's array;
    later rows override earlier ones."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        _, _, path = field_of(row["f"].value)
        entry = found.setdefault(path, {"name": path, "type": None, "tags": [],
                                        "description": None, "_pos": None, "_idx": None})
        if row["type"] is not None:
            entry["type"] = row["type"].value
        if row["desc"] is not None:
            entry["description"] = row["desc"].value
        if row["pos"] is not None:
            entry["_pos"] = int(row["pos"].value)
        if row["idx"] is not None:
            entry["_idx"] = int(row["idx"].value)
    def rank(path: str) -> tuple[Any, ...]:
        # A nested field sorts right after its parent, in its own level's order.
        f = found.get(path)
        parent = path.rsplit(".", 1)[0] if "." in path else None
        here = (f is None or (f["_pos"] is None and f["_idx"] is None),
                f["_pos"] if f and f["_pos"] is not None else (f["_idx"] if f else 0) or 0,
                path.rsplit(".", 1)[-1])
        return ((*rank(parent), here) if parent is not None and parent in found else (here,))

    ordered = sorted(found.values(), key=lambda f: rank(f["name"]))
    return [{k: x for k, x in f.items() if k not in ("_pos", "_idx")} for f in ordered]


def run_summary(events: list[tuple[dt.datetime, str | None, str | None, str | None]]
                ) -> dict[str, Any]:
    """State and times of a run from all its events, whatever order they arrived in."""
    if not events:
        return {"createdAt": None, "updatedAt": None, "state": "NEW", "startedAt": None,
                "endedAt": None, "durationMs": None, "job": None, "version": None}
    terminal = [e for e in events if e[1] in TERMINAL]
    if terminal:
        decisive = max(terminal, key=lambda e: (e[0], _RANK[e[1]]))  # type: ignore[index]
        state, ended = MARQUEZ_STATE[decisive[1]], decisive[0]  # type: ignore[index]
    else:
        decisive = max(events, key=lambda e: (e[0], e[2] or "", e[3] or ""))
        running = any(e[1] in ("START", "RUNNING") for e in events)
        state, ended = ("RUNNING" if running else "NEW"), None
    starts = [e[0] for e in events if e[1] == "START"]
    started = min(starts) if starts else min(e[0] for e in events)
    return {
        "createdAt": iso(min(e[0] for e in events)),
        "updatedAt": iso(max(e[0] for e in events)),
        "state": state, "startedAt": iso(started), "endedAt": iso(ended),
        "durationMs": int((ended - started).total_seconds() * 1000) if ended else None,
        "job": decisive[3], "version": decisive[2],
    }
