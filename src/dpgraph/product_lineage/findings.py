"""Principle findings read off product lineage (pure functions of a :class:`ProductLineage`).

- ``cross-domain-raw-read`` (principle 2): a job attributed to domain X reads a dataset
  materialising a representation of a product of domain Y != X that is bronze, or served only
  through private-raw output ports.
- ``golden-source-bypass`` (principle 1): see :func:`capture_sources`. A product P with a
  declared ``sourceApplication`` S is flagged when one of its capture sources comes from an
  application other than S (``reason: other-application``), or when S declares lineage
  (namespaces or datasets in the catalog), P has capture sources and none comes from S
  (``reason: golden-source-not-reached``).
- ``ownerless-dataset``: a dataset some job currently reads or writes that materialises no
  registered representation: nobody owns it.
"""

from __future__ import annotations

from dpgraph.findings.model import Finding
from dpgraph.lineage.naming import normalize_uri
from dpgraph.product_lineage.graph import ProductLineage
from dpgraph.product_lineage.model import AppFacts, DatasetRef, ProductFacts

KINDS = ("cross-domain-raw-read", "golden-source-bypass", "ownerless-dataset")


def cross_domain_raw_reads(g: ProductLineage) -> list[Finding]:
    out: list[Finding] = []
    for iri, job in sorted(g.facts.jobs.items()):
        a = g.attribution[iri]
        for ds in job.inputs:
            for p, r in g.reps_of(ds):
                if not r.raw or p.domain is None:
                    continue
                for domain in a.domains:
                    if domain == p.domain:
                        continue
                    readers = [x for x in a.products if g.domain_of(x) == domain]
                    why = "bronze" if r.layer == "bronze" else "served only through private-raw"
                    out.append(Finding(
                        "cross-domain-raw-read", "error",
                        f"job {job.namespace}:{job.name} of domain {domain} reads {ds.node_id}, "
                        f"the {why} representation {r.id} of {p.id} (domain {p.domain})",
                        job.node_id, readers[0] if len(readers) == 1 else None, domain,
                        {"job": job.node_id, "jobDomain": domain, "attributedTo": readers,
                         "attributedBy": a.by, "dataset": ds.node_id, "representation": r.id,
                         "storageLayer": r.layer, "privateOnly": r.private_only,
                         "sourceProduct": p.id, "sourceDomain": p.domain,
                         "products": sorted({*readers, p.id}),
                         "domains": sorted({domain, p.domain})}))
    return out


class AppIndex:
    """Which catalog applications claim a dataset, by location or by namespace."""

    def __init__(self, apps: dict[str, AppFacts]) -> None:
        self._by_location: dict[str, list[AppFacts]] = {}
        self._by_namespace: dict[str, list[AppFacts]] = {}
        for app in sorted(apps.values(), key=lambda x: x.id):
            for loc in app.locations:
                self._by_location.setdefault(loc, []).append(app)
            for ns in app.namespaces:
                self._by_namespace.setdefault(ns, []).append(app)

    def of(self, ds: DatasetRef, prefer: str | None = None) -> AppFacts | None:
        """The application a dataset comes from: one listing its location, else its
        namespace; ``prefer`` (the golden source) wins when several claim it."""
        by_location = [a for loc in ds.locations for a in self._by_location.get(loc, ())]
        claims = by_location or self._by_namespace.get(normalize_uri(ds.namespace), [])
        if not claims:
            return None
        return min(claims, key=lambda a: (a.id != prefer, a.id))


class CaptureWalk:
    """What :func:`capture_sources` walks, built once per product graph."""

    def __init__(self, g: ProductLineage) -> None:
        self.g = g
        self.apps = AppIndex(g.facts.apps)
        self.writers: dict[str, list[str]] = {}
        datasets: dict[str, DatasetRef] = {}
        for iri, job in g.facts.jobs.items():
            for ds in job.outputs:
                self.writers.setdefault(ds.node_id, []).append(iri)
                datasets[ds.node_id] = ds
            for ds in job.inputs:
                datasets[ds.node_id] = ds
        self.of_product: dict[str, list[DatasetRef]] = {}
        for ds in datasets.values():
            for pid in dict.fromkeys(q.id for q, _ in g.reps_of(ds)):
                self.of_product.setdefault(pid, []).append(ds)


