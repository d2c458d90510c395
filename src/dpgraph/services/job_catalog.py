"""Per job, what its resource in the read API aggregates over all the job's events: first
and last eventTime, and per facet term the objects the latest event stating it gave.

Why in memory: a long-lived job has one event graph per run state (a daily dbt model has
thousands), and aggregating them per read took seconds per job (38 s for a page of five such
jobs at 1,000,000 events). The answers are the ones the SPARQL reads in
:class:`~dpgraph.services.lineage_entities.EntityReads` compute, taken from the quads the
mapping writes about jobs (:func:`~dpgraph.lineage.mapping.job_quads`), so the two cannot
drift apart. Fed by the projector like the other followers, loaded from the log at start-up,
cleared on a rebuild. Memory is per job (its latest facet values), not per event.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import Quad

from dpgraph import vocab as v
from dpgraph.lineage.mapping import event_kind_and_time, job_quads, utc_datetime
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.services.lineage_entities import JOB_FACET_TERMS, Props
from dpgraph.services.lineage_graph import parse_time
from dpgraph.services.log_follower import LogFollower
from dpgraph.services.projector import LINEAGE_EVENT

# The predicates a job resource reads (see LineageReader._jobs).
JOB_PROPS = frozenset({*(p.value for p in JOB_FACET_TERMS), v.HAS_OWNERSHIP.value,
                       v.PARENT_JOB.value})
_TYPE, _JOB = v.RDF_TYPE.value, v.JOB.value
_HAS_FACET, _FACET_NAME, _FACET = v.HAS_FACET.value, v.FACET_NAME.value, v.FACET.value


@dataclass(slots=True)
class JobHistory:
    first: dt.datetime  # the earliest eventTime of an event whose graph types the job
    last: dt.datetime  # the latest
    props: Props = field(default_factory=dict)  # predicate -> (latest time, objects then)
    raw: dict[str, tuple[dt.datetime, str]] = field(default_factory=dict)  # kept-raw facets

    def copy(self) -> JobHistory:
        return JobHistory(self.first, self.last,
                          {p: (t, list(objs)) for p, (t, objs) in self.props.items()},
                          dict(self.raw))


class JobCatalog(LogFollower):
    def _reset(self) -> None:
        super()._reset()
        self._jobs: dict[str, JobHistory] = {}

    def _apply(self, r: LogRecord) -> bool:
        if r.kind != LINEAGE_EVENT:
            return False
        p = r.payload
        return self._apply_quads(r, job_quads(
            p["event"], event_id=r.digest, invalid_facets=frozenset(p.get("invalidFacets", ()))))

    def _apply_quads(self, r: LogRecord, quads: list[Quad]) -> bool:
        """The event's job quads, or all its quads as the projector stored them: what
        ``_note`` reads of those is exactly what ``job_quads`` gives
        (tests/test_job_catalog.py checks it), so the job part is not mapped a second time."""
        _, event_time = event_kind_and_time(r.payload["event"])
        self._note(quads, parse_time(utc_datetime(event_time)))
        return False

    def _note(self, quads: list[Quad], time: dt.datetime) -> None:
        # One pass reading each predicate once: pyoxigraph builds a new str per ``.value``.
        jobs: set[str] = set()
        names: dict[str, str] = {}
        texts: dict[str, str] = {}
        about: list[tuple[str, str, Quad]] = []  # what may be a job's: props and facets
        for q in quads:
            pred = q.predicate.value
            if pred == _TYPE:
                if q.object.value == _JOB:
                    jobs.add(q.subject.value)
            elif pred == _FACET_NAME:
                names[q.subject.value] = q.object.value
            elif pred == _FACET:
                texts[q.subject.value] = q.object.value
            if pred in JOB_PROPS or pred == _HAS_FACET:
                about.append((q.subject.value, pred, q))
        for job in jobs:
            facts = self._jobs.get(job)
            if facts is None:
                self._jobs[job] = JobHistory(time, time)
            else:
                facts.first, facts.last = min(facts.first, time), max(facts.last, time)
        for subject, pred, q in about:
            if subject not in jobs:
                continue
            facts = self._jobs[subject]
            if pred == _HAS_FACET:
                node = q.object.value
                name, key = names[node], (time, texts[node])
                if name not in facts.raw or key > facts.raw[name]:
                    facts.raw[name] = key
            else:
                slot = facts.props.get(pred)
                if slot is None or time > slot[0]:
                    facts.props[pred] = (time, [q.object])
                elif time == slot[0] and q.object not in slot[1]:
                    slot[1].append(q.object)

    def facts(self, jobs: Iterable[str]) -> dict[str, JobHistory]:
        """Copies of the facts of the jobs known (a job no event typed is left out)."""
        with self._lock:
            return {j: self._jobs[j].copy() for j in jobs if j in self._jobs}


def raw_facets(facts: JobHistory) -> dict[str, tuple[dt.datetime, Any]]:
    """The kept-raw facets as :meth:`EntityReads.raw_facets` gives them."""
    return {name: (t, json.loads(text)) for name, (t, text) in facts.raw.items()}
