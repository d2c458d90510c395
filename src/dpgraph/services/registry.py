"""Registration service: the one write path for products and reference entities.

validate (form, then SHACL with context) → append to the durable log → project into the
graph. A refused registration never reaches the log, so it changes nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import Triple

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.errors import Conflict, InvalidRegistration, NotFound
from dpgraph.log.sqlite_log import LogRecord, NewRecord, SqliteLog, digest_of
from dpgraph.mapping.catalog import catalog_to_rdf
from dpgraph.mapping.product import MappedGraph, product_to_rdf
from dpgraph.services.context import fetch_context, referenced_nodes
from dpgraph.services.projection_worker import ProjectionWorker
from dpgraph.services.projector import (
    CATALOG_REGISTERED,
    PRODUCT_DEPRECATED,
    PRODUCT_REGISTERED,
)
from dpgraph.store.base import GraphStore
from dpgraph.validation.gate import (
    RegistrationGate,
    Report,
    catalog_form_findings,
    product_form_findings,
)


@dataclass
class Outcome:
    """What a registration did; rendered by the API and the CLI."""

    id: str
    accepted: bool
    dry_run: bool
    report: Report
    offset: int | None = None
    unchanged: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "accepted": self.accepted,
            "dryRun": self.dry_run,
            "unchanged": self.unchanged,
            "logOffset": self.offset,
            **self.extra,
            **self.report.as_dict(),
        }


class Registry:
    def __init__(self, store: GraphStore, log: SqliteLog, gate: RegistrationGate,
                 projection: ProjectionWorker) -> None:
        self._store = store
        self._log = log
        self._gate = gate
        self._projection = projection
        # Offset of the last metamodel write: validation and metamodel reads wait for the
        # graph to reach it, not for whatever else (lineage) the log holds beyond.
        self._last_write = 0
        # One writer at a time: validation context and the write must see the same state.
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------------ writes
    def register_product(self, d: ProductDescriptor, *, dry_run: bool = False) -> Outcome:
        with self._write_lock:
            mapped = product_to_rdf(d)
            report = self._gate_product(d, mapped)
            outcome = Outcome(d.id, report.conforms, dry_run, report)
            if not report.conforms:
                raise _refusal(f"product {d.id!r} was refused", report)
            payload = {"descriptor": d.model_dump(mode="json", exclude_none=True)}
            if self._is_current(d.id, mapped):
                outcome.unchanged = True
                outcome.offset = self._log.latest("product.", d.id).offset  # type: ignore[union-attr]
                return outcome
            if not dry_run:
                outcome.offset = self._write(NewRecord(PRODUCT_REGISTERED, d.id, payload),
                                             mapped.triples)
            return outcome

    def register_catalog(self, c: CatalogDescriptor, *, dry_run: bool = False) -> Outcome:
        with self._write_lock:
            report = Report()
            report.extend(catalog_form_findings(c))
            entities = catalog_to_rdf(c)
            merged = MappedGraph()
            for e in entities:
                merged.triples += e.mapped.triples
                merged.field_paths.update(e.mapped.field_paths)
            if report.conforms:
                self._sync()
                context = fetch_context(self._store, referenced_nodes(
                    merged.triples, set(merged.field_paths)))
                shacl = self._gate.check_catalog(merged, context)
                report.extend([*shacl.violations, *shacl.warnings])
            counts = {k: sum(1 for e in entities if e.kind == k) for k in
                      ("domain", "owner", "application", "term", "classification",
                       "reference-list")}
            outcome = Outcome("catalog", report.conforms, dry_run, report,
                              extra={"entities": counts})
            if not report.conforms:
                raise _refusal("catalog was refused", report)
            payload = {"catalog": c.model_dump(mode="json", exclude_none=True)}
            current = self._latest(CATALOG_REGISTERED, "catalog")
            if current is not None and current.digest == digest_of(payload):
                outcome.unchanged, outcome.offset = True, current.offset
            elif not dry_run:
                outcome.offset = self._write(NewRecord(CATALOG_REGISTERED, "catalog", payload))
            return outcome

    def deprecate(self, product_id: str, *, reason: str | None, successor: str | None,
                  status: str = "deprecated") -> Outcome:
        with self._write_lock:
            self.current_descriptor(product_id)  # 404 when unknown
            if successor is not None and self._latest(PRODUCT_REGISTERED, successor) is None:
                raise NotFound(f"successor product {successor!r} is not registered")
            if status not in ("deprecated", "retired"):
                raise Conflict(f"status {status!r}: deprecation sets deprecated or retired")
            payload = {"id": product_id, "reason": reason, "successor": successor,
                       "status": status}
            offset = self._write(NewRecord(PRODUCT_DEPRECATED, product_id,
                                           {k: x for k, x in payload.items() if x is not None}))
            return Outcome(product_id, True, False, Report(), offset=offset)

    # ------------------------------------------------------------------ reads
    def list_products(self) -> list[dict[str, Any]]:
        self._sync()
        rows = self._store.select(f"""{v.sparql_prefixes()}
            SELECT ?id ?name ?domain ?owner ?status ?version ?registered WHERE {{
                ?p a dpg:DataProduct ; dct:identifier ?id ; dprod:lifecycleStatus ?s .
                ?s skos:notation ?status .
                OPTIONAL {{ ?p dct:title ?name }}
                OPTIONAL {{ ?p dprod:domain/dct:identifier ?domain }}
                OPTIONAL {{ ?p dprod:dataProductOwner/dct:identifier ?owner }}
                OPTIONAL {{ ?p dcat:version ?version }}
                OPTIONAL {{ ?p dpg:registeredAt ?registered }}
            }} ORDER BY ?id""")
        keys = ("id", "name", "domain", "owner", "status", "version", "registered")
        return [{k: (row[k].value if row[k] is not None else None) for k in keys}
                for row in rows]

    def current_descriptor(self, product_id: str) -> dict[str, Any]:
        record = self._latest(PRODUCT_REGISTERED, product_id)
        if record is None:
            raise NotFound(f"product {product_id!r} is not registered")
        doc = dict(record.payload["descriptor"])
        status = self._status(product_id)
        if status is not None:
            doc["lifecycleStatus"] = status
        return doc

    def product_graph(self, product_id: str) -> list[Triple]:
        self.current_descriptor(product_id)  # 404 when unknown; waits for the projection
        return self._store.graph_triples(iris.product_graph(product_id))

    def versions(self, product_id: str) -> list[dict[str, Any]]:
        history = self._log.history("product.", product_id)
        if not history:
            raise NotFound(f"product {product_id!r} is not registered")
        return [_version_entry(r) for r in history]

    def version(self, product_id: str, offset: int) -> dict[str, Any]:
        record = self._log.get(offset)
        if record is None or record.key != product_id or record.kind != PRODUCT_REGISTERED:
            raise NotFound(f"product {product_id!r} has no registration at log offset {offset}")
        return {**_version_entry(record), "descriptor": record.payload["descriptor"]}

    def catalog(self) -> dict[str, Any]:
        merged: dict[str, dict[str, Any]] = {}
        for record in self._log.history(CATALOG_REGISTERED, "catalog"):
            for key, items in record.payload["catalog"].items():
                if isinstance(items, list):
                    for item in items:
                        merged.setdefault(key, {})[item["id"]] = item
        return {key: list(items.values()) for key, items in merged.items()}

    def offsets(self) -> dict[str, int]:
        return {"log": self._log.head(), "projected": self._projection.projected}

    # ------------------------------------------------------------------ internals
    def _gate_product(self, d: ProductDescriptor, mapped: MappedGraph) -> Report:
        report = Report()
        report.extend(product_form_findings(d))
        if report.conforms:
            self._sync()
            own = set(mapped.field_paths)
            context = fetch_context(self._store, referenced_nodes(mapped.triples, own))
            shacl = self._gate.check_product(mapped, context)
            report.extend(shacl.violations)
            report.extend(shacl.warnings)
        return report

    def _write(self, record: NewRecord, prepared: list[Triple] | None = None) -> int:
        """Commit to the log (durable when this returns), then hand over to the projection."""
        (written,) = self._log.append([record])
        self._last_write = written.offset
        self._projection.submit(written.offset, prepared)
        return written.offset

    def _sync(self) -> None:
        """Wait until the graph holds every metamodel write acknowledged so far."""
        self._projection.wait_for(self._last_write)

    def _latest(self, kind: str, key: str) -> LogRecord | None:
        latest = self._log.latest(kind, key)
        return latest if latest is not None and latest.kind == kind else None

    def _is_current(self, product_id: str, mapped: MappedGraph) -> bool:
        """Same graph as the current registration (RDF has no list order, so a Turtle
        round trip of a YAML registration is unchanged), and not deprecated since."""
        latest = self._log.latest("product.", product_id)
        if latest is None or latest.kind != PRODUCT_REGISTERED:
            return False
        current = ProductDescriptor.model_validate(latest.payload["descriptor"])
        return set(product_to_rdf(current).triples) == set(mapped.triples)

    def _status(self, product_id: str) -> str | None:
        self._sync()
        rows = list(self._store.select(f"""{v.sparql_prefixes()}
            SELECT ?status WHERE {{
                GRAPH <{iris.product_graph(product_id).value}> {{
                    <{iris.product(product_id).value}> dprod:lifecycleStatus ?s }}
                ?s skos:notation ?status }}"""))
        return rows[0]["status"].value if rows else None


def _version_entry(r: LogRecord) -> dict[str, Any]:
    entry: dict[str, Any] = {"logOffset": r.offset, "event": r.kind, "recordedAt": r.recorded_at,
                             "digest": r.digest}
    if r.kind == PRODUCT_REGISTERED:
        entry["version"] = r.payload["descriptor"].get("version")
    else:
        entry.update({k: x for k, x in r.payload.items() if k != "id"})
    return entry


def _refusal(detail: str, report: Report) -> InvalidRegistration:
    return InvalidRegistration(
        f"{detail}: {len(report.violations)} violation(s); see errors",
        errors=[*report.violations, *report.warnings])
