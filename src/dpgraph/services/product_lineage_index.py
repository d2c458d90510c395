"""The in-memory projection of the log that product lineage and its findings read.

It keeps per product its domain, lifecycle status, representations (normalised locations,
storage layer, whether only private-raw ports serve them), declared jobs and namespaces and
golden-source application; per catalog application its lineage namespaces and datasets; per
job its runs. A job's current inputs and outputs, with symlink aliases resolved, come from the
:class:`LineageIndex` the projector feeds before its followers. Nothing is derived at write
time, so registering before or after the lineage gives the same answer. Fed by the projector
like :mod:`dpgraph.services.join_index`, loaded from the log at start, cleared on a rebuild;
readers get an immutable :class:`ProductLineage`, rebuilt lazily after a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from dpgraph.lineage.iris import job_iri, run_iri
from dpgraph.lineage.mapping import utc_datetime
from dpgraph.lineage.naming import normalize_location
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.product_lineage.graph import ProductLineage
from dpgraph.product_lineage.model import (
    AppFacts,
    DatasetRef,
    Facts,
    JobFacts,
    ProductFacts,
    app_facts,
    product_facts,
)
from dpgraph.product_lineage.runs import JobRuns
from dpgraph.services.lineage_graph import dataset_of, job_of, parse_time
from dpgraph.services.lineage_index import LineageIndex
from dpgraph.services.log_follower import LogFollower
from dpgraph.services.projector import (
    CATALOG_REGISTERED,
    LINEAGE_EVENT,
    PRODUCT_DEPRECATED,
    PRODUCT_REGISTERED,
)


class ProductLineageIndex(LogFollower):
    def __init__(self, lineage: LineageIndex) -> None:
        self._lineage = lineage
        super().__init__()

    def _reset(self) -> None:
        super()._reset()
        self._products: dict[str, ProductFacts] = {}
        self._apps: dict[str, AppFacts] = {}
        self._runs: dict[str, JobRuns] = {}  # job IRI -> its runs
        self._graph: ProductLineage | None = None
        # Kept across snapshots, so that a new event costs the rebuild of its own job only:
        # building every job's facts again (decoding dataset IRIs, normalising locations) took
        # seconds at 40,000 jobs. A symlinks facet may regroup aliases anywhere: it resets both.
        self._job_facts: dict[str, JobFacts] = {}
        self._refs: dict[str, DatasetRef] = {}
        self._dirty: set[str] = set()

    # ---------------------------------------------------------------- feeding
    def _invalidate(self) -> None:
        self._graph = None

    def _apply(self, r: LogRecord) -> bool:
        p = r.payload
        if r.kind == PRODUCT_REGISTERED:
            facts = product_facts(p["descriptor"])
            self._products[facts.id] = facts
        elif r.kind == PRODUCT_DEPRECATED:
            old = self._products.get(p["id"])
            if old is not None:
                self._products[old.id] = _with_status(old, p.get("status") or "deprecated")
        elif r.kind == CATALOG_REGISTERED:
            for a in p["catalog"].get("applications") or []:
                self._apps[a["id"]] = app_facts(a)
        elif r.kind == LINEAGE_EVENT:
            self._note_run(p["event"])
        return True  # every record may change the snapshot (a run, a product, an application)

    def _note_run(self, event: dict[str, Any]) -> None:
        if _has_symlinks(event):
            self._job_facts.clear()
            self._refs.clear()
        run, job = event.get("run"), event.get("job")
        if not isinstance(job, dict):
            return
        iri = job_iri(job["namespace"], job["name"])
        self._dirty.add(iri)
        runs = self._runs.get(iri)
        if runs is None:
            runs = self._runs[iri] = JobRuns()
        run_id = run.get("runId") if isinstance(run, dict) else None
        if not isinstance(run_id, str):
            return  # a JobEvent: the job exists, no run
        time = parse_time(utc_datetime(event["eventTime"]))
        runs.note(run_id.lower(), time, str(event.get("eventType") or "OTHER").upper())

    # ---------------------------------------------------------------- reading
    def runs_of(self, job: str) -> list[str]:
        """The run IRIs of a job, the most recently created (earliest event) first."""
        with self._lock:
            runs = self._runs.get(job)
            created = list(runs.created()) if runs is not None else []
        return [iri for _, iri in sorted(((t, run_iri(key)) for t, key in created),
                                         reverse=True)]

    def latest_runs(self, jobs: Iterable[str]) -> dict[str, str]:
        """Per job with runs, its most recently created run's IRI (``runs_of(job)[0]``)."""
        out = {}
        with self._lock:
            for job in jobs:
                runs = self._runs.get(job)
                if runs:
                    out[job] = max(run_iri(key) for key in runs.newest())
        return out

    def graph(self) -> ProductLineage:
        """The current product lineage (an immutable snapshot; rebuilt after a change)."""
        with self._lock:
            if self._graph is None:
                self._graph = ProductLineage(Facts(dict(self._products), dict(self._apps),
                                                   self._jobs()))
            return self._graph

    def _jobs(self) -> dict[str, JobFacts]:
        stale = {iri for iri in self._runs if iri not in self._job_facts} | self._dirty
        lineage = self._lineage.lineage_of(stale)
        refs = self._refs

        def ref(canonical: str) -> DatasetRef:
            if canonical not in refs:
                locations = {normalize_location(*dataset_of(m))
                             for m in self._lineage.members(canonical)}
                refs[canonical] = DatasetRef(*dataset_of(canonical),
                                             frozenset(x for x in locations if x))
            return refs[canonical]

        for iri, lin in lineage.items():
            self._job_facts.pop(iri, None)
            if lin.version is None:
                continue
            runs = self._runs[iri]
            self._job_facts[iri] = JobFacts(
                *job_of(iri),
                tuple(ref(e.dataset) for e in lin.edges if e.direction == "in"),
                tuple(ref(e.dataset) for e in lin.edges if e.direction == "out"),
                len(runs), runs.last())
        self._dirty.clear()
        return dict(self._job_facts)


def _has_symlinks(event: dict[str, Any]) -> bool:
    datasets = [event.get("dataset"), *(event.get("inputs") or []),
                *(event.get("outputs") or [])]
    return any(isinstance(d, dict) and isinstance(d.get("facets"), dict)
               and "symlinks" in d["facets"] for d in datasets)


def _with_status(p: ProductFacts, status: str) -> ProductFacts:
    return replace(p, status=status)
