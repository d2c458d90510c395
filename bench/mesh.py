"""A generated data mesh for the query benchmarks: products, catalog and their lineage.

10,000 products (by default) over 50 business domains, each with 8 data elements (two of them
PII), a bronze and a gold representation whose locations are tables of the layered lineage DAG
of ``bench/lineage.py``, three declared join keys to other products' ``entity_id``, the job that
builds its gold table declared in ``lineage.jobs``; 5% of owners inactive, 10% of contracts
expired, 10% of products without quality rules. Lineage: one COMPLETE run per job of the DAG
(250,000 jobs give about 1,000,000 input/output edges) plus FAILed runs of 1% of the jobs in
the last day before ``NOW``; every output reports its schema (with drift in 2% of the gold
tables) and 5% of the jobs report column lineage (see :func:`output_facets`).

Records go straight into the log (the gate is not what these benchmarks measure, and 10,000
generated products are valid by construction); start-up projects them like any log.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lineage import (
    COLUMN_LINEAGE_URL,
    DS_NS,
    JOB_NS,
    LAYERS,
    SCHEMA_FACET_URL,
    WIDTH,
    Table,
    dataset,
    facet,
    generate,
    job_name,
    run_event,
    table_name,
)

from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.lineage.validation import EventValidator
from dpgraph.log.sqlite_log import NewRecord, SqliteLog
from dpgraph.services.lineage import to_record
from dpgraph.services.projector import CATALOG_REGISTERED, PRODUCT_REGISTERED

DOMAINS = 50
OWNERS = 500
APPLICATIONS = 100
JOIN_KEYS_PER_PRODUCT = 3
COLUMN_LINEAGE_SHARE = 0.05
NOW = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
ELEMENTS = [  # name, business term, classification
    ("entity_id", "entity-id", "internal"),
    ("customer_id", "customer-id", "pii"),
    ("email", "email-address", "pii"),
    ("amount", "amount", "confidential"),
    ("status", "status", "internal"),
    ("created_at", "creation-time", "internal"),
    ("region", "region", "public"),
    ("note", "free-text", "internal"),
]


def catalog() -> CatalogDescriptor:
    return CatalogDescriptor.model_validate({
        "domains": [{"id": f"dom-{d:02d}", "name": f"Domain {d}"} for d in range(DOMAINS)],
        "owners": [{"id": f"owner-{o:03d}", "name": f"Team {o}", "domain": f"dom-{o % DOMAINS:02d}",
                    "email": f"team{o}@example.org", "active": o % 20 != 7}
                   for o in range(OWNERS)],
        "applications": [{"id": f"app-{a:03d}", "name": f"Application {a}",
                          "domain": f"dom-{a % DOMAINS:02d}"} for a in range(APPLICATIONS)],
        "glossary": [{"id": term, "label": term.replace("-", " "),
                      "definition": f"The {term.replace('-', ' ')}.",
                      **({"identifierRole": "master-identifier"} if term == "customer-id" else
                         {"identifierRole": "identifier"} if term == "entity-id" else {})}
                     for term in sorted({t for _, t, _ in ELEMENTS})],
    })


def product_tables(p: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(bronze, gold) DAG tables of product ``p``: 16 products per lineage domain."""
    lineage_domain, k = divmod(p, 16)
    return (lineage_domain, 0, k), (lineage_domain, 2 + k, k)


def product(p: int, products: int, rng: random.Random) -> ProductDescriptor:
    pid = f"p{p:05d}"
    domain = f"dom-{p % DOMAINS:02d}"
    bronze, gold = product_tables(p)
    reps = [{
        "id": layer, "kind": "table", "location": f"{DS_NS}/{table_name(t)}",
        "format": "sql-table", "storageLayer": layer, "historization": "snapshot",
        "attributes": [{"name": name.upper(), "type": "varchar", "element": name}
                       for name, _, _ in ELEMENTS],
    } for layer, t in (("bronze", bronze), ("gold", gold))]
    targets = rng.sample([q for q in range(products) if q != p], JOIN_KEYS_PER_PRODUCT) \
        if products > JOIN_KEYS_PER_PRODUCT else []
    elements = [{"name": n, "businessTerm": t, "classification": c, "dataType": "string"}
                for n, t, c in ELEMENTS]
    elements += [{"name": f"ref_{q:05d}", "businessTerm": "entity-id",
                  "classification": "internal", "dataType": "string"} for q in targets]
    return ProductDescriptor.model_validate({
        "id": pid, "name": f"Product {p}", "version": "1.0.0",
        "description": f"Generated product {p} of {domain}.",
        "domain": domain, "owner": f"owner-{(p * 7) % OWNERS:03d}",
        "sourceApplication": f"app-{p % APPLICATIONS:03d}",
        "elements": elements,
        "representations": reps,
        "outputPorts": [{"id": "sql", "kind": "sql", "visibility": "public",
                         "representation": "gold"},
                        {"id": "raw", "kind": "sql", "visibility": "private-raw",
                         "representation": "bronze"}],
        "contract": {"version": "1.0.0", "refreshCycle": "P1D", "termsOfUse": "internal",
                     "validUntil": "2025-01-01" if p % 10 == 3 else "2030-01-01"},
        "qualityRules": [] if p % 10 == 5 else [
            {"id": "complete", "element": "entity_id", "metric": "completeness",
             "threshold": 0.99}],
        "joinKeys": [{"element": f"ref_{q:05d}",
                      "references": {"product": f"p{q:05d}", "element": "entity_id"}}
                     for q in targets],
        "lineage": {"jobs": [{"namespace": JOB_NS, "name": job_name(gold)}]},
    })


