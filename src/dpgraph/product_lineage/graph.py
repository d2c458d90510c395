"""Product A feeds product B when a job reads a dataset materialising a representation of A and
writes one materialising a representation of B (current lineage: each job's latest version).

A product reading its own representation (bronze to gold inside one product) is no edge.
Deprecated and retired products keep their edges; nodes carry their ``lifecycleStatus``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from dpgraph.product_lineage.model import (
    DatasetRef,
    Facts,
    JobFacts,
    ProductFacts,
    RepFacts,
    RunFacts,
)

DIRECTIONS = ("upstream", "downstream", "both")


@dataclass(frozen=True)
class Attribution:
    """Which products (and so domains) a job works for, and how that was decided."""

    products: tuple[str, ...]
    domains: tuple[str, ...]
    by: str | None  # "declared" (lineage.jobs) | "namespace" (lineage.namespaces) | "output"

    @property
    def domain(self) -> str | None:
        return self.domains[0] if len(self.domains) == 1 else None


@dataclass(frozen=True)
class Touch:
    """A dataset a job read or wrote, with the representation it materialises."""

    dataset: DatasetRef
    product: str
    representation: str

    def to_json(self) -> dict[str, str]:
        return {"dataset": self.dataset.node_id, "namespace": self.dataset.namespace,
                "name": self.dataset.name, "product": self.product,
                "representation": self.representation}


@dataclass
class ProductEdge:
    source: str
    target: str
    jobs: dict[str, JobFacts] = field(default_factory=dict)
    reads: dict[tuple[str, str], Touch] = field(default_factory=dict)
    writes: dict[tuple[str, str], Touch] = field(default_factory=dict)


def run_json(run: RunFacts | None) -> dict[str, str] | None:
    if run is None:
        return None
    return {"runId": run.run_id, "time": run.time.isoformat().replace("+00:00", "Z"),
            "state": run.state}


class ProductLineage:
    """The product graph of one set of facts (immutable once built)."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._by_location: dict[str, list[tuple[ProductFacts, RepFacts]]] = {}
        for p in facts.products.values():
            for r in p.reps:
                if r.location:
                    self._by_location.setdefault(r.location, []).append((p, r))
        self._reps_of: dict[str, list[tuple[ProductFacts, RepFacts]]] = {}
        self._declaring: dict[str, list[ProductFacts]] = {}
        self._by_namespace: dict[str, list[ProductFacts]] = {}
        for p in facts.products.values():
            for iri in p.jobs:
                self._declaring.setdefault(iri, []).append(p)
            for ns in p.job_namespaces:
                self._by_namespace.setdefault(ns, []).append(p)
        self.attribution = {iri: self._attribute(iri, j) for iri, j in facts.jobs.items()}
        self.edges: dict[tuple[str, str], ProductEdge] = {}
        for iri, job in sorted(facts.jobs.items()):
            self._add_job(iri, job)

    # ------------------------------------------------------------ links
    def reps_of(self, ds: DatasetRef) -> list[tuple[ProductFacts, RepFacts]]:
        cached = self._reps_of.get(ds.node_id)  # the snapshot is immutable: compute once
        if cached is not None:
            return cached
        seen: dict[tuple[str, str], tuple[ProductFacts, RepFacts]] = {}
        for loc in sorted(ds.locations):
            for p, r in self._by_location.get(loc, ()):
                seen.setdefault((p.id, r.id), (p, r))
        found = self._reps_of[ds.node_id] = [seen[k] for k in sorted(seen)]
        return found

    def _attribute(self, iri: str, job: JobFacts) -> Attribution:
        for by, chosen in (
                ("declared", self._declaring.get(iri, [])),
                ("namespace", self._by_namespace.get(job.namespace, [])),
                ("output", [p for ds in job.outputs for p, _ in self.reps_of(ds)])):
            if chosen:
                ids = sorted({p.id for p in chosen})
                domains = sorted({p.domain for p in chosen if p.domain})
                return Attribution(tuple(ids), tuple(domains), by)
        return Attribution((), (), None)

    def _add_job(self, iri: str, job: JobFacts) -> None:
        reads = [Touch(ds, p.id, r.id) for ds in job.inputs for p, r in self.reps_of(ds)]
        writes = [Touch(ds, p.id, r.id) for ds in job.outputs for p, r in self.reps_of(ds)]
        for w in writes:
            for r in reads:
                if r.product == w.product:
                    continue
                edge = self.edges.setdefault((r.product, w.product),
                                             ProductEdge(r.product, w.product))
                edge.jobs[iri] = job
                edge.reads[(r.dataset.node_id, r.representation)] = r
                edge.writes[(w.dataset.node_id, w.representation)] = w

    # ------------------------------------------------------------ reading
    def domain_of(self, product: str) -> str | None:
        p = self.facts.products.get(product)
        return p.domain if p else None

    def node_json(self, product: str) -> dict[str, Any]:
        p = self.facts.products[product]
        return {"id": p.id, "domain": p.domain, "lifecycleStatus": p.status,
                "sourceApplication": p.source_application}

    def job_json(self, iri: str, job: JobFacts) -> dict[str, Any]:
        a = self.attribution[iri]
        return {"id": job.node_id, "namespace": job.namespace, "name": job.name,
                "domain": a.domain, "domains": list(a.domains),
                "attributedTo": list(a.products), "attributedBy": a.by,
                "lastRun": run_json(job.last_run), "runCount": job.run_count}

    def edge_json(self, e: ProductEdge) -> dict[str, Any]:
        runs = [j.last_run for j in e.jobs.values() if j.last_run is not None]
        last = max(runs, key=lambda r: (r.time, r.run_id)) if runs else None
        source, target = self.domain_of(e.source), self.domain_of(e.target)
        return {"from": e.source, "to": e.target, "fromDomain": source, "toDomain": target,
                "crossesDomain": source != target,
                "jobs": [self.job_json(i, j) for i, j in sorted(e.jobs.items())],
                "lastRun": run_json(last),
                "runCount": sum(j.run_count for j in e.jobs.values()),
                "reads": [t.to_json() for _, t in sorted(e.reads.items())],
                "writes": [t.to_json() for _, t in sorted(e.writes.items())]}


