"""The in-memory column-flow index: a projection of the log for classification propagation
and schema drift, a projector follower like :mod:`dpgraph.services.join_index`.

It keeps, from the log:

- per (job, output dataset) the column derivations of its latest event carrying a
  columnLineage facet (latest by eventTime, then log order): a job that changes what it
  derives replaces its earlier derivations, so the flow follows the *current* jobs;
- the latest schema facet of each output dataset with the run that showed it;
- per registered product its elements' classifications and its representations' attributes
  at their normalised locations; the catalog's classification ranks;
- symlinks aliases, as two-way edges between the same column of both names.

Labels seeded at registered columns flow over the derivations that carry them
(:class:`~dpgraph.propagation.flow.LabelFlow`). Every link is by normalised location and
lower-case column name, kept at the level the log states it, so registering a product
before or after its lineage arrives gives the same answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from dpgraph.findings.model import Finding
from dpgraph.lineage.naming import normalize_uri
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.propagation.derivations import (
    Column,
    Derivation,
    EventColumns,
    RunRef,
    event_columns,
)
from dpgraph.propagation.drift import compare_schema
from dpgraph.propagation.flow import LabelFlow
from dpgraph.services.log_follower import LogFollower

PRODUCT_REGISTERED = "product.registered"
PRODUCT_DEPRECATED = "product.deprecated"
CATALOG_REGISTERED = "catalog.registered"
LINEAGE_EVENT = "lineage.event"
BUILT_IN_RANKS = {"public": 0, "internal": 1, "confidential": 2, "pii": 3}
SYMLINK = "SYMLINK"

Job = tuple[str, str] | None
SortKey = tuple[Any, int]  # (event time, log offset)
Seed = tuple[Column, str, tuple[str, str, str, str]]  # column, label, (product, element, rep, attr)


@dataclass(frozen=True, slots=True)
class RepView:
    id: str
    location: str
    normalized: str
    attributes: tuple[dict[str, Any], ...]  # {name, type, element}


@dataclass(frozen=True, slots=True)
class ProductView:
    id: str
    domain: str | None
    status: str
    labels: dict[str, str]  # element -> classification
    reps: tuple[RepView, ...]


@dataclass(frozen=True, slots=True)
class ObservedSchema:
    key: SortKey
    run: RunRef
    name: tuple[str, str]
    columns: tuple[tuple[str, str | None], ...]


def product_view(d: dict[str, Any]) -> ProductView:
    reps = tuple(RepView(r["id"], r.get("location") or "", normalize_uri(r.get("location") or ""),
                         tuple(r.get("attributes", []))) for r in d.get("representations", []))
    return ProductView(d["id"], d.get("domain"), d.get("lifecycleStatus", "active"),
                       {e["name"]: e["classification"] for e in d.get("elements", [])
                        if e.get("classification")}, reps)


def seeds_of(view: ProductView) -> set[Seed]:
    out: set[Seed] = set()
    for rep in view.reps:
        if not rep.normalized:
            continue
        for a in rep.attributes:
            label = view.labels.get(a.get("element") or "")
            if label:
                out.add(((rep.normalized, str(a["name"]).lower()), label,
                         (view.id, a["element"], rep.id, a["name"])))
    return out


class ColumnFlowIndex(LogFollower):
    def _reset(self) -> None:
        super()._reset()
        self._flow = LabelFlow()
        self._derived: dict[str, dict[Job, tuple[SortKey, tuple[Derivation, ...]]]] = {}
        self._schemas: dict[str, ObservedSchema] = {}
        self._aliases: dict[str, set[str]] = {}
        self._columns_at: dict[str, set[str]] = {}
        self._products: dict[str, ProductView] = {}
        self._seeds: dict[str, set[Seed]] = {}
        self._ranks: dict[str, int] = dict(BUILT_IN_RANKS)

    # ---------------------------------------------------------------- feeding
    def _apply(self, r: LogRecord) -> bool:
        p = r.payload
        if r.kind == LINEAGE_EVENT:
            self._lineage(event_columns(p["event"]), r.offset)
        elif r.kind == PRODUCT_REGISTERED:
            view = product_view(p["descriptor"])
            self._products[view.id] = view
            self._reseed(view.id, seeds_of(view))
        elif r.kind == PRODUCT_DEPRECATED:
            view = self._products.get(p["id"])
            if view is not None:
                self._products[view.id] = ProductView(view.id, view.domain,
                                                      p.get("status") or "deprecated",
                                                      view.labels, view.reps)
        elif r.kind == CATALOG_REGISTERED:
            for c in p["catalog"].get("classifications", []):
                self._ranks[c["id"]] = int(c["rank"])
        return False  # readers derive nothing cached from the state

    def _reseed(self, product: str, new: set[Seed]) -> None:
        old = self._seeds.get(product, set())
        for column, label, ref in old - new:
            self._flow.remove_seed(column, label, ref)
        for column, label, ref in new - old:
            self._ensure(column)
            self._flow.add_seed(column, label, ref)
        self._seeds[product] = new

    def _ensure(self, column: Column) -> None:
        """Know the column; give it its counterparts under every alias of its dataset."""
        location, name = column
        known = self._columns_at.setdefault(location, set())
        if name in known:
            return
        known.add(name)
        self._flow.node(column)
        for alias in self._aliases.get(location, ()):
            self._link_alias((alias, name), column)

    def _link_alias(self, a: Column, b: Column) -> None:
        self._ensure(a)
        for u, v in ((a, b), (b, a)):
            if not self._flow.has_edge(u, v):
                self._flow.add_edge(u, v)

    def _lineage(self, ec: EventColumns, offset: int) -> None:
        for location, aliases in ec.aliases:
            for alias in aliases:
                if alias in self._aliases.get(location, ()):
                    continue
                self._aliases.setdefault(location, set()).add(alias)
                self._aliases.setdefault(alias, set()).add(location)
                for x, y in ((location, alias), (alias, location)):
                    for name in list(self._columns_at.get(x, ())):
                        self._link_alias((y, name), (x, name))
        key: SortKey = (ec.time, offset)
        job: Job = ec.run.job
        for out in ec.outputs:
            if out.schema is not None:
                seen = self._schemas.get(out.dataset)
                if seen is None or key >= seen.key:
                    self._schemas[out.dataset] = ObservedSchema(key, ec.run, out.name,
                                                                out.schema)
            if out.derivations is None:
                continue
            by_job = self._derived.setdefault(out.dataset, {})
            previous = by_job.get(job)
            if previous is not None and key < previous[0]:
                continue  # an older run of the job, posted late: not its current lineage
            before = _carrying(previous[1]) if previous is not None else set()
            after = _carrying(out.derivations)
            by_job[job] = (key, out.derivations)
            for source, output in before - after:
                self._flow.remove_edge(source, output)
            for source, output in after - before:
                self._ensure(source)
                self._ensure(output)
                self._flow.add_edge(source, output)

    # ---------------------------------------------------------------- reading
    @property
    def offset(self) -> int:
        return self._offset

    def rank(self, label: str) -> int | None:
        return self._ranks.get(label)

    def product(self, product_id: str) -> ProductView | None:
        with self._lock:
            return self._products.get(product_id)

    def recompute(self) -> int:
        """The label fixpoint from scratch (what a rebuild ends with); labelled columns."""
        with self._lock:
            return self._flow.recompute()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return self._flow.stats()

    def columns(self, location: str) -> list[dict[str, Any]]:
        """Per column of a dataset (known to lineage, a schema or a registration): the labels
        flowing into it with the path of each, the registered labels, and the derivations
        of the current jobs that produce it (carrying a label or not)."""
        with self._lock:
            schema = self._schemas.get(location)
            names = set(self._columns_at.get(location, ()))
            names |= {n.lower() for n, _ in (schema.columns if schema else ())}
            derived: dict[str, list[dict[str, Any]]] = {}
            for job, (_, derivations) in sorted(self._derived.get(location, {}).items(),
                                               key=lambda x: x[0] or ("", "")):
                for d in derivations:
                    names.add(d.output[1])
                    derived.setdefault(d.output[1], []).append(_derivation_json(job, d))
            out = []
            for name in sorted(names):
                column = (location, name)
                labels = sorted(self._flow.labels(column),
                                key=lambda x: (-(self.rank(x) or -1), x))
                out.append({
                    "field": name,
                    "labels": [{"label": label, "rank": self.rank(label),
                                "path": self._path_json(column, label)} for label in labels],
                    "registered": [_seed_json(label, ref) for label, refs in
                                   sorted(self._flow.seeds_at(column).items())
                                   for ref in sorted(refs, key=str)],
                    "derivedFrom": derived.get(name, []),
                })
            return out

    def _path_json(self, column: Column, label: str) -> dict[str, Any]:
        path = self._flow.path(column, label)
        if not path:
            return {"source": None, "hops": []}
        refs = sorted(self._flow.seeds_at(path[0]).get(label, set()), key=str)
        hops = []
        for a, b in itertools.pairwise(path):
            hops.append({"from": {"dataset": a[0], "field": a[1]},
                         "to": {"dataset": b[0], "field": b[1]}, **self._via(a, b)})
        return {"source": _seed_json(label, refs[0]) if refs else None, "hops": hops}

    def _via(self, a: Column, b: Column) -> dict[str, Any]:
        for job, (_, derivations) in sorted(self._derived.get(b[0], {}).items(),
                                            key=lambda x: x[0] or ("", "")):
            for d in derivations:
                if d.propagates and d.source == a and d.output == b:
                    return {"job": None if job is None else {"namespace": job[0],
                                                             "name": job[1]},
                            "transformation": d.transformation}
        return {"job": None, "transformation": SYMLINK}

    def weaker_classifications(self) -> list[Finding]:
        """A finding per registered column whose element's label ranks below a label that
        flows into that column."""
        with self._lock:
            out = []
            for view in sorted(self._products.values(), key=lambda x: x.id):
                if view.status == "retired":
                    continue
                for rep in view.reps:
                    for a in rep.attributes:
                        finding = self._weaker(view, rep, a)
                        if finding is not None:
                            out.append(finding)
            return out

    def _weaker(self, view: ProductView, rep: RepView, a: dict[str, Any]) -> Finding | None:
        element = a.get("element")
        registered = view.labels.get(element or "")
        own = self.rank(registered) if registered else None
        if own is None or not rep.normalized:
            return None
        column = (rep.normalized, str(a["name"]).lower())
        stronger = sorted((label for label in self._flow.labels(column)
                           if (self.rank(label) or -1) > own),
                          key=lambda x: (-(self.rank(x) or 0), x))
        if not stronger:
            return None
        top = stronger[0]
        path = self._path_json(column, top)
        source = path["source"] or {}
        origin = (f"{source.get('product')}.{source.get('element')}" if source
                  else "an upstream column")
        return Finding(
            "weaker-classification", "warning",
            f"{view.id}.{element} is registered as {registered!r} but its column "
            f"{a['name']!r} of representation {rep.id!r} receives {top!r} from {origin} "
            f"({len(path['hops'])} derivation(s)).",
            f"column:{view.id}/{rep.id}/{a['name']}", view.id, view.domain,
            {"element": element, "representation": rep.id, "column": a["name"],
             "location": rep.location, "registered": {"label": registered, "rank": own},
             "flowing": [{"label": x, "rank": self.rank(x)} for x in stronger],
             "path": path})

    def drift(self, product_id: str) -> list[dict[str, Any]] | None:
        """Per representation linked to an observed output dataset: the latest schema facet
        against the registered attributes; None for an unknown product."""
        with self._lock:
            view = self._products.get(product_id)
            if view is None:
                return None
            out = []
            for rep in view.reps:
                if not rep.normalized:
                    continue
                for location in sorted({rep.normalized, *self._aliases.get(rep.normalized, ())}):
                    seen = self._schemas.get(location)
                    if seen is None:
                        continue
                    changes = compare_schema(seen.columns, list(rep.attributes))
                    run = seen.run.to_json()
                    out.append({
                        "representation": rep.id, "location": rep.location,
                        "dataset": {"namespace": seen.name[0], "name": seen.name[1],
                                    "location": location},
                        "run": run, "drifted": bool(changes),
                        "observed": [{"name": n, "type": t} for n, t in seen.columns],
                        "changes": [{**c.to_json(), "run": run} for c in changes]})
            return out

    def drift_findings(self) -> list[Finding]:
        with self._lock:
            products = sorted(self._products.values(), key=lambda x: x.id)
        out = []
        for view in products:
            if view.status == "retired":
                continue
            for item in self.drift(view.id) or []:
                if not item["drifted"]:
                    continue
                counts = {k: sum(1 for c in item["changes"] if c["change"] == k)
                          for k in ("added", "removed", "type-changed")}
                said = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
                ds = item["dataset"]
                out.append(Finding(
                    "schema-drift", "warning",
                    f"Representation {item['representation']!r} of {view.id} drifted from "
                    f"its registered attributes ({said}) in run {item['run']['runId']} of "
                    f"{ds['namespace']}/{ds['name']}.",
                    f"representation:{view.id}/{item['representation']}", view.id,
                    view.domain, {k: item[k] for k in ("representation", "location",
                                                       "dataset", "run", "changes")}))
        return out


def _carrying(derivations: tuple[Derivation, ...]) -> set[tuple[Column, Column]]:
    return {(d.source, d.output) for d in derivations if d.propagates}


def _derivation_json(job: Job, d: Derivation) -> dict[str, Any]:
    return {"dataset": d.source[0], "field": d.source[1],
            "job": None if job is None else {"namespace": job[0], "name": job[1]},
            "transformation": d.transformation, "masking": d.masking,
            "carriesLabels": d.propagates}


def _seed_json(label: str, ref: Hashable) -> dict[str, Any]:
    product, element, rep, attribute = ref  # type: ignore[misc]
    return {"label": label, "product": product, "element": element, "representation": rep,
            "column": attribute}