def capture_sources(g: ProductLineage, p: ProductFacts,
                    walk: CaptureWalk | None = None) -> list[DatasetRef]:
    """Where P's data is captured from: walking up from the datasets of P's representations
    through the jobs that currently write them, across P's own representations and datasets
    of no product, to datasets no job writes or that come from a catalog application. Another
    product's representation ends the walk (consuming a product is no capture) unless an
    application claims it: then it is that application's raw data, read directly."""
    walk = walk or CaptureWalk(g)
    writers = walk.writers
    start = walk.of_product.get(p.id, [])
    seen = {ds.node_id for ds in start}
    frontier = list(start)
    sources: dict[str, DatasetRef] = {}
    while frontier:
        ds = frontier.pop()
        for iri in writers.get(ds.node_id, ()):
            for inp in g.facts.jobs[iri].inputs:
                if inp.node_id in seen:
                    continue
                seen.add(inp.node_id)
                attributed = walk.apps.of(inp, p.source_application)
                if attributed is None and {q.id for q, _ in g.reps_of(inp)} - {p.id}:
                    continue  # another product's data: a product input, not a capture
                if attributed is not None or inp.node_id not in writers:
                    sources[inp.node_id] = inp
                else:
                    frontier.append(inp)
    return [sources[k] for k in sorted(sources)]


def golden_source_bypasses(g: ProductLineage) -> list[Finding]:
    out: list[Finding] = []
    apps = g.facts.apps
    walk = CaptureWalk(g)
    readers: dict[str, list[str]] = {}  # dataset -> jobs reading it
    for job in g.facts.jobs.values():
        for ds in job.inputs:
            readers.setdefault(ds.node_id, []).append(job.node_id)
    for pid, p in sorted(g.facts.products.items()):
        golden = p.source_application
        if golden is None:
            continue
        sources = capture_sources(g, p, walk)
        if not sources:
            continue
        origin = {ds.node_id: walk.apps.of(ds, golden) for ds in sources}
        others = {k: a.id for k, a in origin.items() if a is not None and a.id != golden}
        reached = any(a is not None and a.id == golden for a in origin.values())
        declared = golden in apps and apps[golden].declares_lineage
        if others:
            reason = "other-application"
            summary = (f"{pid} captures {', '.join(sorted(others))} from "
                       f"{', '.join(sorted(set(others.values())))}, not from its golden source "
                       f"{golden}")
        elif declared and not reached:
            reason = "golden-source-not-reached"
            summary = (f"none of the data {pid} captures ({', '.join(origin)}) comes from its "
                       f"golden source {golden}")
        else:
            continue
        app_domains = {a.domain for a in origin.values() if a is not None and a.domain}
        out.append(Finding(
            "golden-source-bypass", "warning", summary, f"product:{pid}", pid, p.domain,
            {"reason": reason, "sourceApplication": golden,
             "captureSources": [{"dataset": k, "application": a.id if a else None}
                                for k, a in origin.items()],
             "jobs": sorted({j for k in origin for j in readers.get(k, ())}),
             "products": [pid],
             "domains": sorted({*app_domains, *([p.domain] if p.domain else [])})}))
    return out


def ownerless_datasets(g: ProductLineage) -> list[Finding]:
    readers: dict[str, list[str]] = {}
    writers: dict[str, list[str]] = {}
    datasets: dict[str, DatasetRef] = {}
    for iri, job in sorted(g.facts.jobs.items()):
        for side, table in ((job.inputs, readers), (job.outputs, writers)):
            for ds in side:
                if not g.reps_of(ds):
                    datasets[ds.node_id] = ds
                    table.setdefault(ds.node_id, []).append(iri)
    out: list[Finding] = []
    for key, ds in sorted(datasets.items()):
        write, read = writers.get(key, []), readers.get(key, [])
        products = sorted({x for i in write + read for x in g.attribution[i].products})
        domains = sorted({d for i in write + read for d in g.attribution[i].domains})
        writer_domains = sorted({d for i in write for d in g.attribution[i].domains})
        near = writer_domains or domains
        out.append(Finding(
            "ownerless-dataset", "warning",
            f"{key} is {'written' if write else 'read'} by "
            f"{', '.join(g.facts.jobs[i].node_id for i in write or read)} but materialises no "
            "registered representation: no product owns it",
            key, products[0] if len(products) == 1 else None,
            near[0] if len(near) == 1 else None,
            {"dataset": key, "namespace": ds.namespace, "name": ds.name,
             "writtenBy": [g.facts.jobs[i].node_id for i in write],
             "readBy": [g.facts.jobs[i].node_id for i in read],
             "products": products, "domains": domains}))
    return out


def principle_findings(g: ProductLineage) -> list[Finding]:
    return [*cross_domain_raw_reads(g), *golden_source_bypasses(g), *ownerless_datasets(g)]
