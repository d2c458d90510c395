"""Registration benchmark: validate and write one product of 200 data elements into a store
that already holds N generated products (default 10,000). Prints p50/p95 latency and the
store size. Not a test: run it by hand (`python bench/registration.py`).

Set-up writes the generated products through the log and the projector (the normal write
path minus validation, which the measured registrations do go through) to keep set-up short.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import percentile

from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.log.sqlite_log import NewRecord
from dpgraph.runtime import open_runtime
from dpgraph.services.projector import PRODUCT_REGISTERED
from dpgraph.settings import Settings

TERMS = 400


def catalog() -> CatalogDescriptor:
    return CatalogDescriptor.model_validate({
        "domains": [{"id": "bench", "name": "Benchmark domain"}],
        "owners": [{"id": "bench-team", "name": "Bench team", "domain": "bench",
                    "email": "bench@example.org"}],
        "applications": [{"id": "bench-app", "name": "Bench app", "domain": "bench"}],
        "glossary": [{"id": f"term-{i}", "label": f"Term {i}", "definition": f"Term {i}."}
                     for i in range(TERMS)],
    })


def product(pid: str, elements: int, version: str = "1.0.0") -> ProductDescriptor:
    names = [f"element_{i}" for i in range(elements)]
    reps = [{
        "id": rep, "kind": "table", "location": f"s3://bench/{pid}/{rep}", "format": "parquet",
        "storageLayer": "gold", "historization": "snapshot",
        "attributes": [{"name": f"COL_{n.upper()}", "type": "string", "element": n}
                       for n in names],
    } for rep in ("gold-parquet", "gold-delta")]
    return ProductDescriptor.model_validate({
        "id": pid, "name": f"Product {pid}", "version": version,
        "description": f"Generated benchmark product {pid} with {elements} elements.",
        "domain": "bench", "owner": "bench-team", "sourceApplication": "bench-app",
        "elements": [{"name": n, "businessTerm": f"term-{i % TERMS}",
                      "classification": "internal", "dataType": "string"}
                     for i, n in enumerate(names)],
        "representations": reps,
        "outputPorts": [{"id": "sql", "kind": "sql", "visibility": "public",
                         "representation": "gold-parquet"}],
        "contract": {"version": "1.0.0", "refreshCycle": "P1D", "termsOfUse": "internal"},
        "qualityRules": [{"id": "complete", "element": names[0], "metric": "completeness",
                          "threshold": 0.99}],
    })




def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--elements", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dpgraph-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        rt = open_runtime(settings)
        rt.registry.register_catalog(catalog())
        started = time.perf_counter()
        batch = 500
        for first in range(0, args.products, batch):
            rt.log.append([NewRecord(PRODUCT_REGISTERED, f"p{i}", {"descriptor": product(
                f"p{i}", 10).model_dump(mode="json", exclude_none=True)})
                for i in range(first, min(first + batch, args.products))])
        rt.close()
        rt = open_runtime(settings)  # start-up projects what the log holds ahead of the graph
        setup = time.perf_counter() - started
        quads = sum(1 for _ in rt.store.quads())
        print(f"set-up: {args.products} products ({quads} quads) in {setup:.1f} s")

        validate_only = []
        for run in range(args.runs):
            d = product(f"bench-dry-{run}", args.elements)
            t0 = time.perf_counter()
            assert rt.registry.register_product(d, dry_run=True).accepted
            validate_only.append((time.perf_counter() - t0) * 1000)
        print(f"validate only (dry run), {args.runs} runs: "
              f"p50 {statistics.median(validate_only):.1f} ms, "
              f"p95 {percentile(validate_only, 95):.1f} ms")

        latencies, visible = [], []
        for run in range(args.runs):
            d = product(f"bench-large-{run}", args.elements)
            rt.sync()  # registrations arrive one at a time, not queued behind each other
            t0 = time.perf_counter()
            outcome = rt.registry.register_product(d)
            latencies.append((time.perf_counter() - t0) * 1000)
            rt.sync()
            visible.append((time.perf_counter() - t0) * 1000)
            assert outcome.accepted and outcome.offset is not None, outcome.report.violations
        rt.sync()
        reregister = []
        for run in range(args.runs):
            d = product("bench-large-0", args.elements, version=f"2.{run}.0")
            rt.sync()
            t0 = time.perf_counter()
            assert rt.registry.register_product(d).accepted
            reregister.append((time.perf_counter() - t0) * 1000)
        rt.close()
        print(f"re-register it with a new version, {args.runs} runs: "
              f"p50 {statistics.median(reregister):.1f} ms, "
              f"p95 {percentile(reregister, 95):.1f} ms")
        print(f"register 1 product of {args.elements} elements, {args.runs} runs: "
              f"acknowledged (validated, logged durably) p50 "
              f"{statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
              f"max {max(latencies):.1f} ms; visible in the graph p50 "
              f"{statistics.median(visible):.1f} ms, p95 {percentile(visible, 95):.1f} ms")
        print(f"store size: graph {size_of(Path(tmp) / 'graph') / 1e6:.1f} MB, "
              f"log {size_of(Path(tmp)) / 1e6 - size_of(Path(tmp) / 'graph') / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
