"""The facts product lineage is computed from, and their extraction from log payloads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dpgraph.lineage.iris import job_iri
from dpgraph.lineage.naming import normalize_uri

# At the same time, a FAIL outranks an ABORT, which outranks a COMPLETE (as the queries do).
TERMINAL_RANK = {"COMPLETE": 0, "ABORT": 1, "FAIL": 2}


@dataclass(frozen=True)
class RepFacts:
    id: str
    location: str | None  # normalised (lineage/naming.py)
    layer: str | None  # bronze | silver | gold
    private_only: bool  # served, and only through private-raw output ports

    @property
    def raw(self) -> bool:
        return self.layer == "bronze" or self.private_only


@dataclass(frozen=True)
class ProductFacts:
    id: str
    domain: str | None
    status: str  # lifecycleStatus, updated by deprecation records
    source_application: str | None
    reps: tuple[RepFacts, ...]
    jobs: frozenset[str]  # job IRIs declared in lineage.jobs
    job_namespaces: frozenset[str]  # lineage.namespaces


@dataclass(frozen=True)
class AppFacts:
    """A catalog application and the lineage data that comes from it (optional)."""

    id: str
    domain: str | None
    namespaces: frozenset[str]  # OpenLineage dataset namespaces, normalised
    locations: frozenset[str]  # dataset locations, normalised

    @property
    def declares_lineage(self) -> bool:
        return bool(self.namespaces or self.locations)


@dataclass(slots=True)
class RunFacts:
    """One run as its events tell it: the latest terminal event decides its state (the
    index keeps runs compact and makes one of these on demand: product_lineage/runs.py)."""

    run_id: str
    last_time: dt.datetime
    last_type: str
    terminal: tuple[dt.datetime, int, str] | None = None  # (time, rank, type)
    first_time: dt.datetime | None = None  # its earliest event: when it was created

    @property
    def state(self) -> str:
        return self.terminal[2] if self.terminal else self.last_type

    @property
    def time(self) -> dt.datetime:
        return self.terminal[0] if self.terminal else self.last_time


@dataclass(frozen=True)
class DatasetRef:
    """A canonical lineage dataset with the normalised locations of it and its aliases."""

    namespace: str
    name: str
    locations: frozenset[str]
    node_id: str = field(init=False, compare=False, repr=False)  # hot in every walk

    def __post_init__(self) -> None:
        object.__setattr__(self, "node_id", f"dataset:{self.namespace}:{self.name}")


@dataclass(frozen=True)
class JobFacts:
    """A job's current inputs and outputs (its latest version) and its runs."""

    namespace: str
    name: str
    inputs: tuple[DatasetRef, ...]
    outputs: tuple[DatasetRef, ...]
    run_count: int
    last_run: RunFacts | None

    @property
    def node_id(self) -> str:
        return f"job:{self.namespace}:{self.name}"


@dataclass(frozen=True)
class Facts:
    products: dict[str, ProductFacts]
    apps: dict[str, AppFacts]
    jobs: dict[str, JobFacts] = field(default_factory=dict)  # by job IRI


def product_facts(d: dict[str, Any]) -> ProductFacts:
    """The facts of one registered descriptor (a log payload, already validated)."""
    ports: dict[str, list[str | None]] = {}
    for port in d.get("outputPorts") or []:
        if port.get("representation"):
            ports.setdefault(port["representation"], []).append(port.get("visibility"))
    reps = tuple(
        RepFacts(r["id"], normalize_uri(r["location"]) if r.get("location") else None,
                 r.get("storageLayer"),
                 bool(ports.get(r["id"])) and all(v == "private-raw" for v in ports[r["id"]]))
        for r in d.get("representations") or [])
    lineage = d.get("lineage") or {}
    return ProductFacts(
        d["id"], d.get("domain"), d.get("lifecycleStatus") or "active",
        d.get("sourceApplication"), reps,
        frozenset(job_iri(j["namespace"], j["name"]) for j in lineage.get("jobs") or []),
        frozenset(lineage.get("namespaces") or []))


def app_facts(a: dict[str, Any]) -> AppFacts:
    lineage = a.get("lineage") or {}
    return AppFacts(a["id"], a.get("domain"),
                    frozenset(normalize_uri(n) for n in lineage.get("namespaces") or []),
                    frozenset(normalize_uri(x) for x in lineage.get("datasets") or []))