def neighbourhood(g: ProductLineage, product: str, direction: str, depth: int
                  ) -> dict[str, Any]:
    """The products within ``depth`` edges of ``product``, upstream, downstream or both
    (each walked on its own: siblings reached by going up then down are not included)."""
    upstream: dict[str, list[str]] = {}
    downstream: dict[str, list[str]] = {}
    for a, b in g.edges:
        downstream.setdefault(a, []).append(b)
        upstream.setdefault(b, []).append(a)
    nodes = {product}
    edges: set[tuple[str, str]] = set()
    walks = [(upstream, True), (downstream, False)]
    if direction != "both":
        walks = [walks[0] if direction == "upstream" else walks[1]]
    for adjacency, up in walks:
        seen = {product: 0}
        frontier = deque([product])
        while frontier:
            current = frontier.popleft()
            if seen[current] >= depth:
                continue
            for other in sorted(adjacency.get(current, ())):
                edges.add((other, current) if up else (current, other))
                if other not in seen:
                    seen[other] = seen[current] + 1
                    frontier.append(other)
        nodes.update(seen)
    return {"product": product, "direction": direction, "depth": depth,
            "nodes": [g.node_json(p) for p in sorted(nodes)],
            "edges": [g.edge_json(g.edges[k]) for k in sorted(edges)]}


def dependency_matrix(g: ProductLineage) -> dict[str, Any]:
    """Rows: consuming domain; columns: producing domain; each cell the product edges between
    them. Edges touching a product without a domain are counted apart."""
    cells: dict[tuple[str, str], list[ProductEdge]] = {}
    unassigned: list[ProductEdge] = []
    for key in sorted(g.edges):
        e = g.edges[key]
        consumer, producer = g.domain_of(e.target), g.domain_of(e.source)
        if consumer is None or producer is None:
            unassigned.append(e)
        else:
            cells.setdefault((consumer, producer), []).append(e)
    domains = sorted({d for pair in cells for d in pair})
    return {
        "consumers": sorted({c for c, _ in cells}),
        "producers": sorted({p for _, p in cells}),
        "domains": domains,
        "matrix": {c: {p: len(cells[(c, p)]) for cc, p in sorted(cells) if cc == c}
                   for c in sorted({c for c, _ in cells})},
        "cells": [{"consumer": c, "producer": p, "crossesDomain": c != p,
                   "edges": len(es),
                   "products": [{"from": e.source, "to": e.target} for e in es],
                   "jobs": sorted({j.node_id for e in es for j in e.jobs.values()})}
                  for (c, p), es in sorted(cells.items())],
        "withoutDomain": [{"from": e.source, "to": e.target} for e in unassigned],
    }