def product_of_gold(t: Table, products: int) -> int | None:
    """The product whose gold table ``t`` is (see :func:`product_tables`), if any."""
    d, layer, i = t
    p = d * 16 + i
    return p if layer == 2 + i and i < 16 and p < products else None


def output_facets(t: Table, inputs: list[Table], products: int, rng: random.Random
                  ) -> dict[str, Any]:
    """Every output reports its schema: the element columns, typed as registered, except
    drift in 2% of the products' gold tables (``amount`` retyped in 1%; ``note`` dropped and
    ``loaded_at`` added in another 1%). 5% of the jobs also report column lineage: each
    column taken (IDENTITY) from the same column of the job's first input."""
    p = product_of_gold(t, products)
    fields = [{"name": name, "type": "varchar"} for name, _, _ in ELEMENTS]
    if p is not None and p % 100 == 17:
        fields = [{**f, "type": "decimal(18,2)"} if f["name"] == "amount" else f for f in fields]
    if p is not None and p % 100 == 42:
        fields = [f for f in fields if f["name"] != "note"]
        fields.append({"name": "loaded_at", "type": "timestamp"})
    facets: dict[str, Any] = {"schema": facet(SCHEMA_FACET_URL, fields=fields)}
    if rng.random() < COLUMN_LINEAGE_SHARE:
        source = table_name(inputs[0])
        facets["columnLineage"] = facet(COLUMN_LINEAGE_URL, fields={
            f["name"]: {"inputFields": [{
                "namespace": DS_NS, "name": source, "field": f["name"],
                "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}
            for f in fields if f["name"] != "loaded_at"})
    return facets


def lineage_events(jobs: int, products: int, rng: random.Random
                   ) -> Iterator[dict[str, Any]]:
    dag = generate(jobs, rng)
    for n, job in enumerate(dag):
        yield run_event(rng, n, job_name(job.output),
                        [dataset(table_name(t)) for t in job.inputs],
                        [dataset(table_name(job.output),
                                 output_facets(job.output, job.inputs, products, rng))])
    for n, job in enumerate(rng.sample(dag, max(1, len(dag) // 100))):
        event = run_event(rng, n, job_name(job.output),
                          [dataset(table_name(t)) for t in job.inputs],
                          [dataset(table_name(job.output),
                                   output_facets(job.output, job.inputs, products, rng))])
        event["eventType"] = "FAIL"
        at = NOW - dt.timedelta(hours=rng.uniform(0, 23))
        event["eventTime"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        event["run"]["runId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        yield event


def _append_in_batches(log: SqliteLog, records: Iterable[NewRecord], batch: int) -> int:
    """Append records ``batch`` at a time; returns how many."""
    n, pending = 0, []
    for record in records:
        pending.append(record)
        if len(pending) == batch:
            log.append_all(pending)
            n, pending = n + len(pending), []
    log.append_all(pending)
    return n + len(pending)


def write_mesh(log_path: Path, *, products: int, jobs: int, seed: int = 42,
               batch: int = 1000) -> dict[str, int]:
    """Append catalog, products and lineage events to a fresh log; returns counts."""
    if products > jobs // (WIDTH * LAYERS) * 16 + 16:
        raise SystemExit(f"{products} products need at least {products // 16 * 400} jobs")
    rng = random.Random(seed)
    log = SqliteLog(log_path)
    validator = EventValidator()
    counts = {"products": 0, "events": 0}
    try:
        cat = catalog().model_dump(mode="json", exclude_none=True)
        log.append_all([NewRecord(CATALOG_REGISTERED, "catalog", {"catalog": cat})])
        def registrations() -> Iterator[NewRecord]:
            for p in range(products):
                d = product(p, products, rng).model_dump(mode="json", exclude_none=True)
                yield NewRecord(PRODUCT_REGISTERED, d["id"], {"descriptor": d})

        counts["products"] = _append_in_batches(log, registrations(), batch)
        events = lineage_events(jobs, products, rng)
        counts["events"] = _append_in_batches(
            log, (to_record(validator.validate(e)) for e in events), batch)
    finally:
        log.close()
    return counts
